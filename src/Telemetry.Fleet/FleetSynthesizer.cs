using System.Globalization;

namespace Telemetry.Fleet;

/// <summary>
/// Grows a registry to N bins for load tests: the registry's own bins first, then copies of them
/// (same community and compartments, a few hundred metres away) named on from the last id
/// (<c>JY-056</c>, …, <c>JY-10000</c>). Deterministic, so a simulator and an ingestion given the
/// same N agree on every bin.
/// </summary>
public static class FleetSynthesizer
{
    public static FleetRegistry Resize(FleetRegistry registry, int binCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(binCount, 1);
        if (binCount == registry.Bins.Count)
        {
            return registry;
        }
        var bins = new List<Bin>(binCount);
        bins.AddRange(registry.Bins.Take(binCount));
        var prefix = CommonPrefix(registry.Bins);
        var random = new Random(binCount);
        for (var i = registry.Bins.Count + 1; i <= binCount; i++)
        {
            var template = registry.Bins[(i - 1) % registry.Bins.Count];
            var location = Clamp(registry.Bounds, new GeoPoint(
                template.Location.Latitude + ((random.NextDouble() - 0.5) * 0.006),
                template.Location.Longitude + ((random.NextDouble() - 0.5) * 0.006)));
            bins.Add(template with
            {
                Id = prefix + i.ToString("D3", CultureInfo.InvariantCulture),
                Location = location,
                Address = $"{template.Address} (synthetic {i})",
            });
        }
        return new FleetRegistry(registry.District, registry.City, registry.TimeZone, registry.Bounds,
            registry.Communities, registry.Facilities, bins, registry.Vehicles);
    }

    private static string CommonPrefix(IReadOnlyList<Bin> bins)
    {
        var first = bins[0].Id;
        var dash = first.LastIndexOf('-');
        return dash >= 0 ? first[..(dash + 1)] : "SIM-";
    }

    private static GeoPoint Clamp(GeoBounds b, GeoPoint p) => new(
        Math.Clamp(p.Latitude, b.South, b.North),
        Math.Clamp(p.Longitude, b.West, b.East));
}
