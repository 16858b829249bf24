using Telemetry.Fleet;

namespace Telemetry.Api.Endpoints;

/// <summary>A point as the registry gives it (WGS 84) and where the dashboard's map draws it (its tiles' datum).</summary>
public sealed record MapPoint(double Latitude, double Longitude);

/// <summary>The project clock when the answer was made, and how fast it runs (the demo's speed; 1 in production).</summary>
public sealed record FleetClock(DateTimeOffset Now, double Rate);

public sealed record FleetBounds(double South, double North, double West, double East);

public sealed record FleetMap(string? TileUrl, string TileDatum, string? Attribution, int MaxZoom, string Subdomains);

public sealed record FleetThresholds(double CollectionPct, double OverflowPct, double LowBatteryPct, double LowerPct);

public sealed record FleetCommunity(string Id, string Name, string? NameZh, int Residents);

public sealed record FleetFacility(string Id, string Kind, string Name, string? NameZh, double Latitude, double Longitude, MapPoint Map);

public sealed record FleetCompartment(string Id, string Stream, double Litres, double MaxKg);

public sealed record FleetBin(string Id, string Community, string Address, string? AddressZh, double Latitude, double Longitude, MapPoint Map, IReadOnlyList<FleetCompartment> Compartments);

/// <summary>
/// <c>GET /api/fleet</c>: what the dashboard draws that does not change while it runs: the registry (names in both
/// languages, positions, compartments), its time zone, the map's settings and the fill levels it colours by.
/// </summary>
public sealed record FleetInfo(
    string District, string? DistrictZh, string City, string? CityZh, string TimeZone, FleetClock Clock, FleetBounds Bounds, FleetMap Map, FleetThresholds Thresholds,
    IReadOnlyList<FleetCommunity> Communities, IReadOnlyList<FleetFacility> Facilities, IReadOnlyList<FleetBin> Bins)
{
    public static FleetInfo Of(FleetRegistry registry, MapOptions map, DisplayThresholds thresholds, FleetClock clock)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(thresholds);
        var datum = MapDatums.TryParse(map.TileDatum, out var d) ? d : MapDatum.Wgs84;
        MapPoint Draw(GeoPoint p)
        {
            var at = datum.ToMap(p);
            return new MapPoint(Math.Round(at.Latitude, 7), Math.Round(at.Longitude, 7));
        }
        return new FleetInfo(
            registry.District, registry.DistrictZh, registry.City, registry.CityZh, Analytics.Diversion.TimeZoneName(registry.TimeZone), clock,
            new FleetBounds(registry.Bounds.South, registry.Bounds.North, registry.Bounds.West, registry.Bounds.East),
            new FleetMap(string.IsNullOrWhiteSpace(map.TileUrl) ? null : map.TileUrl, datum.Name(), map.TileAttribution, map.MaxZoom, map.TileSubdomains),
            new FleetThresholds(thresholds.CollectionPct, thresholds.OverflowPct, thresholds.LowBatteryPct, thresholds.LowerPct),
            [.. registry.Communities.Select(c => new FleetCommunity(c.Id, c.Name, c.NameZh, c.Residents))],
            [.. registry.Facilities.Select(f => new FleetFacility(f.Id, f.Kind.Name(), f.Name, f.NameZh, f.Location.Latitude, f.Location.Longitude, Draw(f.Location)))],
            [.. registry.Bins.Select(b => new FleetBin(b.Id, b.Community, b.Address, b.AddressZh, b.Location.Latitude, b.Location.Longitude, Draw(b.Location),
                [.. b.Compartments.Select(c => new FleetCompartment(c.Id, c.Stream.Name(), c.Litres, c.MaxKg))]))]);
    }
}
