using Telemetry.Contracts.Readings;
using Telemetry.Fleet;
using Telemetry.Scheduling.Alerts;
using Telemetry.Scheduling.Jobs;
using Telemetry.Scheduling.Signal;
using Telemetry.Storage;

namespace Telemetry.Scheduling;

/// <summary>A job event: <c>requested</c>, <c>planned</c>, <c>completed</c> or <c>cancelled</c>, the job after it, and who caused it.</summary>
public sealed record JobEvent(string Type, CollectionJob Job, DateTimeOffset At, string By);

/// <summary>What the scheduler decided: alert events and job events, in the order they happened.</summary>
public sealed class SchedulerOutput
{
    public List<AlertEvent> Alerts { get; } = [];

    public List<JobEvent> Jobs { get; } = [];

    public bool IsEmpty => Alerts.Count == 0 && Jobs.Count == 0;

    public void Add(SchedulerOutput other)
    {
        ArgumentNullException.ThrowIfNull(other);
        Alerts.AddRange(other.Alerts);
        Jobs.AddRange(other.Jobs);
    }
}

/// <summary>
/// The scheduler's decisions (pure, single-threaded): the fill signal's readings feed the alert rules; a tick re-reads every
/// compartment's prediction against the time, runs the rules that time alone decides and the job planner; dispatchers' commands
/// acknowledge alerts and open or close jobs. Every time comes from the readings or the caller's <c>now</c>.
/// </summary>
public sealed class SchedulerCore
{
    private readonly FleetRegistry _registry;
    private readonly AlertOptions _rules;
    private readonly JobPlanner _planner;
    private readonly Dictionary<(string Bin, string Compartment), Outlook> _outlooks = [];
    private readonly List<KeyValuePair<(string Bin, string Compartment), Outlook>> _uncovered = [];
    private readonly Dictionary<string, int> _planRevisions = new(StringComparer.Ordinal);

    /// <summary>
    /// The scheduler over <paramref name="registry"/> with the alert rules; <paramref name="maxDwell"/>: per stream, the longest
    /// its compartments may hold waste before a job empties them (<c>Scheduling:MaxDwell</c>; none when null);
    /// <paramref name="predictedFromPct"/>: the level below which a prediction alone raises no job (<c>Scheduling:PredictedFromPct</c>);
    /// <paramref name="collectAhead"/>: per stream, how long after the stream's next shift starts a compartment predicted full then
    /// gets its job already (<c>Scheduling:CollectAhead</c>; none when null).
    /// </summary>
    public SchedulerCore(
        FleetRegistry registry, AlertOptions rules, IReadOnlyDictionary<WasteStream, TimeSpan>? maxDwell = null, double predictedFromPct = 0,
        IReadOnlyDictionary<WasteStream, TimeSpan>? collectAhead = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(rules);
        _registry = registry;
        _rules = rules;
        Alerts = new AlertEngine(rules);
        _planner = new JobPlanner(new ShiftCalendar(registry), rules.ThresholdPct, rules.OverflowPct, maxDwell, predictedFromPct, collectAhead);
        foreach (var bin in registry.Bins)
        {
            foreach (var c in bin.Compartments)
            {
                _outlooks[(bin.Id, c.Id)] = new Outlook(c.Stream);
            }
        }
    }

    public AlertEngine Alerts { get; private set; }

    public JobBook Jobs { get; private set; } = new();

    /// <summary>Compartments it follows.</summary>
    public int Compartments => _outlooks.Count;

