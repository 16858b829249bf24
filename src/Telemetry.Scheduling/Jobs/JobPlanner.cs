using Telemetry.Fleet;

namespace Telemetry.Scheduling.Jobs;

/// <summary>One vehicle shift of a stream: a window in which its trucks collect.</summary>
public readonly record struct ShiftWindow(WasteStream Stream, DateTimeOffset Start, DateTimeOffset End);

/// <summary>
/// The shifts of each stream, from its vehicles' daily shift hours in the registry's local time (a shift that ends before it
/// starts runs past midnight). Vehicles of one stream with the same hours share a shift.
/// </summary>
public sealed class ShiftCalendar
{
    private readonly TimeZoneInfo _zone;
    private readonly Dictionary<WasteStream, (TimeOnly Start, TimeOnly End)[]> _daily;

    public ShiftCalendar(FleetRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        _zone = registry.TimeZone;
        _daily = WasteStreams.All.ToDictionary(s => s, s => registry.Vehicles.Where(v => v.Stream == s)
            .Select(v => (v.ShiftStart, v.ShiftEnd)).Distinct().OrderBy(x => x.ShiftStart).ToArray());
    }

    /// <summary>The next two shifts of <paramref name="stream"/> that start after <paramref name="now"/>; null without vehicles.</summary>
    public (ShiftWindow Next, ShiftWindow AfterNext)? Upcoming(WasteStream stream, DateTimeOffset now)
    {
        var hours = _daily[stream];
        if (hours.Length == 0)
        {
            return null;
        }
        var found = new List<ShiftWindow>(2);
        var day = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, _zone).DateTime).AddDays(-1);
        for (var d = 0; d < 4 && found.Count < 2; d++, day = day.AddDays(1))
        {
            foreach (var (start, end) in hours)
            {
                var s = Local(day, start);
                var e = end > start ? Local(day, end) : Local(day.AddDays(1), end);
                if (s > now)
                {
                    found.Add(new ShiftWindow(stream, s, e));
                    if (found.Count == 2)
                    {
                        break;
                    }
                }
            }
        }
        return (found[0], found[1]);
    }

    private DateTimeOffset Local(DateOnly day, TimeOnly time)
    {
        var local = day.ToDateTime(time);
        return new DateTimeOffset(local, _zone.GetUtcOffset(local));
    }
}

/// <summary>
/// What the planner knows of one compartment at a tick: its cleaned level, prediction and alerts, and since when it holds
/// what it holds (its last emptying seen, else its first reading; null when neither is known).
/// </summary>
public readonly record struct CompartmentOutlook(
    string Bin, string Compartment, WasteStream Stream, double? FillPct, DateTimeOffset? ThresholdAt, DateTimeOffset? FullAt, bool Critical,
    DateTimeOffset? HoldsSince = null);

/// <summary>A collection job (CONTRACT §6 fields); states <c>requested</c>, <c>planned</c>, <c>completed</c>, <c>cancelled</c>.</summary>
public sealed record CollectionJob(
    string Id, string Bin, IReadOnlyList<string> Compartments, string Stream, string Reason, string Priority,
    DateTimeOffset? PredictedFullAt, DateTimeOffset Deadline, string State, string? Vehicle,
    DateTimeOffset RequestedAt, string RequestedBy, DateTimeOffset? PlannedAt = null, DateTimeOffset? CompletedAt = null, DateTimeOffset? CancelledAt = null)
{
    public bool Open => State is JobStates.Requested or JobStates.Planned;
}

public static class JobStates
{
    public const string Requested = "requested";
    public const string Planned = "planned";
    public const string Completed = "completed";
    public const string Cancelled = "cancelled";
}

/// <summary>Why a job was raised.</summary>
public static class JobReasons
{
    /// <summary>At the collection threshold now.</summary>
    public const string Threshold = "threshold";

    /// <summary>Predicted to reach the threshold before the stream's shift after next.</summary>
    public const string Predicted = "predicted";

    /// <summary>Overflowing (at or above the overflow level).</summary>
    public const string Overflow = "overflow";

    /// <summary>Requested by a dispatcher.</summary>
    public const string Manual = "manual";

    /// <summary>Its stream's maximum dwell would run out before the stream's shift after next (kitchen waste: once a day).</summary>
    public const string Dwell = "dwell";
}

