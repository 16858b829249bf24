using Telemetry.Fleet;

namespace Telemetry.Routing.Planning;

/// <summary>
/// One collection job to route: a bin's compartments of one stream. <see cref="Kg"/>: the load the truck takes on there (the
/// compartments' latest net weight, or their maximum load when none is known). <see cref="Urgent"/> jobs must be visited; the
/// others may be dropped, at a penalty, when the shift cannot serve them all.
/// </summary>
public sealed record RouteJob(
    string JobId, string Bin, IReadOnlyList<string> Compartments, double Kg, bool Urgent, DateTimeOffset Deadline, DateTimeOffset RequestedAt);

/// <summary>What a stop is: the depot a vehicle starts and ends at, a bin it empties, or the stream's facility it unloads at.</summary>
public enum StopKind
{
    Depot,
    Bin,
    Facility,
}

/// <summary>
/// One stop of a route, in order: where (<see cref="Place"/> is a bin id or a facility id), when the vehicle arrives and leaves,
/// the job it serves there (bins only) with that job's compartments, the kg taken on (bins) or unloaded (facility, negative),
/// and the load on board after the stop.
/// </summary>
public sealed record PlannedStop(
    StopKind Kind, string Place, GeoPoint Location, DateTimeOffset Eta, DateTimeOffset Departs, double LoadKg,
    string? JobId = null, IReadOnlyList<string>? Compartments = null, double Kg = 0);

/// <summary>
/// One vehicle's route in a shift: its stops from the depot back to the depot (loads unloaded at the facility whenever the next
/// bin would overfill it, and before the way home), distance in km, and trips (loads taken to the facility).
/// </summary>
public sealed record PlannedRoute(string Vehicle, IReadOnlyList<PlannedStop> Stops, double DistanceKm, int Trips)
{
    public DateTimeOffset Start => Stops[0].Departs;

    public DateTimeOffset End => Stops[^1].Eta;
}

/// <summary>A job the plan does not serve, and why (no room in the shift, over every vehicle's capacity, too far ...).</summary>
public sealed record UnservedJob(string JobId, string Bin, string Reason);

/// <summary>
/// On a re-plan during a shift, where a vehicle is: its position at <see cref="At"/>, the load on board, and the stops it has
/// already served (kept as they were at the start of the new route).
/// </summary>
public sealed record VehicleProgress(GeoPoint Position, DateTimeOffset At, double LoadKg, IReadOnlyList<PlannedStop> Served, double DistanceKm, int Trips);

/// <summary>
/// What to plan: one stream's next vehicle shift with that stream's vehicles, the open jobs, and the solver's time limit.
/// <see cref="Progress"/>, on a re-plan during the shift, says per vehicle id where each one is; the plan then starts there.
/// </summary>
public sealed record ShiftPlanRequest(
    WasteStream Stream, DateTimeOffset ShiftStart, DateTimeOffset ShiftEnd, IReadOnlyList<Vehicle> Vehicles, IReadOnlyList<RouteJob> Jobs,
    TimeSpan SolverTime, IReadOnlyDictionary<string, VehicleProgress>? Progress = null);

/// <summary>
/// The plan of one stream's shift: a route per vehicle that leaves the depot (vehicles with nothing to do are left out), the
/// jobs not served with why, and how the solver ended (<c>optimal</c>, <c>time-limit</c> with the best plan found, ...).
/// </summary>
public sealed record ShiftPlan(
    WasteStream Stream, DateTimeOffset ShiftStart, DateTimeOffset ShiftEnd, IReadOnlyList<PlannedRoute> Routes, IReadOnlyList<UnservedJob> Unserved,
    string SolverStatus, TimeSpan SolveTime);

/// <summary>Plans one stream's shift (OR-Tools in production; the loop benchmark uses the same one).</summary>
public interface IShiftPlanner
{
    Task<ShiftPlan> PlanAsync(ShiftPlanRequest request, CancellationToken cancellationToken);
}
