using System.Text.Json;
using System.Text.Json.Serialization;

namespace Telemetry.Fleet;

// The registry file as written, before validation: everything nullable so that a missing
// value becomes a validation error naming the entry, not a deserializer exception.

internal sealed record RegistryDocument(
    string? District,
    string? City,
    string? TimeZone,
    BoundsDocument? Bounds,
    List<CommunityDocument?>? Communities,
    List<FacilityDocument?>? Facilities,
    List<BinDocument?>? Bins,
    List<VehicleDocument?>? Vehicles,
    string? DistrictZh = null,
    string? CityZh = null);

internal sealed record BoundsDocument(double? South, double? North, double? West, double? East);

internal sealed record CommunityDocument(string? Id, string? Name, int? Residents, string? NameZh = null);

internal sealed record FacilityDocument(string? Id, string? Kind, string? Name, double? Lat, double? Lon, string? NameZh = null);

internal sealed record BinDocument(string? Id, string? Community, double? Lat, double? Lon, string? Address, List<CompartmentDocument?>? Compartments, string? AddressZh = null);

internal sealed record CompartmentDocument(string? Id, string? Stream, double? Litres, double? MaxKg);

internal sealed record VehicleDocument(string? Id, string? Stream, double? CapacityKg, string? Depot, string? ShiftStart, string? ShiftEnd);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    ReadCommentHandling = JsonCommentHandling.Skip,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RegistryDocument))]
internal sealed partial class RegistryJsonContext : JsonSerializerContext;
