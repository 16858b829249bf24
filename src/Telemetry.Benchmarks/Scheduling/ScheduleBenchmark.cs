using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Telemetry.Contracts.Readings;
using Telemetry.Fleet;
using Telemetry.Fleet.Signal;
using Telemetry.Scheduling;
using Telemetry.Scheduling.Alerts;
using Telemetry.Scheduling.Signal;

namespace Telemetry.Benchmarks.Scheduling;

/// <summary>Options of <c>telemetry bench schedule</c>.</summary>
/// <param name="Compartments">Compartments of the synthesized fleet.</param>
/// <param name="Ticks">Measured ticks, one simulated minute apart (after a warm-up tick).</param>
/// <param name="Seed">Seed of the synthesized levels, rates and device states.</param>
internal sealed record ScheduleBenchOptions(int Compartments, int Ticks, int Seed);

/// <summary>
/// <c>telemetry bench schedule</c> (CONTRACT §5): the time of one <see cref="SchedulerCore.Tick"/> (every compartment's
/// prediction against the time, the rules time alone decides, the job planner) over a synthesized fleet held in memory.
/// The fleet is the registry grown by <see cref="FleetSynthesizer"/> to the bins that hold the compartments asked for (the
/// last bin cut short), in a state a live scheduler has: every bin reported three times ten minutes apart (fill with the
/// cleaned level and a prediction, status; device faults also 12 hours before, half of their alerts acknowledged 4 hours
/// before), some compartments at the threshold or overflowing, some predicted to reach it
/// within the next shifts, most fine; some bins on low battery, tilted, with the door open, hot, or silent. Between the
/// measured ticks a tenth of the bins report again (a ten-minute reporting interval; not timed), so levels rise and
/// predictions move as in service; the ticks run one simulated minute apart across the recyclables' 07:00 shift start,
/// where the planner's horizon moves by a shift. Every tick is timed alone; the JSON gives the median and the maximum.
/// </summary>
internal sealed class ScheduleBenchmark(FleetRegistry template, AlertOptions rules, ScheduleBenchOptions options, TextWriter output)
{
    public const double GoalTickMs = 1000;

    // Monday 2026-11-02, 06:55 in the registry's zone (Asia/Shanghai, UTC+8): the ticks cross the 07:00 start of the recyclables' shift.
    private static readonly DateTimeOffset Start = new(2026, 11, 1, 22, 55, 0, TimeSpan.Zero);
    private static readonly TimeSpan ReportEvery = TimeSpan.FromMinutes(10);

    private readonly Dictionary<string, object> _result = new(StringComparer.Ordinal);

