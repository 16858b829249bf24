using Telemetry.Contracts.Messages;
using Telemetry.Fleet;
using Telemetry.Routing.Planning;

namespace Telemetry.Routing;

/// <summary>
/// How the routing worker plans: <see cref="LeadTime"/> before a vehicle shift starts it plans that shift with every open job of
/// the stream; an urgent job that arrives while a shift runs re-plans that stream's running shift (keeping the stops already
/// served); the solver gets <see cref="SolverTime"/>. A coming shift is driven only when waiting for the stream's following
/// shift would leave its jobs predicted at 100 % for at least <see cref="WaitOverflowHours"/> hours in all, or one of them alone
/// that long (or one of its jobs cannot wait at all: urgent, raised for an overflow, the dwell or by a dispatcher, no prediction).
/// </summary>
public sealed record RoutingPolicy(TimeSpan LeadTime, TimeSpan SolverTime, double WaitOverflowHours = RoutingPolicy.DefaultWaitOverflowHours)
{
    /// <summary>The default of <see cref="WaitOverflowHours"/> (the loop benchmark's measurements in docs/benchmarks.md).</summary>
    public const double DefaultWaitOverflowHours = 12;

    public static RoutingPolicy Default { get; } = new(TimeSpan.FromMinutes(30), TimeSpan.FromSeconds(5));
}

/// <summary>A vehicle shift of one stream: the vehicles whose daily shift hours are the same, on one local day.</summary>
public sealed record VehicleShift(WasteStream Stream, DateTimeOffset Start, DateTimeOffset End, IReadOnlyList<Vehicle> Vehicles)
{
    /// <summary>The plan's id: the stream and the shift's start (UTC), the same in every worker.</summary>
    public string PlanId => $"{Stream.Name()}:{Start.UtcDateTime:yyyyMMdd'T'HHmm'Z'}";
}

/// <summary>Why a job was not taken.</summary>
public sealed class RouteJobRejectedException(string jobId, string reason) : Exception($"collection job {jobId}: {reason}")
{
    public string JobId { get; } = jobId;

    public string Reason { get; } = reason;
}

/// <summary>A plan to make now: the request for the planner, its plan id and revision, and whether it re-plans a running shift.</summary>
public sealed record DuePlan(VehicleShift Shift, ShiftPlanRequest Request, int Revision, bool Replan);

/// <summary>
/// A shift that started without being driven, its open jobs left for the stream's following shift (starting at
/// <paramref name="FollowingStart"/>): as last weighed before it started, <paramref name="Jobs"/> jobs that waiting would leave
/// at 100 % for <paramref name="OverflowHours"/> hours in all, fewer than <see cref="RoutingPolicy.WaitOverflowHours"/>.
/// </summary>
public sealed record WaitedShift(VehicleShift Shift, int Jobs, double OverflowHours, DateTimeOffset FollowingStart);

/// <summary>
/// The routing worker's decisions (pure, single-threaded; every time comes from the caller): the open jobs per stream, which
/// vehicle shift is due for planning, and what the current plans are. A job is routed by one plan at a time; when its plan's shift
/// has ended and the job is still open (the truck did not get there, the plan dropped it), the next shift takes it again.
/// </summary>
public sealed class RoutingCore
{
    private readonly FleetRegistry _registry;
    private readonly RoutingPolicy _policy;
    private readonly Func<string, string, double?> _latestKg;
    private readonly Func<GeoPoint, GeoPoint, double> _km;
    private readonly Dictionary<string, OpenJob> _jobs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CurrentPlan> _plans = new(StringComparer.Ordinal);
    private readonly Dictionary<string, WaitedShift> _waiting = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _lookedAt = new(StringComparer.Ordinal); // shifts seen before they started, by end
    private readonly Dictionary<WasteStream, (TimeOnly Start, TimeOnly End, Vehicle[] Vehicles)[]> _shiftHours;