/// <summary>
/// The open jobs, at most one per compartment: a job stays open until its emptying is detected or a dispatcher completes or
/// cancels it (pure, single-threaded).
/// </summary>
public sealed class JobBook
{
    private readonly Dictionary<string, CollectionJob> _jobs = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Bin, string Compartment), string> _openByCompartment = [];

    public IEnumerable<CollectionJob> Open => _jobs.Values.Where(j => j.Open);

    /// <summary>Open jobs (each covers at least one compartment).</summary>
    public int OpenCount => _openByCompartment.Values.Distinct(StringComparer.Ordinal).Count();

    /// <summary>Forgets jobs that closed before <paramref name="closedBefore"/> (they are in the store; the book needs the open ones).</summary>
    public void Prune(DateTimeOffset closedBefore)
    {
        List<string>? old = null;
        foreach (var (id, job) in _jobs)
        {
            if (!job.Open && (job.CompletedAt ?? job.CancelledAt) is { } closed && closed < closedBefore)
            {
                (old ??= []).Add(id);
            }
        }
        foreach (var id in old ?? [])
        {
            _jobs.Remove(id);
        }
    }

    public CollectionJob? Find(string id) => _jobs.GetValueOrDefault(id);

    public bool Covers(string bin, string compartment) => _openByCompartment.ContainsKey((bin, compartment));

    /// <summary>The open job covering a compartment, if any.</summary>
    public CollectionJob? OpenFor(string bin, string compartment) =>
        _openByCompartment.TryGetValue((bin, compartment), out var id) ? _jobs[id] : null;

    /// <summary>Every job it knows, open or closed.</summary>
    public IEnumerable<CollectionJob> All => _jobs.Values;

    /// <summary>Takes a job as it was stored, in any state (a later one of the same id replaces it); an open one covers its compartments.</summary>
    public void Restore(CollectionJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (_jobs.TryGetValue(job.Id, out var old))
        {
            foreach (var c in old.Compartments)
            {
                if (_openByCompartment.TryGetValue((old.Bin, c), out var id) && id == old.Id)
                {
                    _openByCompartment.Remove((old.Bin, c));
                }
            }
        }
        _jobs[job.Id] = job;
        if (job.Open)
        {
            foreach (var c in job.Compartments)
            {
                _openByCompartment[(job.Bin, c)] = job.Id;
            }
        }
    }

    /// <summary>Adds a job; null when an open job already covers one of its compartments (the caller answers 409).</summary>
    public CollectionJob? Add(CollectionJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (_jobs.ContainsKey(job.Id) || job.Compartments.Any(c => Covers(job.Bin, c)))
        {
            return null;
        }
        _jobs[job.Id] = job;
        foreach (var c in job.Compartments)
        {
            _openByCompartment[(job.Bin, c)] = job.Id;
        }
        return job;
    }

    /// <summary>
    /// The compartment was emptied: the open job covering it completes, with all its compartments. One truck stop empties a bin's
    /// compartments of a stream together, and a compartment emptied nearly empty shows no emptying in its readings: waiting for
    /// each would keep the job open, and send trucks back, for ever. Returns the job.
    /// </summary>
    public CollectionJob? Emptied(string bin, string compartment, DateTimeOffset at)
    {
        if (!_openByCompartment.Remove((bin, compartment), out var id))
        {
            return null;
        }
        var job = _jobs[id];
        foreach (var c in job.Compartments)
        {
            if (_openByCompartment.TryGetValue((bin, c), out var other) && other == id)
            {
                _openByCompartment.Remove((bin, c));
            }
        }
        return _jobs[id] = job with { State = JobStates.Completed, CompletedAt = at };
    }

    /// <summary>
    /// A route plan took the job: state <c>planned</c> with its vehicle and the plan's time. Null when unknown, no longer open, or
    /// planned already with that vehicle (a repeat; a re-plan that moves it to another vehicle is news).
    /// </summary>
    public CollectionJob? Plan(string id, string vehicle, DateTimeOffset at)
    {
        if (!_jobs.TryGetValue(id, out var job) || !job.Open || (job.State == JobStates.Planned && job.Vehicle == vehicle))
        {
            return null;
        }
        return _jobs[id] = job with { State = JobStates.Planned, Vehicle = vehicle, PlannedAt = at };
    }

    /// <summary>A dispatcher closes a job by hand; null when unknown or no longer open.</summary>
    public CollectionJob? Close(string id, bool completed, DateTimeOffset at)
    {
        if (!_jobs.TryGetValue(id, out var job) || !job.Open)
        {
            return null;
        }
        foreach (var c in job.Compartments)
        {
            _openByCompartment.Remove((job.Bin, c));
        }
        return _jobs[id] = completed ? job with { State = JobStates.Completed, CompletedAt = at } : job with { State = JobStates.Cancelled, CancelledAt = at };
    }
}

