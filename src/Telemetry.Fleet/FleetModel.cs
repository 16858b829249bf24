namespace Telemetry.Fleet;

/// <summary>A point on the map, WGS 84 degrees.</summary>
public readonly record struct GeoPoint(double Latitude, double Longitude);

/// <summary>The rectangle a registry declares for its district; nothing in the registry may lie outside it.</summary>
public sealed record GeoBounds(double South, double North, double West, double East)
{
    public bool Contains(GeoPoint p) =>
        p.Latitude >= South && p.Latitude <= North && p.Longitude >= West && p.Longitude <= East;
}

/// <summary>A residential community; bins belong to one. <see cref="NameZh"/>: its Chinese name, when the registry gives one.</summary>
public sealed record Community(string Id, string Name, int Residents)
{
    public string? NameZh { get; init; }
}

/// <summary>A facility: the depot, or where a stream is unloaded.</summary>
public sealed record Facility(string Id, FacilityKind Kind, string Name, GeoPoint Location)
{
    /// <summary>Its Chinese name, when the registry gives one.</summary>
    public string? NameZh { get; init; }
}

/// <summary>One compartment of a bin (FIWARE: a WasteContainer); its id is its material.</summary>
public sealed record Compartment(string Id, WasteStream Stream, double Litres, double MaxKg)
{
    public string Material => Id;
}

/// <summary>A sorting kiosk (FIWARE: a WasteContainerIsle) with its compartments.</summary>
public sealed record Bin(string Id, string Community, GeoPoint Location, string Address, IReadOnlyList<Compartment> Compartments)
{
    private readonly Dictionary<string, Compartment> _byId = Compartments.ToDictionary(c => c.Id, StringComparer.Ordinal);

    /// <summary>Its address in Chinese, when the registry gives one.</summary>
    public string? AddressZh { get; init; }

    public Compartment? FindCompartment(string id) => _byId.GetValueOrDefault(id);
}

/// <summary>A truck serving one stream, with its capacity and daily shift in local time.</summary>
public sealed record Vehicle(string Id, WasteStream Stream, double CapacityKg, string Depot, TimeOnly ShiftStart, TimeOnly ShiftEnd);