    /// <param name="registry">The fleet.</param>
    /// <param name="policy">Lead time and solver time.</param>
    /// <param name="latestKg">A compartment's latest net weight, if known (a job's load); else its maximum load counts.</param>
    /// <param name="km">Travel distance between two points (for the distance already driven on a re-plan).</param>
    public RoutingCore(FleetRegistry registry, RoutingPolicy policy, Func<string, string, double?>? latestKg = null, Func<GeoPoint, GeoPoint, double>? km = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(policy);
        _registry = registry;
        _policy = policy;
        _latestKg = latestKg ?? ((_, _) => null);
        _km = km ?? ((_, _) => 0);
        _shiftHours = WasteStreams.All.ToDictionary(s => s, s => registry.Vehicles.Where(v => v.Stream == s)
            .GroupBy(v => (v.ShiftStart, v.ShiftEnd)).OrderBy(g => g.Key.ShiftStart)
            .Select(g => (g.Key.ShiftStart, g.Key.ShiftEnd, g.OrderBy(v => v.Id, StringComparer.Ordinal).ToArray())).ToArray());
    }

    /// <summary>Open jobs it routes.</summary>
    public int OpenJobs => _jobs.Count;

    /// <summary>The open jobs of a stream.</summary>
    public IEnumerable<CollectionJobInfo> Open(WasteStream stream) => _jobs.Values.Where(j => j.Stream == stream).Select(j => j.Info);

    /// <summary>The current plan of each shift it planned whose shift has not ended before <paramref name="now"/>.</summary>
    public IEnumerable<RoutePlanned> Current(DateTimeOffset now) => _plans.Values.Where(p => p.Message.ShiftEnd > now).Select(p => p.Message);

    /// <summary>
    /// Takes a requested job (a repeat of a known one changes nothing). Throws <see cref="RouteJobRejectedException"/> naming
    /// the problem for a job it cannot route: an unknown bin, compartments the bin does not have, of another stream, or a stream
    /// no vehicle serves. Returns true when the job is urgent and a shift of its stream is running: that shift is re-planned (or
    /// planned from now, when it has no plan).
    /// </summary>
    public bool Add(CollectionJobInfo job, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (_jobs.ContainsKey(job.Id) || job.State is not ("requested" or "planned"))
        {
            return false;
        }
        var stream = Check(_registry, job);
        var open = _jobs[job.Id] = new OpenJob(job, stream);
        // A plan restored before the job (or a re-delivered request) may route it already.
        foreach (var plan in _plans.Values)
        {
            if (plan.Message.Routes.Any(r => r.Stops.Any(s => s.JobId == job.Id)) && plan.Message.ShiftEnd > open.PlanEnds)
            {
                open.PlanId = plan.Message.PlanId;
                open.PlanEnds = plan.Message.ShiftEnd;
            }
        }
        if (open.PlanId is null && job.Priority == "urgent" && Running(stream, now) is null
            && Shifts(stream, now, now + _policy.LeadTime).FirstOrDefault(s => s.Start > now && _plans.ContainsKey(s.PlanId)) is { } coming)
        {
            _plans[coming.PlanId].Dirty = true; // planned already, not started: planned again with it
            return true;
        }
        if (open.PlanId is null && job.Priority == "urgent" && Running(stream, now) is { } running)
        {
            if (_plans.TryGetValue(running.PlanId, out var current))
            {
                current.Dirty = true;
            }
            return true; // re-planned, or planned from now when the running shift has no plan
        }
        return false;
    }

