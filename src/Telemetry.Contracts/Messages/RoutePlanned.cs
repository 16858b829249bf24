namespace Telemetry.Contracts.Messages;

/// <summary>
/// Published by the routing worker that plans a stream after the plan is stored: one stream's vehicle shift, a route per vehicle
/// that leaves the depot, and the jobs it could not serve with why. A later plan of the same stream and shift (a re-plan when an
/// urgent job arrived during the shift: higher <see cref="Revision"/>) replaces it whole. The scheduler marks the routed jobs
/// <c>planned</c>. Delivered at least once: a consumer deduplicates by <see cref="PlanId"/> and revision.
/// </summary>
public sealed record RoutePlanned(
    string PlanId, int Revision, string Stream, DateTimeOffset ShiftStart, DateTimeOffset ShiftEnd, DateTimeOffset PlannedAt,
    IReadOnlyList<RouteInfo> Routes, IReadOnlyList<UnservedJobInfo> Unserved, string SolverStatus);

/// <summary>One vehicle's route: stops in order from the depot back to it, distance in km, trips (loads taken to the facility).</summary>
public sealed record RouteInfo(string Vehicle, double DistanceKm, int Trips, IReadOnlyList<RouteStopInfo> Stops);

/// <summary>
/// One stop: <see cref="Kind"/> <c>depot</c>, <c>bin</c> or <c>facility</c>; <see cref="Place"/> the bin or facility id; the
/// job served (bins) with its compartments; <see cref="Eta"/> arrival and <see cref="Departs"/>; <see cref="Kg"/> taken on
/// (bins) or unloaded (facility, negative); <see cref="LoadKg"/> on board after the stop.
/// </summary>
public sealed record RouteStopInfo(
    string Kind, string Place, double Lat, double Lon, DateTimeOffset Eta, DateTimeOffset Departs, double LoadKg, double Kg,
    string? JobId, IReadOnlyList<string> Compartments);

/// <summary>A job a plan leaves out, and why.</summary>
public sealed record UnservedJobInfo(string JobId, string Bin, string Reason);

/// <summary>
/// Published by the routing worker when a stream's vehicle shift started without being driven: its <see cref="Jobs"/> open jobs
/// were left for the stream's following shift (starting at <see cref="FollowingStart"/>), which by their predictions leaves them at
/// 100 % for <see cref="OverflowHours"/> hours in all, under <see cref="WaitOverflowHours"/> (<c>Routing:WaitOverflowHours</c>).
/// For the dashboard: why no truck went out. <see cref="PlanId"/> is the plan id the shift would have had. Delivered at least once:
/// a consumer deduplicates by <see cref="PlanId"/>.
/// </summary>
public sealed record ShiftWaited(
    string PlanId, string Stream, DateTimeOffset ShiftStart, DateTimeOffset ShiftEnd, int Jobs, double OverflowHours, DateTimeOffset FollowingStart,
    double WaitOverflowHours, DateTimeOffset DecidedAt);