    /// <summary>What one run of the fill signal's readings raises or clears, and the jobs their emptyings complete.</summary>
    public SchedulerOutput Observe(FillSignalBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var output = new SchedulerOutput();
        foreach (var o in batch.Observations)
        {
            switch (o.Reading)
            {
                case FillReading f when _outlooks.TryGetValue((f.BinId, f.Compartment), out var outlook):
                    var covered = Jobs.Covers(f.BinId, f.Compartment);
                    outlook.HoldsSince ??= f.Time;
                    if (o.CleanedPct is { } cleaned)
                    {
                        if (covered && !EmptiedInBatch(batch, f.BinId, f.Compartment) && JobEmptied(f.BinId, f.Compartment, f.Time, outlook, cleaned) is { } done)
                        {
                            output.Jobs.Add(new JobEvent(JobStates.Completed, done, f.Time, "scheduler"));
                            HoldsFrom(done, f.Time);
                            covered = false;
                        }
                        outlook.PeakSinceJob = covered ? Math.Max(outlook.PeakSinceJob ?? cleaned, cleaned) : null;
                        outlook.FillPct = cleaned;
                        // A prediction from the current cycle's rise alone (no rhythm learned yet: a new bin, an empty store) is
                        // a guess from a few readings: it counts by the late end of its band, so it raises no job or alert early.
                        var guess = o.Forecast is { Basis: "cycle" or "none" };
                        outlook.ThresholdAt = guess ? o.Forecast!.ThresholdHigh : o.Forecast?.ThresholdAt;
                        outlook.FullAt = guess ? o.Forecast!.FullHigh : o.Forecast?.FullAt;
                        output.Alerts.AddRange(Alerts.Fill(f.BinId, f.Compartment, f.Time, cleaned, f.Pct, covered));
                        output.Alerts.AddRange(Alerts.Prediction(f.BinId, f.Compartment, f.Time, outlook.FullAt, covered));
                    }
                    else
                    {
                        output.Alerts.AddRange(Alerts.Message(f.BinId, f.Time));
                    }
                    break;
                case WeightReading w:
                    output.Alerts.AddRange(w.DepositKg is > 0 and var kg ? Alerts.Deposit(w.BinId, w.Compartment, w.Time, kg) : Alerts.Message(w.BinId, w.Time));
                    break;
                case StatusReading s:
                    output.Alerts.AddRange(Alerts.Status(s.BinId, s.Time, s.TimeFromDevice, s.Online, s.BatteryPct, s.TempC, s.Tilt, s.DoorOpen));
                    break;
                default:
                    break; // a compartment the registry does not have: ingestion dead-letters those, nothing to decide
            }
        }
        foreach (var c in batch.Collections)
        {
            if (_outlooks.TryGetValue((c.BinId, c.Compartment), out var emptied) && !(emptied.HoldsSince > c.Time))
            {
                emptied.HoldsSince = c.Time;
            }
            if (Jobs.OpenFor(c.BinId, c.Compartment) is { } open && c.Time > open.RequestedAt && Jobs.Emptied(c.BinId, c.Compartment, c.Time) is { } done)
            {
                output.Jobs.Add(new JobEvent(JobStates.Completed, done, c.Time, "scheduler"));
                HoldsFrom(done, c.Time);
            }
        }
        return output;
    }

    /// <summary>
    /// At <paramref name="now"/>: every compartment's prediction against the time (predicted-full), what time alone decides
    /// (offline by silence, re-fire, escalation), and, when <paramref name="plan"/>, the jobs the next shifts need.
    /// </summary>
    public SchedulerOutput Tick(DateTimeOffset now, bool plan = true)
    {
        var output = new SchedulerOutput();
        // The compartments no open job covers, for the planner (it leaves the covered ones out): nothing below opens a job. One
        // list kept between ticks, so a tick over a large fleet does not allocate it again.
        var uncovered = _uncovered;
        uncovered.Clear();
        foreach (var entry in _outlooks)
        {
            if (entry.Value.FillPct is not null)
            {
                var (bin, compartment) = entry.Key;
                var covered = Jobs.Covers(bin, compartment);
                Alerts.Prediction(bin, compartment, now, entry.Value.FullAt, covered, output.Alerts);
                if (!covered && plan)
                {
                    uncovered.Add(entry);
                }
            }
        }
        output.Alerts.AddRange(Alerts.Tick(now));
        if (!plan)
        {
            return output;
        }
        var jobs = _planner.Tick(now, Outlooks(uncovered), Jobs);
        uncovered.Clear();
        foreach (var job in jobs)
        {
            output.Jobs.Add(new JobEvent(JobStates.Requested, job, now, job.RequestedBy));
            foreach (var c in job.Compartments)
            {
                // A job covers it now: a predicted-full alert ends.
                Alerts.Prediction(job.Bin, c, now, _outlooks[(job.Bin, c)].FullAt, covered: true, output.Alerts);
            }
        }
        return output;
    }

    private IEnumerable<CompartmentOutlook> Outlooks(List<KeyValuePair<(string Bin, string Compartment), Outlook>> compartments)
    {
        // A critical alert on the compartment (an overflow, or any of its alerts escalated to critical) makes it critical: one pass
        // over the active alerts, not look-ups per compartment. A bin's own alerts (fire, tilt) are no reason to empty it.
        var critical = new HashSet<(string Bin, string Compartment)>();
        foreach (var a in Alerts.Active)
        {
            if (a is { Compartment: { } c, Severity: Severities.Critical })
            {
                critical.Add((a.Bin, c));
            }
        }
        foreach (var ((bin, compartment), o) in compartments)
        {
            yield return new CompartmentOutlook(bin, compartment, o.Stream, o.FillPct, o.ThresholdAt, o.FullAt, critical.Count > 0 && critical.Contains((bin, compartment)), o.HoldsSince);
        }
    }

