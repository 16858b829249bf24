using Telemetry.Fleet;
using Telemetry.Routing.Planning;

namespace Telemetry.Routing.Driving;

/// <summary>Where a truck is on its route: before it leaves, waiting or serving at a stop, driving a leg, or back for the day.</summary>
public enum DriveState
{
    BeforeStart,
    AtStop,
    Driving,
    Finished,
}

/// <summary>
/// A truck's position at a moment: its location, its speed in km/h (0 when not driving), what it is doing, and the index in
/// <see cref="PlannedRoute.Stops"/> of the stop it is at or driving to (the last stop once finished).
/// </summary>
public readonly record struct DrivePosition(GeoPoint Location, double SpeedKmh, DriveState State, int StopIndex);

/// <summary>A stop the truck has reached: its index in the route and the stop (the caller empties a bin stop's compartments at its ETA).</summary>
public readonly record struct StopArrival(int Index, PlannedStop Stop);

/// <summary>
/// A truck driving a <see cref="PlannedRoute"/> on a clock it is given (pure: no clock of its own, so a simulation steps it in
/// lockstep): <see cref="PositionAt"/> says where the truck is at any time, interpolated between stops along the leg it drives
/// (linearly in latitude and longitude, fine over a district); <see cref="TakeArrivals"/> hands out each stop once, when the
/// time passes its ETA. A leg's length is its share of the route's <see cref="PlannedRoute.DistanceKm"/> by great-circle length
/// (so the speed matches the travel-cost provider that planned the route, whatever its road factor), its time from its
/// departure to the next ETA.
/// </summary>
public sealed class RouteDrive
{
    private readonly double[] _legKm;
    private int _next;

    /// <summary>
    /// Starts driving <paramref name="route"/>. Stops whose ETA is at or before <paramref name="servedUntil"/> count as reached
    /// already (a re-planned route that starts with the stops served before), so <see cref="TakeArrivals"/> does not hand
    /// them out again.
    /// </summary>
    public RouteDrive(PlannedRoute route, DateTimeOffset? servedUntil = null)
    {
        ArgumentNullException.ThrowIfNull(route);
        if (route.Stops.Count == 0)
        {
            throw new ArgumentException($"route of {route.Vehicle} has no stops", nameof(route));
        }
        for (var i = 1; i < route.Stops.Count; i++)
        {
            if (route.Stops[i].Eta < route.Stops[i - 1].Departs || route.Stops[i].Departs < route.Stops[i].Eta)
            {
                throw new ArgumentException($"route of {route.Vehicle}: stop {i} ({route.Stops[i].Place}) is not in time order", nameof(route));
            }
        }
        Route = route;
        _legKm = new double[route.Stops.Count];
        var total = 0.0;
        for (var i = 1; i < route.Stops.Count; i++)
        {
            _legKm[i] = GreatCircleKm(route.Stops[i - 1].Location, route.Stops[i].Location);
            total += _legKm[i];
        }
        var scale = total > 0 && route.DistanceKm > 0 ? route.DistanceKm / total : 1;
        for (var i = 1; i < _legKm.Length; i++)
        {
            _legKm[i] *= scale;
        }
        if (servedUntil is { } served)
        {
            while (_next < route.Stops.Count && route.Stops[_next].Eta <= served)
            {
                _next++;
            }
        }
    }

    public PlannedRoute Route { get; }

    /// <summary>Every stop has been handed out by <see cref="TakeArrivals"/>.</summary>
    public bool Finished => _next >= Route.Stops.Count;

    /// <summary>Stops handed out so far (reached and taken).</summary>
    public int Reached => _next;

    /// <summary>Kilometres of the leg that ends at stop <paramref name="index"/> (0 for the first stop).</summary>
    public double LegKm(int index) => _legKm[index];

    /// <summary>Where the truck is at <paramref name="at"/>.</summary>
    public DrivePosition PositionAt(DateTimeOffset at)
    {
        var stops = Route.Stops;
        if (at < stops[0].Departs)
        {
            return new DrivePosition(stops[0].Location, 0, at < stops[0].Eta ? DriveState.BeforeStart : DriveState.AtStop, 0);
        }
        // The first stop whose departure is after the time: the truck is driving to it or standing at it.
        int lo = 1, hi = stops.Count - 1, found = stops.Count;
        while (lo <= hi)
        {
            var mid = (lo + hi) / 2;
            if (stops[mid].Departs > at)
            {
                found = mid;
                hi = mid - 1;
            }
            else
            {
                lo = mid + 1;
            }
        }
        if (found == stops.Count)
        {
            var last = stops.Count - 1;
            return new DrivePosition(stops[last].Location, 0, at >= stops[last].Eta ? DriveState.Finished : DriveState.AtStop, last);
        }
        var to = stops[found];
        if (at >= to.Eta)
        {
            return new DrivePosition(to.Location, 0, DriveState.AtStop, found);
        }
        var from = stops[found - 1];
        var leg = to.Eta - from.Departs;
        var share = leg > TimeSpan.Zero ? (at - from.Departs) / leg : 1;
        var location = new GeoPoint(
            from.Location.Latitude + ((to.Location.Latitude - from.Location.Latitude) * share),
            from.Location.Longitude + ((to.Location.Longitude - from.Location.Longitude) * share));
        var speed = leg > TimeSpan.Zero ? _legKm[found] / leg.TotalHours : 0;
        return new DrivePosition(location, speed, DriveState.Driving, found);
    }

    /// <summary>The stops reached at or before <paramref name="until"/> and not handed out before, in route order.</summary>
    public IReadOnlyList<StopArrival> TakeArrivals(DateTimeOffset until)
    {
        List<StopArrival>? taken = null;
        while (_next < Route.Stops.Count && Route.Stops[_next].Eta <= until)
        {
            (taken ??= []).Add(new StopArrival(_next, Route.Stops[_next]));
            _next++;
        }
        return taken ?? (IReadOnlyList<StopArrival>)[];
    }

    /// <summary>The ETA of the next stop not handed out yet; null when finished.</summary>
    public DateTimeOffset? NextArrivalAt => _next < Route.Stops.Count ? Route.Stops[_next].Eta : null;

    private static double GreatCircleKm(GeoPoint a, GeoPoint b)
    {
        const double EarthRadiusKm = 6371.0088;
        var lat1 = a.Latitude * Math.PI / 180;
        var lat2 = b.Latitude * Math.PI / 180;
        var dLat = lat2 - lat1;
        var dLon = (b.Longitude - a.Longitude) * Math.PI / 180;
        var h = (Math.Sin(dLat / 2) * Math.Sin(dLat / 2)) + (Math.Cos(lat1) * Math.Cos(lat2) * Math.Sin(dLon / 2) * Math.Sin(dLon / 2));
        return 2 * EarthRadiusKm * Math.Asin(Math.Min(1, Math.Sqrt(h)));
    }
}