    public int Run()
    {
        var clock = Stopwatch.StartNew();
        output.WriteLine(Invariant($"bench schedule: {options.Compartments:N0} compartments, {options.Ticks} measured ticks one simulated minute apart after a warm-up tick; seed {options.Seed}; {Environment.ProcessorCount} cores, load average {LoadAverage():N2}"));
        var fleet = Synthesize(template, options.Compartments, rules.ThresholdPct, options.Seed);
        var registry = fleet.Registry;
        output.WriteLine(Invariant($"fleet: {registry.Bins.Count:N0} bins ({template.District}, grown from {template.Bins.Count} by the fleet synthesizer), {fleet.Compartments.Length:N0} compartments; built in {clock.Elapsed.TotalSeconds:0.0} s"));

        var core = new SchedulerCore(registry, rules);
        if (core.Compartments != options.Compartments)
        {
            throw new InvalidOperationException(Invariant($"the scheduler follows {core.Compartments:N0} compartments, not {options.Compartments:N0}"));
        }

        // Bins with something wrong said so a little over 12 hours ago (their alerts escalate during the ticks), and half of
        // those alerts were acknowledged a little under 4 hours ago (they fire again during the ticks).
        var setup = Stopwatch.StartNew();
        var observed = new Counts();
        var early = fleet.DeviceRound(Start - rules.EscalateAfter + TimeSpan.FromMinutes(3));
        observed.Add(early, core.Observe(early));
        var acknowledged = 0;
        foreach (var alert in core.Alerts.Active.ToList())
        {
            if (acknowledged++ % 2 == 0)
            {
                core.Acknowledge(alert.Id, "bench", Start - rules.RefireAfter + TimeSpan.FromMinutes(1 + (acknowledged % 10)));
            }
        }
        // History: every bin reports three times, ten minutes apart (the silent ones 20 to 30 minutes earlier), so the rules that
        // need two consecutive readings have them and each bin's reporting interval is learned.
        for (var round = 2; round >= 0; round--)
        {
            var batch = fleet.Round(Start - (round * ReportEvery), slice: -1);
            observed.Add(batch, core.Observe(batch));
        }
        var fillAlerts = core.Alerts.Active.Count(a => a.Kind == AlertKinds.Fill);
        if (fillAlerts != fleet.ExpectedFillAlerts)
        {
            throw new InvalidOperationException(Invariant($"the readings fed raised {fillAlerts:N0} fill alerts where {fleet.ExpectedFillAlerts:N0} compartments are at the threshold: the state is not what the benchmark claims"));
        }
        output.WriteLine(Invariant($"state: {observed.Readings:N0} readings observed in {setup.Elapsed.TotalSeconds:0.0} s; {observed.Alerts:N0} alert events; active alerts {core.Alerts.Active.Count:N0} ({Kinds(core)})"));

        var before = Snapshot();
        var warm = Stopwatch.GetTimestamp();
        var first = core.Tick(Start, plan: true);
        var firstMs = Stopwatch.GetElapsedTime(warm).TotalMilliseconds;
        var firstCost = Snapshot().Since(before);
        output.WriteLine(Invariant($"warm-up tick at {Local(registry, Start)}: {firstMs:N1} ms, {first.Alerts.Count:N0} alert events ({Types(first)}), {first.Jobs.Count:N0} jobs requested ({Reasons(first)}); {firstCost}"));

        var ticks = new double[options.Ticks];
        var alertEvents = 0L;
        var jobs = 0L;
        var cost = new Cost();
        for (var k = 1; k <= options.Ticks; k++)
        {
            var now = Start + TimeSpan.FromMinutes(k);
            // Not timed: what the signal hands the scheduler between two ticks (a tenth of the bins report each minute).
            core.Observe(fleet.Round(now - TimeSpan.FromSeconds(20), slice: k % 10));
            var at = Snapshot();
            var t = Stopwatch.GetTimestamp();
            var decided = core.Tick(now, plan: true);
            ticks[k - 1] = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
            var spent = Snapshot().Since(at);
            cost.Add(spent);
            alertEvents += decided.Alerts.Count;
            jobs += decided.Jobs.Count;
            output.WriteLine(Invariant($"  tick {k,2} at {Local(registry, now)}: {ticks[k - 1],8:N1} ms, {decided.Alerts.Count,6:N0} alert events ({Types(decided)}), {decided.Jobs.Count,6:N0} jobs; {spent}"));
        }
        if (alertEvents + jobs == 0)
        {
            throw new InvalidOperationException("the measured ticks decided nothing: the state does not exercise the rules and the planner");
        }
        var sorted = ticks.Order().ToArray();
        var median = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
        var peak = PeakRssMb();

        _result["bins"] = registry.Bins.Count;
        _result["ticks"] = options.Ticks;
        _result["maxTickMs"] = Math.Round(sorted[^1], 1);
        _result["minTickMs"] = Math.Round(sorted[0], 1);
        _result["alertEvents"] = alertEvents;
        _result["jobs"] = jobs;
        _result["firstTickMs"] = Math.Round(firstMs, 1);
        _result["firstTickAlertEvents"] = (long)first.Alerts.Count;
        _result["firstTickJobs"] = (long)first.Jobs.Count;
        _result["activeAlerts"] = (long)core.Alerts.Active.Count;
        _result["openJobs"] = (long)core.Jobs.Open.Count();
        _result["allocatedMbPerTick"] = Math.Round(cost.AllocatedBytes / 1024.0 / 1024 / options.Ticks, 1);
        _result["gcPauseMsPerTick"] = Math.Round(cost.GcPause.TotalMilliseconds / options.Ticks, 1);
        _result["peakRssMb"] = Math.Round(peak, 1);
        _result["seed"] = options.Seed;
        _result["elapsedSec"] = Math.Round(clock.Elapsed.TotalSeconds, 1);

        output.WriteLine();
        output.WriteLine(Invariant($"Summary: one scheduler tick over {options.Compartments:N0} compartments ({registry.Bins.Count:N0} bins) in memory: median {median:N1} ms, max {sorted[^1]:N1} ms, min {sorted[0]:N1} ms over {options.Ticks} ticks (warm-up tick {firstMs:N1} ms, not counted)"));
        output.WriteLine(Invariant($"  decided in the measured ticks: {alertEvents:N0} alert events, {jobs:N0} jobs; in the warm-up tick: {first.Alerts.Count:N0} alert events, {first.Jobs.Count:N0} jobs; now {core.Alerts.Active.Count:N0} alerts active, {(long)_result["openJobs"]:N0} jobs open"));
        output.WriteLine(Invariant($"  per measured tick: {(double)_result["allocatedMbPerTick"]:N1} MB allocated, {(double)_result["gcPauseMsPerTick"]:N1} ms paused in garbage collections; peak resident memory (VmHWM) {peak:N0} MB"));
        output.WriteLine(Invariant($"  goal median tick < {GoalTickMs:0} ms: {(median < GoalTickMs ? "met" : "NOT met")}"));
        output.WriteLine(Json(median));
        return 0;
    }

