namespace Telemetry.Fleet;

/// <summary>
/// The fleet of one district: communities, bins, facilities and vehicles, validated.
/// Build one with <see cref="FleetRegistryLoader"/>.
/// </summary>
public sealed class FleetRegistry
{
    private readonly Dictionary<string, Bin> _bins;
    private readonly Dictionary<string, Community> _communities;
    private readonly Dictionary<string, Vehicle> _vehicles;

    public FleetRegistry(
        string district,
        string city,
        TimeZoneInfo timeZone,
        GeoBounds bounds,
        IReadOnlyList<Community> communities,
        IReadOnlyList<Facility> facilities,
        IReadOnlyList<Bin> bins,
        IReadOnlyList<Vehicle> vehicles)
    {
        District = district;
        City = city;
        TimeZone = timeZone;
        Bounds = bounds;
        Communities = communities;
        Facilities = facilities;
        Bins = bins;
        Vehicles = vehicles;
        _bins = bins.ToDictionary(b => b.Id, StringComparer.Ordinal);
        _communities = communities.ToDictionary(c => c.Id, StringComparer.Ordinal);
        _vehicles = vehicles.ToDictionary(v => v.Id, StringComparer.Ordinal);
    }

    public string District { get; }
    public string City { get; }

    /// <summary>The district's and the city's Chinese names, when the registry gives them.</summary>
    public string? DistrictZh { get; init; }
    public string? CityZh { get; init; }
    public TimeZoneInfo TimeZone { get; }
    public GeoBounds Bounds { get; }
    public IReadOnlyList<Community> Communities { get; }
    public IReadOnlyList<Facility> Facilities { get; }
    public IReadOnlyList<Bin> Bins { get; }
    public IReadOnlyList<Vehicle> Vehicles { get; }

    public Bin? FindBin(string id) => _bins.GetValueOrDefault(id);

    public Vehicle? FindVehicle(string id) => _vehicles.GetValueOrDefault(id);

    public Community? FindCommunity(string id) => _communities.GetValueOrDefault(id);

    public Facility Facility(FacilityKind kind) => Facilities.First(f => f.Kind == kind);

    /// <summary>Every (bin, compartment) pair, in registry order.</summary>
    public IEnumerable<(Bin Bin, Compartment Compartment)> AllCompartments() =>
        Bins.SelectMany(b => b.Compartments.Select(c => (b, c)));
}
