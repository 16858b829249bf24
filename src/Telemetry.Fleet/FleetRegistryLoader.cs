using System.Globalization;
using System.Text.Json;

namespace Telemetry.Fleet;

/// <summary>Reads a registry file, validates it and builds the <see cref="FleetRegistry"/>.</summary>
public static class FleetRegistryLoader
{
    public const string DefaultRegistryName = "embedded:jiyang";
    private const string ResourceName = "Telemetry.Fleet.Registry.jiyang.json";

    /// <summary>The shipped Jiyang registry.</summary>
    public static FleetRegistry LoadDefault()
    {
        using var stream = typeof(FleetRegistryLoader).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded registry {ResourceName} is missing from the build.");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd(), DefaultRegistryName);
    }

    /// <summary>The registry at <paramref name="path"/>, or the shipped one when the path is empty.</summary>
    public static FleetRegistry Load(string? path)
    {
        if (string.IsNullOrWhiteSpace(path) || path == DefaultRegistryName)
        {
            return LoadDefault();
        }
        if (!File.Exists(path))
        {
            throw new RegistryException(path, [$"file not found (Fleet:Registry = '{path}')"]);
        }
        // Streamed from the file: deserializing from one string would transcode it into a pooled buffer three times
        // its length (64 MiB for the benchmark's 10,000-bin registry), which then stays in the array pool for good.
        using var file = File.OpenRead(path);
        return Parse(() => JsonSerializer.Deserialize(file, RegistryJsonContext.Default.RegistryDocument), path);
    }

    /// <summary>Parses and validates registry JSON; throws <see cref="RegistryException"/> listing every fault.</summary>
    public static FleetRegistry Parse(string json, string source) =>
        Parse(() => JsonSerializer.Deserialize(json, RegistryJsonContext.Default.RegistryDocument), source);

    private static FleetRegistry Parse(Func<RegistryDocument?> deserialize, string source)
    {
        RegistryDocument? doc;
        try
        {
            doc = deserialize();
        }
        catch (JsonException ex)
        {
            var where = ex.Path is { Length: > 0 } p ? $" at {p}" : "";
            var line = ex.LineNumber is { } l ? $" (line {l + 1})" : "";
            throw new RegistryException(source, [$"not a valid registry document{where}{line}: {FirstSentence(ex.Message)}"]);
        }
        if (doc is null)
        {
            throw new RegistryException(source, ["the document is empty (null)"]);
        }

        var errors = FleetRegistryValidator.Validate(doc);
        if (errors.Count > 0)
        {
            throw new RegistryException(source, errors);
        }
        return Build(doc);
    }

    /// <summary>Writes a registry in the file format <see cref="Parse"/> reads.</summary>
    public static string Serialize(FleetRegistry registry)
    {
        var doc = new RegistryDocument(
            registry.District,
            registry.City,
            registry.TimeZone.Id,
            new BoundsDocument(registry.Bounds.South, registry.Bounds.North, registry.Bounds.West, registry.Bounds.East),
            [.. registry.Communities.Select(c => new CommunityDocument(c.Id, c.Name, c.Residents, c.NameZh))],
            [.. registry.Facilities.Select(f => new FacilityDocument(f.Id, f.Kind.Name(), f.Name, f.Location.Latitude, f.Location.Longitude, f.NameZh))],
            [.. registry.Bins.Select(b => new BinDocument(b.Id, b.Community, b.Location.Latitude, b.Location.Longitude, b.Address,
                [.. b.Compartments.Select(c => new CompartmentDocument(c.Id, c.Stream.Name(), c.Litres, c.MaxKg))], b.AddressZh))],
            [.. registry.Vehicles.Select(v => new VehicleDocument(v.Id, v.Stream.Name(), v.CapacityKg, v.Depot,
                v.ShiftStart.ToString("HH:mm", CultureInfo.InvariantCulture), v.ShiftEnd.ToString("HH:mm", CultureInfo.InvariantCulture)))],
            registry.DistrictZh, registry.CityZh);
        return JsonSerializer.Serialize(doc, RegistryJsonContext.Default.RegistryDocument);
    }

    private static string FirstSentence(string message)
    {
        var i = message.IndexOf(". ", StringComparison.Ordinal);
        return i > 0 ? message[..i] : message;
    }

    // Only called on a document the validator accepted, so the null-forgiving operators hold.
    private static FleetRegistry Build(RegistryDocument doc)
    {
        var communities = doc.Communities!.Select(c => new Community(c!.Id!, c.Name!, c.Residents ?? 0) { NameZh = c.NameZh }).ToList();
        var facilities = doc.Facilities!.Select(f =>
        {
            return new Facility(f!.Id!, FacilityKinds.Parse(f.Kind), f.Name ?? f.Id!, new GeoPoint(f.Lat!.Value, f.Lon!.Value)) { NameZh = f.NameZh };
        }).ToList();
        var bins = doc.Bins!.Select(b => new Bin(
            b!.Id!,
            b.Community!,
            new GeoPoint(b.Lat!.Value, b.Lon!.Value),
            b.Address ?? "",
            b.Compartments!.Select(c => new Compartment(c!.Id!, WasteStreams.Parse(c.Stream), c.Litres!.Value, c.MaxKg!.Value)).ToList())
            {
                AddressZh = b.AddressZh,
            })
            .ToList();
        var vehicles = (doc.Vehicles ?? []).Select(v => new Vehicle(v!.Id!, WasteStreams.Parse(v.Stream), v.CapacityKg!.Value, v.Depot!,
            FleetRegistryValidator.ParseShiftTime(v.ShiftStart)!.Value, FleetRegistryValidator.ParseShiftTime(v.ShiftEnd)!.Value)).ToList();
        var bounds = new GeoBounds(doc.Bounds!.South!.Value, doc.Bounds.North!.Value, doc.Bounds.West!.Value, doc.Bounds.East!.Value);
        return new FleetRegistry(doc.District!, doc.City ?? "", TimeZoneInfo.FindSystemTimeZoneById(doc.TimeZone!), bounds,
            communities, facilities, bins, vehicles)
        {
            DistrictZh = doc.DistrictZh,
            CityZh = doc.CityZh,
        };
    }
}