    /// <summary>The registry grown to the bins that hold <paramref name="compartments"/> compartments, and each compartment's synthesized course.</summary>
    internal static SyntheticFleet Synthesize(FleetRegistry template, int compartments, double thresholdPct, int seed)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentOutOfRangeException.ThrowIfLessThan(compartments, 1);
        var perBin = (double)template.AllCompartments().Count() / template.Bins.Count;
        var grown = FleetSynthesizer.Resize(template, Math.Max(1, (int)Math.Ceiling(compartments / perBin)));
        var bins = new List<Bin>(grown.Bins.Count);
        var left = compartments;
        foreach (var bin in grown.Bins)
        {
            if (left <= 0)
            {
                break;
            }
            // Cut the last bin short (a new record, so its compartment lookup agrees with its list).
            bins.Add(bin.Compartments.Count <= left ? bin : new Bin(bin.Id, bin.Community, bin.Location, bin.Address, [.. bin.Compartments.Take(left)]));
            left -= bins[^1].Compartments.Count;
        }
        while (left > 0)
        {
            // The estimate fell short (a registry whose bins differ in size): grow once more.
            var more = FleetSynthesizer.Resize(template, grown.Bins.Count + (int)Math.Ceiling(left / perBin) + 1);
            foreach (var bin in more.Bins.Skip(bins.Count))
            {
                if (left <= 0)
                {
                    break;
                }
                bins.Add(bin.Compartments.Count <= left ? bin : new Bin(bin.Id, bin.Community, bin.Location, bin.Address, [.. bin.Compartments.Take(left)]));
                left -= bins[^1].Compartments.Count;
            }
            grown = more;
        }
        var registry = new FleetRegistry(template.District, template.City, template.TimeZone, template.Bounds, template.Communities, template.Facilities, bins, template.Vehicles);
        return new SyntheticFleet(registry, Start, ReportEvery, thresholdPct, seed);
    }

    private static string Kinds(SchedulerCore core) =>
        string.Join(", ", core.Alerts.Active.GroupBy(a => a.Kind).OrderByDescending(g => g.Count()).Select(g => Invariant($"{g.Key} {g.Count():N0}")));

    private static string Types(SchedulerOutput o) =>
        o.Alerts.Count == 0 ? "none" : string.Join(", ", o.Alerts.GroupBy(a => a.Type + " " + a.Alert.Kind).OrderByDescending(g => g.Count()).Take(3).Select(g => Invariant($"{g.Key} {g.Count():N0}")));

    private static string Reasons(SchedulerOutput o) =>
        o.Jobs.Count == 0 ? "none" : string.Join(", ", o.Jobs.GroupBy(j => j.Job.Reason + "/" + j.Job.Priority).OrderByDescending(g => g.Count()).Select(g => Invariant($"{g.Key} {g.Count():N0}")));

    private static string Local(FleetRegistry registry, DateTimeOffset at) =>
        TimeZoneInfo.ConvertTime(at, registry.TimeZone).ToString("ddd HH:mm", CultureInfo.InvariantCulture) + " local";

    private string Json(double median)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("bench", "schedule");
            w.WriteNumber("compartments", options.Compartments);
            w.WriteNumber("tickMs", Math.Round(median, 1));
            foreach (var (key, v) in _result)
            {
                switch (v)
                {
                    case long l: w.WriteNumber(key, l); break;
                    case int i: w.WriteNumber(key, i); break;
                    case double d when double.IsFinite(d): w.WriteNumber(key, d); break;
                    default: w.WriteNull(key); break;
                }
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static Cost Snapshot() => new() { AllocatedBytes = GC.GetTotalAllocatedBytes(precise: false), GcPause = GC.GetTotalPauseDuration() };

    private static double PeakRssMb()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            // Not on Linux: no figure.
        }
        return double.NaN;
    }

    private static double LoadAverage()
    {
        try
        {
            return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return double.NaN;
        }
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private sealed class Counts
    {
        public long Readings { get; private set; }

        public long Alerts { get; private set; }

        public void Add(FillSignalBatch batch, SchedulerOutput o)
        {
            Readings += batch.Observations.Count;
            Alerts += o.Alerts.Count;
        }
    }

    private sealed class Cost
    {
        public long AllocatedBytes { get; set; }

        public TimeSpan GcPause { get; set; }

        public Cost Since(Cost before) => new() { AllocatedBytes = AllocatedBytes - before.AllocatedBytes, GcPause = GcPause - before.GcPause };

        public void Add(Cost c)
        {
            AllocatedBytes += c.AllocatedBytes;
            GcPause += c.GcPause;
        }

        public override string ToString() => Invariant($"{AllocatedBytes / 1024.0 / 1024:N1} MB allocated, {GcPause.TotalMilliseconds:N1} ms GC pause");
    }
}
