using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Telemetry.Api.State;
using Telemetry.Contracts.Messages;
using Telemetry.Fleet;
using static Telemetry.Api.Endpoints.QueryParameters;

namespace Telemetry.Api.Endpoints;

/// <summary><c>GET /api/routes</c> (CONTRACT §6): the current route plans and the trucks' latest positions, from memory.</summary>
internal static class RoutesEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/routes", (string? stream, string? vehicle, RouteBoard routes, VehicleBoard vehicles, FleetRegistry registry, IOptions<ApiOptions> options) =>
            {
                // Plans and notices read together: a plan that replaces a notice is never missing from both.
                var (plans, waiting) = routes.Snapshot();
                return Results.Json(Answer(stream, vehicle, plans, vehicles.Current(), registry, options.Value.Map, waiting), ApiJson.Options);
            })
            .RequireAuthorization(ApiEndpoints.ReadPolicy).Produces<RoutesResponse>().ProducesProblem(StatusCodes.Status400BadRequest)
            .WithSummary("Planned routes and the trucks' latest positions")
            .WithDescription("routes: per vehicle of each current plan (the running or next shift of a stream, else its last one), the stops in order " +
                "from the depot back to it (kind depot, bin or facility; name: the bin's address or the facility's name, nameZh in Chinese; eta and departs; " +
                "kg taken on, negative when unloaded at the facility; loadKg on board after the stop; the job and its compartments), distance in km and trips " +
                "to the facility. unserved: the jobs a plan left out, and why. waiting: the shifts that started without being driven, their jobs left for the " +
                "stream's following shift (how many, the hours at 100 % that leaves them by their predictions, and the limit Routing:WaitOverflowHours). vehicles: the newest position of each truck heard from. lat/lon are WGS 84; " +
                "map is where the dashboard's map draws the point (Api:Map:TileDatum). stream, vehicle: filters (400 for one the registry does not have).");
    }

    internal static RoutesResponse Answer(string? stream, string? vehicle, IReadOnlyList<RoutePlanned> plans, IReadOnlyList<VehiclePositionUpdate> positions, FleetRegistry registry, MapOptions map,
        IReadOnlyList<ShiftWaited>? waits = null)
    {
        if (stream is not null && !WasteStreams.TryParse(stream, out _))
        {
            throw new BadParameterException("stream", $"'{Shorten(stream)}' is not a stream; one of {string.Join(", ", WasteStreams.All.Select(s => s.Name()))}");
        }
        Vehicle? truck = null;
        if (vehicle is not null && (truck = registry.Vehicles.FirstOrDefault(v => string.Equals(v.Id, vehicle, StringComparison.Ordinal))) is null)
        {
            throw new BadParameterException("vehicle", $"no vehicle '{Shorten(vehicle)}' in the registry");
        }
        // A vehicle serves one stream: its plans and unserved jobs are that stream's.
        var wanted = truck?.Stream.Name() ?? stream;
        var datum = MapDatums.TryParse(map.TileDatum, out var d) ? d : MapDatum.Wgs84;
        var facilities = registry.Facilities.ToDictionary(f => f.Id, StringComparer.Ordinal);
        var streamOrder = WasteStreams.All.Select(s => s.Name()).ToList();
        var current = plans.Where(p => wanted is null || string.Equals(p.Stream, wanted, StringComparison.Ordinal))
            .OrderBy(p => streamOrder.IndexOf(p.Stream) is var i && i < 0 ? int.MaxValue : i).ThenBy(p => p.ShiftStart).ToList();

        var routes = new List<RouteView>();
        foreach (var plan in current)
        {
            foreach (var route in plan.Routes.Where(r => truck is null || string.Equals(r.Vehicle, truck.Id, StringComparison.Ordinal)).OrderBy(r => r.Vehicle, StringComparer.Ordinal))
            {
                routes.Add(new RouteView(plan.PlanId, plan.Revision, plan.Stream, route.Vehicle, plan.ShiftStart, plan.ShiftEnd, plan.PlannedAt,
                    route.DistanceKm, route.Trips, plan.SolverStatus,
                    [.. route.Stops.Select((s, i) => Stop(i, s, registry, facilities, datum))]));
            }
        }
        var unserved = current.SelectMany(p => p.Unserved.Select(u => new UnservedView(p.PlanId, p.Stream, u.JobId, u.Bin, u.Reason))).ToList();
        var trucks = new List<VehicleView>();
        foreach (var p in positions.OrderBy(p => p.VehicleId, StringComparer.Ordinal))
        {
            var known = registry.Vehicles.FirstOrDefault(v => string.Equals(v.Id, p.VehicleId, StringComparison.Ordinal));
            if (known is null || (wanted is not null && known.Stream.Name() != wanted) || (truck is not null && known.Id != truck.Id))
            {
                continue;
            }
            trucks.Add(new VehicleView(known.Id, known.Stream.Name(), p.Lat, p.Lon, Draw(datum, p.Lat, p.Lon), p.SpeedKmh, p.Time));
        }
        var waiting = (waits ?? []).Where(w => wanted is null || string.Equals(w.Stream, wanted, StringComparison.Ordinal))
            .OrderBy(w => streamOrder.IndexOf(w.Stream) is var i && i < 0 ? int.MaxValue : i).ThenBy(w => w.ShiftStart)
            .Select(w => new WaitingView(w.PlanId, w.Stream, w.ShiftStart, w.ShiftEnd, w.Jobs, w.OverflowHours, w.FollowingStart, w.WaitOverflowHours, w.DecidedAt)).ToList();
        return new RoutesResponse(routes, unserved, trucks, waiting);
    }

    private static RouteStopView Stop(int seq, RouteStopInfo s, FleetRegistry registry, Dictionary<string, Facility> facilities, MapDatum datum)
    {
        string? name = null;
        string? nameZh = null;
        if (s.Kind == "bin" && registry.FindBin(s.Place) is { } bin)
        {
            name = bin.Address;
            nameZh = bin.AddressZh;
        }
        else if (facilities.TryGetValue(s.Place, out var facility))
        {
            name = facility.Name;
            nameZh = facility.NameZh;
        }
        return new RouteStopView(seq, s.Kind, s.Place, name ?? s.Place, nameZh, s.Lat, s.Lon, Draw(datum, s.Lat, s.Lon), s.Eta, s.Departs, s.LoadKg, s.Kg, s.JobId, s.Compartments);
    }

    private static MapPoint Draw(MapDatum datum, double lat, double lon)
    {
        var at = datum.ToMap(new GeoPoint(lat, lon));
        return new MapPoint(Math.Round(at.Latitude, 7), Math.Round(at.Longitude, 7));
    }
}