    /// <summary>
    /// Whether a job can be routed: a known stream that some vehicle serves, a bin of the registry, and compartments the bin has,
    /// of that stream. Returns the stream; throws <see cref="RouteJobRejectedException"/> naming the problem.
    /// </summary>
    public static WasteStream Check(FleetRegistry registry, CollectionJobInfo job)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(job);
        if (!WasteStreams.TryParse(job.Stream, out var stream))
        {
            throw new RouteJobRejectedException(job.Id, $"unknown stream '{job.Stream}'");
        }
        if (registry.FindBin(job.Bin) is not { } bin)
        {
            throw new RouteJobRejectedException(job.Id, $"no bin '{job.Bin}' in the registry");
        }
        if (job.Compartments is not { Count: > 0 })
        {
            throw new RouteJobRejectedException(job.Id, "it names no compartment");
        }
        foreach (var c in job.Compartments)
        {
            if (bin.FindCompartment(c) is not { } compartment)
            {
                throw new RouteJobRejectedException(job.Id, $"bin {bin.Id} has no compartment '{c}'");
            }
            if (compartment.Stream != stream)
            {
                throw new RouteJobRejectedException(job.Id, $"compartment {bin.Id} {c} is {compartment.Stream.Name()}, not {job.Stream}");
            }
        }
        if (!registry.Vehicles.Any(v => v.Stream == stream))
        {
            throw new RouteJobRejectedException(job.Id, $"no vehicle in the registry serves the {job.Stream} stream");
        }
        return stream;
    }

    /// <summary>A job closed (completed or cancelled): it is routed no more. False when it was not open here.</summary>
    public bool Remove(string jobId) => _jobs.Remove(jobId);

    /// <summary>Takes a plan as stored (at a start or a takeover); a later revision of the same plan replaces it.</summary>
    public void Restore(RoutePlanned plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (_plans.TryGetValue(plan.PlanId, out var old) && old.Message.Revision >= plan.Revision)
        {
            return;
        }
        _plans[plan.PlanId] = new CurrentPlan(plan);
        foreach (var stop in plan.Routes.SelectMany(r => r.Stops))
        {
            if (stop.JobId is { } id && _jobs.TryGetValue(id, out var job))
            {
                job.PlanId = plan.PlanId;
                job.PlanEnds = plan.ShiftEnd;
            }
        }
    }

    /// <summary>
    /// The plans to make at <paramref name="now"/>, for the streams <paramref name="streams"/> allows (null: all): each shift
    /// starting within the lead time that has no plan yet, with every open job of its stream that no other running or coming plan
    /// routes, when they cannot all wait for the stream's following shift (see <see cref="RoutingPolicy.WaitOverflowHours"/>;
    /// a shift that is not needed is not planned, and looked at again until it starts); and each running shift an urgent job arrived in (a new revision, from where its
    /// vehicles are).
    /// </summary>
    public IReadOnlyList<DuePlan> Due(DateTimeOffset now, Func<WasteStream, bool>? streams = null)
    {
        var due = new List<DuePlan>();
        foreach (var stream in WasteStreams.All)
        {
            if (streams is not null && !streams(stream))
            {
                continue;
            }
            foreach (var shift in Shifts(stream, now - TimeSpan.FromDays(1), now + _policy.LeadTime))
            {
                if (shift.End <= now || shift.Start > now + _policy.LeadTime)
                {
                    continue;
                }
                if (!_plans.TryGetValue(shift.PlanId, out var plan))
                {
                    // Nothing to do yet: looked at again at the next call, until the shift starts. A shift that runs without a plan
                    // (nothing was due when it started) is planned from now when an urgent job comes.
                    var request = Request(shift, now, progress: null);
                    if (shift.Start < now)
                    {
                        request = request with { ShiftStart = now };
                    }
                    // A coming shift is driven only when its jobs cannot all wait for the stream's following shift; the jobs
                    // that could wait ride along. A running one without a plan is planned for an urgent job; but one that was never
                    // looked at before it started (the worker was busy past its lead time, or came up during it) is weighed as a
                    // coming one, from now, so that its jobs are not left for the following shift unseen.
                    var missed = shift.Start < now && !_lookedAt.ContainsKey(shift.PlanId);
                    WaitedShift? waited = null;
                    var drive = request.Jobs.Count > 0 && (shift.Start >= now || missed)
                        ? (waited = Weigh(request, shift)) is null
                        : request.Jobs.Any(j => j.Urgent);
                    if (drive)
                    {
                        // Not marked as looked at: should its planning fail, a missed shift is weighed again at the next call.
                        _waiting.Remove(shift.PlanId);
                        due.Add(new DuePlan(shift, request, 1, Replan: false));
                        continue;
                    }
                    _lookedAt[shift.PlanId] = shift.End; // a missed one is weighed once
                    if (waited is not null)
                    {
                        _waiting[shift.PlanId] = waited;
                    }
                    else if (request.Jobs.Count == 0)
                    {
                        _waiting.Remove(shift.PlanId); // its jobs closed meanwhile: nothing waits
                    }
                }
                else if (plan.Dirty)
                {
                    // A running shift starts from where its vehicles are, and from now; a coming one (an urgent job in the lead time) afresh.
                    var running = shift.Start <= now;
                    var request = Request(shift, now, running ? Progress(plan.Message, now) : null);
                    due.Add(new DuePlan(shift, running ? request with { ShiftStart = now } : request, plan.Message.Revision + 1, Replan: true));
                }
            }
        }
        return due;
    }

    /// <summary>
    /// The shifts that started at or before <paramref name="now"/> without being driven while jobs waited for the following shift,
    /// each once (for the log and the metrics: what the worker chose not to drive, and why).
    /// </summary>
    public IReadOnlyList<WaitedShift> TakeWaited(DateTimeOffset now)
    {
        var started = _waiting.Values.Where(w => w.Shift.Start <= now).OrderBy(w => w.Shift.Start).ToList();
        foreach (var w in started)
        {
            _waiting.Remove(w.Shift.PlanId);
        }
        return started;
    }

    /// <summary>
    /// Whether a coming shift may wait: null when it must be driven, because one of its jobs cannot wait for the stream's following
    /// shift at all (urgent, raised for an overflow, the dwell or by a dispatcher, with no prediction, or no following shift within
    /// a week), or waiting would leave its jobs at 100 % for at least <see cref="RoutingPolicy.WaitOverflowHours"/> hours in all,
    /// by their predictions: each job adds the hours from its predicted full time to the following shift's start, less those to
    /// this shift's start (with 0: any such hour); or one job alone would by the following shift's start have been at 100 % for
    /// that long. Otherwise what waiting costs. When the shift is driven, the jobs that could wait ride along.
    /// </summary>
    private WaitedShift? Weigh(ShiftPlanRequest request, VehicleShift shift)
    {
        if (Following(shift) is not { } following)
        {
            return null;
        }
        var hours = 0.0;
        foreach (var job in request.Jobs)
        {
            if (job.Urgent || !_jobs.TryGetValue(job.JobId, out var open) || open.Info.Reason is not (PredictedReason or ThresholdReason)
                || open.Info.PredictedFullAt is not { } full)
            {
                return null;
            }
            var byFollowing = Math.Max(0, (following.Start - full).TotalHours);
            if (_policy.WaitOverflowHours > 0 && byFollowing >= _policy.WaitOverflowHours)
            {
                // One job alone would have stood at 100 % that long (its reason and prediction stay those it was raised with, so a
                // compartment long full would otherwise add only the gap between two shifts, and could wait for ever).
                return null;
            }
            // Hours at 100 % before the plan's start (the shift's, or now for a shift first seen running) are not saved by driving it.
            hours += byFollowing - Math.Max(0, (request.ShiftStart - full).TotalHours);
        }
        var drive = _policy.WaitOverflowHours == 0 ? hours > 0 : hours >= _policy.WaitOverflowHours;
        return drive ? null : new WaitedShift(shift, request.Jobs.Count, hours, following.Start);
    }

    /// <summary>The stream's next shift after <paramref name="shift"/> starts (null: none within a week).</summary>
    private VehicleShift? Following(VehicleShift shift) =>
        Shifts(shift.Stream, shift.Start, shift.Start + TimeSpan.FromDays(8)).FirstOrDefault(s => s.Start > shift.Start);

    /// <summary>The reason of a job raised because its compartment is predicted to fill (CONTRACT §6 job reasons).</summary>
    private const string PredictedReason = "predicted";

    /// <summary>The reason of a job raised because its compartment is at the collection threshold (CONTRACT §6 job reasons).</summary>
    private const string ThresholdReason = "threshold";

    /// <summary>Takes the plan the planner made for a due plan: its jobs are routed by it until its shift ends. Returns the message to publish.</summary>
    public RoutePlanned Accept(DuePlan due, ShiftPlan plan, DateTimeOffset plannedAt)
    {
        ArgumentNullException.ThrowIfNull(due);
        ArgumentNullException.ThrowIfNull(plan);
        var message = ToMessage(due, plan, plannedAt);
        _plans[due.Shift.PlanId] = new CurrentPlan(message);
        foreach (var stop in message.Routes.SelectMany(r => r.Stops))
        {
            if (stop.JobId is { } id && _jobs.TryGetValue(id, out var job))
            {
                job.PlanId = message.PlanId;
                job.PlanEnds = message.ShiftEnd;
            }
        }
        return message;
    }

    /// <summary>Forgets plans (and shifts that waited, not taken) whose shift ended before <paramref name="before"/>.</summary>
    public void Prune(DateTimeOffset before)
    {
        RemoveWhere(_plans, p => p.Message.ShiftEnd < before);
        RemoveWhere(_waiting, w => w.Shift.End < before);
        RemoveWhere(_lookedAt, end => end < before);

        static void RemoveWhere<T>(Dictionary<string, T> entries, Func<T, bool> gone)
        {
            foreach (var id in entries.Where(e => gone(e.Value)).Select(e => e.Key).ToList())
            {
                entries.Remove(id);
            }
        }
    }

    /// <summary>The vehicle shifts of a stream that overlap [from, to], in start order.</summary>
    public IEnumerable<VehicleShift> Shifts(WasteStream stream, DateTimeOffset from, DateTimeOffset to)
    {
        var zone = _registry.TimeZone;
        var day = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(from, zone).DateTime).AddDays(-1);
        var last = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(to, zone).DateTime);
        for (; day <= last; day = day.AddDays(1))
        {
            foreach (var (start, end, vehicles) in _shiftHours[stream])
            {
                var s = Local(zone, day, start);
                var e = end > start ? Local(zone, day, end) : Local(zone, day.AddDays(1), end);
                if (e > from && s <= to)
                {
                    yield return new VehicleShift(stream, s, e, vehicles);
                }
            }
        }
    }

    private VehicleShift? Running(WasteStream stream, DateTimeOffset now) =>
        Shifts(stream, now, now).Where(s => s.Start <= now && now < s.End).LastOrDefault();

    private ShiftPlanRequest Request(VehicleShift shift, DateTimeOffset now, IReadOnlyDictionary<string, VehicleProgress>? progress)
    {
        var jobs = new List<RouteJob>();
        foreach (var job in _jobs.Values.Where(j => j.Stream == shift.Stream).OrderBy(j => j.Info.RequestedAt).ThenBy(j => j.Info.Id, StringComparer.Ordinal))
        {
            // Routed by another plan that still runs or is coming: that one serves it.
            if (job.PlanId is { } other && other != shift.PlanId && job.PlanEnds > now)
            {
                continue;
            }
            // On a re-plan, the jobs already served by this plan's vehicles stay served (they are in the progress).
            if (progress is not null && progress.Values.Any(p => p.Served.Any(s => s.JobId == job.Info.Id)))
            {
                continue;
            }
            var bin = _registry.FindBin(job.Info.Bin)!;
            var kg = job.Info.Compartments.Sum(c => _latestKg(bin.Id, c) is { } known && known >= 0 ? known : bin.FindCompartment(c)!.MaxKg);
            // A predicted job that waited for this shift has a deadline from the shift it was raised for (passed now): it is due
            // by its predicted full time, within this shift.
            var deadline = job.Info.Reason == PredictedReason && job.Info.Deadline < shift.Start && job.Info.PredictedFullAt is { } full && full > job.Info.Deadline
                ? (full < shift.End ? full : shift.End)
                : job.Info.Deadline;
            jobs.Add(new RouteJob(job.Info.Id, bin.Id, job.Info.Compartments, kg, job.Info.Priority == "urgent", deadline, job.Info.RequestedAt));
        }
        return new ShiftPlanRequest(shift.Stream, shift.Start, shift.End, shift.Vehicles, jobs, _policy.SolverTime, progress);
    }

    /// <summary>Where each vehicle of a running plan is at <paramref name="now"/>, by the plan: past the stops it has left.</summary>
    private Dictionary<string, VehicleProgress> Progress(RoutePlanned plan, DateTimeOffset now)
    {
        var progress = new Dictionary<string, VehicleProgress>(StringComparer.Ordinal);
        foreach (var route in plan.Routes)
        {
            var served = new List<PlannedStop>();
            var km = 0.0;
            var trips = 0;
            GeoPoint? previous = null;
            foreach (var s in route.Stops)
            {
                if (s.Departs > now)
                {
                    break;
                }
                var stop = FromInfo(s);
                if (previous is { } p)
                {
                    km += _km(p, stop.Location);
                }
                previous = stop.Location;
                trips += stop.Kind == StopKind.Facility ? 1 : 0;
                served.Add(stop);
            }
            if (served.Count == 0)
            {
                continue; // not left the depot yet: planned afresh
            }
            var last = served[^1];
            if (last.Kind == StopKind.Depot && served.Count > 1)
            {
                continue; // back at the depot: its shift's work is done
            }
            progress[route.Vehicle] = new VehicleProgress(last.Location, last.Departs > now ? last.Departs : now, last.LoadKg, served, km, trips);
        }
        return progress;
    }

    /// <summary>A route as the bus carries it, back in the planner's terms.</summary>
    public static PlannedRoute FromInfo(RouteInfo route)
    {
        ArgumentNullException.ThrowIfNull(route);
        return new PlannedRoute(route.Vehicle, [.. route.Stops.Select(FromInfo)], route.DistanceKm, route.Trips);
    }

    /// <summary>A stop as the bus carries it, back in the planner's terms.</summary>
    public static PlannedStop FromInfo(RouteStopInfo s) => new(
        s.Kind switch { "depot" => StopKind.Depot, "facility" => StopKind.Facility, _ => StopKind.Bin },
        s.Place, new GeoPoint(s.Lat, s.Lon), s.Eta, s.Departs, s.LoadKg, s.JobId, s.Compartments, s.Kg);

    private static RoutePlanned ToMessage(DuePlan due, ShiftPlan plan, DateTimeOffset plannedAt) => new(
        due.Shift.PlanId, due.Revision, due.Shift.Stream.Name(), due.Shift.Start, due.Shift.End, plannedAt,
        [.. plan.Routes.Select(r => new RouteInfo(r.Vehicle, Math.Round(r.DistanceKm, 3), r.Trips, [.. r.Stops.Select(ToInfo)]))],
        [.. plan.Unserved.Select(u => new UnservedJobInfo(u.JobId, u.Bin, u.Reason))], plan.SolverStatus);

    private static RouteStopInfo ToInfo(PlannedStop s) => new(
        s.Kind switch { StopKind.Depot => "depot", StopKind.Facility => "facility", _ => "bin" },
        s.Place, s.Location.Latitude, s.Location.Longitude, s.Eta, s.Departs, Math.Round(s.LoadKg, 1), Math.Round(s.Kg, 1), s.JobId, s.Compartments ?? []);

    private static DateTimeOffset Local(TimeZoneInfo zone, DateOnly day, TimeOnly time)
    {
        var local = day.ToDateTime(time);
        return new DateTimeOffset(local, zone.GetUtcOffset(local));
    }

    private sealed class OpenJob(CollectionJobInfo info, WasteStream stream)
    {
        public CollectionJobInfo Info { get; } = info;
        public WasteStream Stream { get; } = stream;
        public string? PlanId { get; set; }
        public DateTimeOffset PlanEnds { get; set; }
    }

    private sealed class CurrentPlan(RoutePlanned message)
    {
        public RoutePlanned Message { get; } = message;
        public bool Dirty { get; set; }
    }
}
