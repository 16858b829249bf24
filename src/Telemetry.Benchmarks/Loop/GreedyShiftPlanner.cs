using Telemetry.Fleet;
using Telemetry.Routing.Planning;

namespace Telemetry.Benchmarks.Loop;

/// <summary>
/// A nearest-neighbour planner (deterministic, instant): each vehicle in turn takes the nearest job that still fits its shift,
/// urgent ones first, unloading at the stream's facility when the next load would not fit. Great-circle distance times a road
/// factor at a set speed.
/// </summary>
internal sealed class GreedyShiftPlanner(FleetRegistry registry, double roadFactor = 1.3, double speedKmh = 30) : IShiftPlanner
{
    private static readonly TimeSpan Service = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan Unload = TimeSpan.FromMinutes(15);

    public Task<ShiftPlan> PlanAsync(ShiftPlanRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var facility = registry.Facilities.First(f => f.Kind == request.Stream.Destination());
        var left = request.Jobs.ToList();
        var routes = new List<PlannedRoute>();
        foreach (var vehicle in request.Vehicles.OrderByDescending(v => v.CapacityKg).ThenBy(v => v.Id, StringComparer.Ordinal))
        {
            if (left.Count == 0)
            {
                break;
            }
            var depot = registry.Facilities.First(f => f.Id == vehicle.Depot).Location;
            var t = request.ShiftStart;
            var at = depot;
            var load = 0.0;
            var km = 0.0;
            var trips = 0;
            var stops = new List<PlannedStop> { new(StopKind.Depot, vehicle.Depot, depot, t, t, 0) };
            while (true)
            {
                var candidates = left.Any(j => j.Urgent) ? left.Where(j => j.Urgent) : left;
                RouteJob? best = null;
                var bestKm = double.MaxValue;
                foreach (var j in candidates)
                {
                    var d = Km(at, registry.FindBin(j.Bin)!.Location);
                    if (d < bestKm)
                    {
                        (best, bestKm) = (j, d);
                    }
                }
                if (best is null)
                {
                    break;
                }
                var bin = registry.FindBin(best.Bin)!.Location;
                var unloadFirst = load + best.Kg > vehicle.CapacityKg && load > 0;
                var via = unloadFirst ? Km(at, facility.Location) + Km(facility.Location, bin) : bestKm;
                var arrive = t + Drive(via) + (unloadFirst ? Unload : TimeSpan.Zero);
                var home = Km(bin, facility.Location) + Km(facility.Location, depot);
                if (arrive + Service + Unload + Drive(home) > request.ShiftEnd || best.Kg > vehicle.CapacityKg)
                {
                    break; // this vehicle's shift is full: the next vehicle takes on from here
                }
                if (unloadFirst)
                {
                    var reach = t + Drive(Km(at, facility.Location));
                    km += Km(at, facility.Location);
                    stops.Add(new PlannedStop(StopKind.Facility, facility.Id, facility.Location, reach, reach + Unload, 0, Kg: -load));
                    trips++;
                    load = 0;
                    t = reach + Unload;
                    at = facility.Location;
                    arrive = t + Drive(Km(at, bin));
                }
                km += Km(at, bin);
                load += best.Kg;
                stops.Add(new PlannedStop(StopKind.Bin, best.Bin, bin, arrive, arrive + Service, load, best.JobId, best.Compartments, best.Kg));
                t = arrive + Service;
                at = bin;
                left.Remove(best);
            }
            if (stops.Count == 1)
            {
                continue;
            }
            var toFacility = Km(at, facility.Location);
            var reached = t + Drive(toFacility);
            stops.Add(new PlannedStop(StopKind.Facility, facility.Id, facility.Location, reached, reached + Unload, 0, Kg: -load));
            trips++;
            var back = Km(facility.Location, depot);
            var end = reached + Unload + Drive(back);
            stops.Add(new PlannedStop(StopKind.Depot, vehicle.Depot, depot, end, end, 0));
            km += toFacility + back;
            routes.Add(new PlannedRoute(vehicle.Id, stops, km, trips));
        }
        var unserved = left.Select(j => new UnservedJob(j.JobId, j.Bin, "no room in the shift")).ToList();
        return Task.FromResult(new ShiftPlan(request.Stream, request.ShiftStart, request.ShiftEnd, routes, unserved, "greedy", TimeSpan.Zero));
    }

    private TimeSpan Drive(double km) => TimeSpan.FromHours(km / speedKmh);

    private double Km(GeoPoint a, GeoPoint b)
    {
        var lat1 = a.Latitude * Math.PI / 180;
        var lat2 = b.Latitude * Math.PI / 180;
        var dLat = lat2 - lat1;
        var dLon = (b.Longitude - a.Longitude) * Math.PI / 180;
        var h = (Math.Sin(dLat / 2) * Math.Sin(dLat / 2)) + (Math.Cos(lat1) * Math.Cos(lat2) * Math.Sin(dLon / 2) * Math.Sin(dLon / 2));
        return 2 * 6371.0088 * Math.Asin(Math.Min(1, Math.Sqrt(h))) * roadFactor;
    }
}