/// <summary>One stop of a route: <c>seq</c> its place in the route from 0 (the depot it leaves).</summary>
public sealed record RouteStopView(
    int Seq, string Kind, string Place, string Name, string? NameZh, double Lat, double Lon, MapPoint Map, DateTimeOffset Eta, DateTimeOffset Departs,
    double LoadKg, double Kg, string? JobId, IReadOnlyList<string> Compartments);

/// <summary>One vehicle's route in a plan.</summary>
public sealed record RouteView(
    string PlanId, int Revision, string Stream, string Vehicle, DateTimeOffset ShiftStart, DateTimeOffset ShiftEnd, DateTimeOffset PlannedAt,
    double DistanceKm, int Trips, string SolverStatus, IReadOnlyList<RouteStopView> Stops);

/// <summary>A job a plan left out, and why.</summary>
public sealed record UnservedView(string PlanId, string Stream, string JobId, string Bin, string Reason);

/// <summary>A truck's newest position: where (WGS 84, and where the map draws it), its speed and when.</summary>
public sealed record VehicleView(string Id, string Stream, double Lat, double Lon, MapPoint Map, double SpeedKmh, DateTimeOffset Ts);

/// <summary>A shift that started without being driven: its jobs wait for the stream's following shift.</summary>
public sealed record WaitingView(
    string PlanId, string Stream, DateTimeOffset ShiftStart, DateTimeOffset ShiftEnd, int Jobs, double OverflowHours, DateTimeOffset FollowingStart,
    double WaitOverflowHours, DateTimeOffset DecidedAt);

/// <summary>The answer of <c>GET /api/routes</c>.</summary>
public sealed record RoutesResponse(IReadOnlyList<RouteView> Routes, IReadOnlyList<UnservedView> Unserved, IReadOnlyList<VehicleView> Vehicles, IReadOnlyList<WaitingView> Waiting);