    /// <summary>A dispatcher acknowledges an alert.</summary>
    public (AckResult Result, AlertEvent? Event) Acknowledge(string id, string by, DateTimeOffset at) => Alerts.Acknowledge(id, by, at);

    /// <summary>A dispatcher asks for a collection of some of a bin's compartments (one stream). The error names what is wrong.</summary>
    public (CollectionJob? Job, string Status, string? Detail) Request(string binId, IReadOnlyList<string> compartments, string by, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(compartments);
        if (_registry.FindBin(binId) is not { } bin)
        {
            return (null, "not-found", $"no bin '{binId}'");
        }
        if (compartments.Count == 0)
        {
            return (null, "invalid", "compartments: name at least one");
        }
        var chosen = new List<Compartment>();
        foreach (var id in compartments.Distinct(StringComparer.Ordinal))
        {
            if (bin.Compartments.FirstOrDefault(c => c.Id == id) is not { } c)
            {
                return (null, "invalid", $"compartments: bin {binId} has no compartment '{id}' (it has {string.Join(", ", bin.Compartments.Select(x => x.Id))})");
            }
            chosen.Add(c);
        }
        if (chosen.Select(c => c.Stream).Distinct().Count() > 1)
        {
            return (null, "invalid", "compartments: a job empties one stream; these belong to " + string.Join(" and ", chosen.Select(c => c.Stream.Name()).Distinct()));
        }
        var covered = chosen.FirstOrDefault(c => Jobs.Covers(binId, c.Id));
        if (covered is not null)
        {
            return (null, "conflict", $"an open job already covers {binId} {covered.Id}");
        }
        var stream = chosen[0].Stream;
        var full = chosen.Select(c => _outlooks[(binId, c.Id)].FullAt).Where(f => f is not null).Min();
        var deadline = full is { } f && f > at ? f : at + TimeSpan.FromHours(24);
        var job = new CollectionJob($"{binId}:{stream.Name()}:{at.ToUnixTimeMilliseconds()}", binId, [.. chosen.Select(c => c.Id).Order(StringComparer.Ordinal)],
            stream.Name(), JobReasons.Manual, chosen.Any(c => _outlooks[(binId, c.Id)].FillPct >= _rules.OverflowPct) ? "urgent" : "normal",
            full, deadline, JobStates.Requested, null, at, by);
        return Jobs.Add(job) is { } added ? (added, "ok", null) : (null, "conflict", $"job {job.Id} exists already");
    }

    /// <summary>A route plan was made: the open jobs its stops serve become <c>planned</c> with their vehicle (repeats change nothing).</summary>
    public SchedulerOutput Planned(Telemetry.Contracts.Messages.RoutePlanned plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var output = new SchedulerOutput();
        if (_planRevisions.TryGetValue(plan.PlanId, out var known) && known > plan.Revision)
        {
            return output; // an older revision, late: the newer one decided
        }
        _planRevisions[plan.PlanId] = plan.Revision;
        foreach (var route in plan.Routes)
        {
            foreach (var stop in route.Stops)
            {
                if (stop.JobId is { } id && Jobs.Plan(id, route.Vehicle, plan.PlannedAt) is { } planned)
                {
                    output.Jobs.Add(new JobEvent(JobStates.Planned, planned, plan.PlannedAt, "routing"));
                }
            }
        }
        return output;
    }

    /// <summary>A dispatcher completes or cancels a job.</summary>
    public (CollectionJob? Job, string Status) Close(string id, bool completed, DateTimeOffset at)
    {
        if (Jobs.Find(id) is not { } job)
        {
            return (null, "not-found");
        }
        return Jobs.Close(id, completed, at) is { } closed ? (closed, "ok") : (job, "conflict");
    }