/// <summary>
/// Decides, at a tick, which compartments need collection in their stream's next shift: at the threshold now, predicted to
/// reach it before the shift after next starts, or (streams with a maximum dwell, <paramref name="maxDwell"/>) holding waste
/// that would be older than the dwell by the start of the shift after next. A bin's compartments of one stream that need it
/// go in one job (one truck empties them together); compartments an open job covers are left out. Overflowing compartments,
/// and those with a critical alert, make their job urgent.
/// </summary>
/// <remarks>
/// A prediction alone raises a job only for a compartment at <paramref name="predictedFromPct"/> or more now: below it, what
/// the prediction says is mostly the sensor's noise (a slow compartment's learned rise is largely noise), and the next ticks
/// still see it coming.
/// </remarks>
public sealed class JobPlanner(
    ShiftCalendar shifts, double thresholdPct, double overflowPct, IReadOnlyDictionary<WasteStream, TimeSpan>? maxDwell = null, double predictedFromPct = 0,
    IReadOnlyDictionary<WasteStream, TimeSpan>? collectAhead = null)
{
    public IReadOnlyList<CollectionJob> Tick(DateTimeOffset now, IEnumerable<CompartmentOutlook> compartments, JobBook book)
    {
        ArgumentNullException.ThrowIfNull(compartments);
        ArgumentNullException.ThrowIfNull(book);
        var upcoming = WasteStreams.All.ToDictionary(s => s, s => shifts.Upcoming(s, now));
        var wanted = new Dictionary<(string Bin, WasteStream Stream), List<CompartmentOutlook>>();
        foreach (var c in compartments)
        {
            if (book.Covers(c.Bin, c.Compartment) || upcoming[c.Stream] is not { } shift)
            {
                continue;
            }
            var atThreshold = c.FillPct >= thresholdPct;
            var soon = Soon(c, shift.Next, shift.AfterNext);
            if (atThreshold || soon || c.Critical || DwellDue(c, shift.AfterNext.Start))
            {
                if (!wanted.TryGetValue((c.Bin, c.Stream), out var list))
                {
                    wanted[(c.Bin, c.Stream)] = list = [];
                }
                list.Add(c);
            }
        }
        var jobs = new List<CollectionJob>();
        foreach (var ((bin, stream), list) in wanted.OrderBy(w => w.Key.Bin, StringComparer.Ordinal).ThenBy(w => w.Key.Stream))
        {
            var next = upcoming[stream]!.Value.Next;
            var overflow = list.Any(c => c.FillPct >= overflowPct);
            var urgent = overflow || list.Any(c => c.Critical);
            var reason = overflow ? JobReasons.Overflow
                : list.Any(c => c.FillPct >= thresholdPct) ? JobReasons.Threshold
                : list.Any(c => c.Critical) ? JobReasons.Predicted
                // The dwell before a prediction: a job predicted full later may wait a shift (docs/routing.md), one for the dwell not.
                : list.Any(c => DwellDue(c, upcoming[stream]!.Value.AfterNext.Start)) ? JobReasons.Dwell
                : JobReasons.Predicted;
            var full = list.Where(c => c.FullAt is not null).Select(c => c.FullAt!.Value).DefaultIfEmpty().Min();
            DateTimeOffset? fullAt = full == default ? null : full;
            var deadline = fullAt is { } f && f < next.End ? f : next.End;
            var job = new CollectionJob(
                $"{bin}:{stream.Name()}:{now.ToUnixTimeMilliseconds()}", bin, [.. list.Select(c => c.Compartment).Order(StringComparer.Ordinal)], stream.Name(),
                reason, urgent ? "urgent" : "normal", fullAt, deadline, JobStates.Requested, null, now, "scheduler");
            if (book.Add(job) is { } added)
            {
                jobs.Add(added);
            }
        }
        return jobs;
    }

    /// <summary>
    /// Predicted to need the stream's next shift: at the threshold before the shift after it starts, or (streams with a
    /// collect-ahead time) full within that time after the next shift starts; never below the prediction floor.
    /// </summary>
    private bool Soon(CompartmentOutlook c, ShiftWindow next, ShiftWindow afterNext)
    {
        if (c.FillPct < predictedFromPct)
        {
            return false;
        }
        if (c.ThresholdAt is { } at && at < afterNext.Start)
        {
            return true;
        }
        return collectAhead is not null && collectAhead.TryGetValue(c.Stream, out var ahead) && c.FullAt is { } full && full < next.Start + ahead;
    }

    /// <summary>Its waste would be older than the stream's maximum dwell by <paramref name="afterNext"/> (unknown age: due).</summary>
    private bool DwellDue(CompartmentOutlook c, DateTimeOffset afterNext) =>
        maxDwell is not null && maxDwell.TryGetValue(c.Stream, out var dwell) && dwell > TimeSpan.Zero
        && (c.HoldsSince is not { } since || since + dwell < afterNext);
}
