using Telemetry.Fleet;

namespace Telemetry.Routing.Travel;

/// <summary>
/// Travel between every pair of <see cref="Points"/>: <c>Metres[i, j]</c> and <c>Seconds[i, j]</c> from point i to point j
/// (0 on the diagonal; not necessarily symmetric).
/// </summary>
public sealed record TravelMatrix(IReadOnlyList<GeoPoint> Points, double[,] Metres, double[,] Seconds);

/// <summary>Where travel distances and times come from: great-circle distance by default, an OSRM <c>table</c> service when configured.</summary>
public interface ITravelCostProvider
{
    /// <summary>For logs and readiness: what it is.</summary>
    string Describe();

    /// <summary>The matrix between <paramref name="points"/>; throws a <see cref="TravelCostException"/> naming the cause when it cannot.</summary>
    Task<TravelMatrix> MatrixAsync(IReadOnlyList<GeoPoint> points, CancellationToken cancellationToken);
}

/// <summary>Travel costs could not be had (the OSRM service refused, answered an error, or is away).</summary>
public sealed class TravelCostException(string message, Exception? inner = null) : Exception(message, inner);
