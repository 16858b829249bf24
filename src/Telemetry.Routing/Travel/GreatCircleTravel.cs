using System.Globalization;
using Telemetry.Fleet;

namespace Telemetry.Routing.Travel;

/// <summary>
/// Travel without a road network: the great-circle (haversine) distance times a road factor, driven at a constant speed.
/// Symmetric, and never fails.
/// </summary>
public sealed class GreatCircleTravel : ITravelCostProvider
{
    /// <summary>The mean Earth radius (IUGG), metres.</summary>
    public const double EarthRadiusMetres = 6_371_008.8;

    private readonly double _metresPerSecond;

    public GreatCircleTravel(double roadFactor = 1.3, double speedKmh = 30)
    {
        if (!(double.IsFinite(roadFactor) && roadFactor >= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(roadFactor), roadFactor, "the road factor must be 1 or more");
        }
        if (!(double.IsFinite(speedKmh) && speedKmh > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(speedKmh), speedKmh, "the speed must be above 0 km/h");
        }
        RoadFactor = roadFactor;
        SpeedKmh = speedKmh;
        _metresPerSecond = speedKmh / 3.6;
    }

    /// <summary>From the <c>Routing:Travel</c> settings.</summary>
    public GreatCircleTravel(TravelOptions options)
        : this((options ?? throw new ArgumentNullException(nameof(options))).RoadFactor, options.SpeedKmh)
    {
    }

    public double RoadFactor { get; }

    public double SpeedKmh { get; }

    public string Describe() => string.Create(CultureInfo.InvariantCulture, $"great-circle x {RoadFactor} at {SpeedKmh} km/h");

    /// <summary>The road distance between two points, metres: the great-circle distance times the road factor.</summary>
    public double Metres(GeoPoint from, GeoPoint to) => Haversine(from, to) * RoadFactor;

    /// <summary>The time to drive between two points, seconds.</summary>
    public double Seconds(GeoPoint from, GeoPoint to) => Metres(from, to) / _metresPerSecond;

    public Task<TravelMatrix> MatrixAsync(IReadOnlyList<GeoPoint> points, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(points);
        var n = points.Count;
        var metres = new double[n, n];
        var seconds = new double[n, n];
        for (var i = 0; i < n; i++)
        {
            for (var j = i + 1; j < n; j++)
            {
                var m = Metres(points[i], points[j]);
                metres[i, j] = metres[j, i] = m;
                seconds[i, j] = seconds[j, i] = m / _metresPerSecond;
            }
        }
        return Task.FromResult(new TravelMatrix(points, metres, seconds));
    }

    /// <summary>The great-circle distance between two points on a sphere of the mean Earth radius, metres.</summary>
    public static double Haversine(GeoPoint from, GeoPoint to)
    {
        const double toRadians = Math.PI / 180;
        var lat1 = from.Latitude * toRadians;
        var lat2 = to.Latitude * toRadians;
        var dLat = lat2 - lat1;
        var dLon = (to.Longitude - from.Longitude) * toRadians;
        var h = Math.Sin(dLat / 2) * Math.Sin(dLat / 2) + Math.Cos(lat1) * Math.Cos(lat2) * Math.Sin(dLon / 2) * Math.Sin(dLon / 2);
        return 2 * EarthRadiusMetres * Math.Asin(Math.Min(1, Math.Sqrt(h)));
    }
}