    /// <summary>
    /// Takes what the store says was decided (at a start or a takeover): the jobs as stored replace the book, with those one of
    /// whose compartments the signal saw emptied since they were requested completed (returned as events); the alerts as stored win over
    /// what the replay derived (see <see cref="AlertEngine.Adopt"/>). Returns the ids of alerts whose derived state was replaced
    /// (their events are not news).
    /// </summary>
    public (HashSet<string> ReplacedAlerts, SchedulerOutput Output) Restore(
        IReadOnlyList<StoredAlertEvent> alertEvents, IReadOnlyList<StoredJobEvent> jobEvents, IReadOnlyList<CollectionEvent> collections)
    {
        ArgumentNullException.ThrowIfNull(alertEvents);
        ArgumentNullException.ThrowIfNull(jobEvents);
        ArgumentNullException.ThrowIfNull(collections);
        var output = new SchedulerOutput();
        var replaced = new HashSet<string>(StringComparer.Ordinal);
        var escalated = alertEvents.Where(e => e.Type == AlertEvent.Escalated).Select(e => e.AlertId).ToHashSet(StringComparer.Ordinal);
        foreach (var last in alertEvents.GroupBy(e => e.AlertId, StringComparer.Ordinal).Select(g => g.Last()))
        {
            var alert = new Alert(last.AlertId, last.BinId, last.Compartment, last.Kind, last.Severity, last.RaisedAt, last.ClearedAt, last.AcknowledgedAt, last.AcknowledgedBy, escalated.Contains(last.AlertId));
            if (Alerts.Adopt(alert) is { } other)
            {
                replaced.Add(other);
            }
        }
        var book = new JobBook();
        foreach (var last in jobEvents.GroupBy(e => e.JobId, StringComparer.Ordinal).Select(g => g.Last()).OrderBy(e => e.RequestedAt))
        {
            var job = new CollectionJob(last.JobId, last.BinId, last.Compartments, last.Stream, last.Reason, last.Priority, last.PredictedFullAt, last.Deadline,
                last.State, last.Vehicle, last.RequestedAt, last.RequestedBy, last.PlannedAt, last.CompletedAt, last.CancelledAt);
            book.Restore(job);
        }
        foreach (var c in collections.OrderBy(c => c.Time))
        {
            if (_outlooks.TryGetValue((c.BinId, c.Compartment), out var emptied) && !(emptied.HoldsSince > c.Time))
            {
                emptied.HoldsSince = c.Time;
            }
            if (book.OpenFor(c.BinId, c.Compartment) is { } open && c.Time > open.RequestedAt && book.Emptied(c.BinId, c.Compartment, c.Time) is { } done)
            {
                output.Jobs.Add(new JobEvent(JobStates.Completed, done, c.Time, "scheduler"));
                HoldsFrom(done, c.Time);
            }
        }
        Jobs = book;
        return (replaced, output);
    }

    /// <summary>
    /// A job's compartment emptied at a low level: the fill signal names an emptying only for a fall of 30 points or more, so a
    /// compartment collected at 25 % (kitchen waste on its daily round, a slow material taken along) would keep its job open
    /// for ever. For a compartment a job waits for, a fall of the cleaned level from its highest in the readings since the job
    /// was requested, at least <see cref="JobEmptiedLevelPct"/> + <see cref="JobEmptiedFallPct"/> (20 %), to
    /// <see cref="JobEmptiedLevelPct"/> or less is its emptying. Levels from before the request do not count: a job raised just
    /// after an emptying the weight showed, while the cleaned level still held the old reading, is not emptied again when the
    /// level follows.
    /// </summary>
    private CollectionJob? JobEmptied(string bin, string compartment, DateTimeOffset at, Outlook outlook, double cleaned) =>
        Jobs.OpenFor(bin, compartment) is { } open && at > open.RequestedAt && cleaned <= JobEmptiedLevelPct
        && outlook.PeakSinceJob is { } peak && peak >= JobEmptiedLevelPct + JobEmptiedFallPct && peak - cleaned >= JobEmptiedFallPct
            ? Jobs.Emptied(bin, compartment, at)
            : null;

    /// <summary>The signal names an emptying of the compartment in this batch: that one completes its job, at its own time.</summary>
    private static bool EmptiedInBatch(FillSignalBatch batch, string bin, string compartment)
    {
        foreach (var c in batch.Collections)
        {
            if (c.Compartment == compartment && c.BinId == bin)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>A completed job's compartments hold waste from <paramref name="at"/> (one stop emptied them together).</summary>
    private void HoldsFrom(CollectionJob job, DateTimeOffset at)
    {
        foreach (var c in job.Compartments)
        {
            if (_outlooks.TryGetValue((job.Bin, c), out var o))
            {
                o.PeakSinceJob = null; // the next job's emptying is seen in the readings after it
                if (!(o.HoldsSince > at))
                {
                    o.HoldsSince = at;
                }
            }
        }
    }

    /// <summary>The level (%) a job's compartment falls to when emptied (sensor noise included).</summary>
    private const double JobEmptiedLevelPct = 10;

    /// <summary>The least fall (points) of a job's compartment that counts as its emptying.</summary>
    private const double JobEmptiedFallPct = 10;

    private sealed class Outlook(WasteStream stream)
    {
        public WasteStream Stream { get; } = stream;
        public double? FillPct { get; set; }
        public DateTimeOffset? ThresholdAt { get; set; }
        public DateTimeOffset? FullAt { get; set; }

        /// <summary>Its last emptying seen, else its first reading.</summary>
        public DateTimeOffset? HoldsSince { get; set; }

        /// <summary>Its highest cleaned level while an open job covers it (null when none does).</summary>
        public double? PeakSinceJob { get; set; }
    }
}
