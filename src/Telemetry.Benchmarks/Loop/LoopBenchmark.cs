using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Telemetry.Contracts.Configuration;
using Telemetry.Fleet;
using Telemetry.Routing;
using Telemetry.Routing.Planning;
using Telemetry.Routing.Travel;

namespace Telemetry.Benchmarks.Loop;

/// <summary>Options of <c>telemetry bench loop</c>.</summary>
/// <param name="Days">Simulated days measured.</param>
/// <param name="Seed">Seed of the simulated fleet (deposits, sensors, faults).</param>
/// <param name="WarmupDays">Days both runs spend first, unmeasured, the simulator emptying compartments itself (the fill signal learns).</param>
internal sealed record LoopBenchOptions(int Days, int Seed, int WarmupDays = LoopBenchSetup.WarmupDays);

/// <summary>
/// <c>telemetry bench loop</c> (CONTRACT §5): the closed loop against the fixed-schedule baseline over the same simulated days,
/// both runs at once on their own threads; a line per simulated day and run, a summary, and the JSON last.
/// </summary>
internal sealed class LoopBenchmark(LoopSettings settings, Func<IShiftPlanner> planners, string plannerName, TextWriter output)
{
    public async Task<(LoopFigures Loop, LoopFigures Baseline)> RunAsync(CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var local = TimeZoneInfo.ConvertTime(settings.Start, settings.Registry.TimeZone);
        output.WriteLine(Invariant($"bench loop: {settings.Days} simulated days of {settings.Registry.District} ({settings.Registry.Bins.Count} bins, {settings.Registry.Vehicles.Count} vehicles) from {local:yyyy-MM-dd ddd HH:mm} local, after {settings.WarmupDays} days of warm-up; seed {settings.Seed}; planner {plannerName}, {settings.Routing.SolverTime.TotalSeconds:0.###} s per plan, lead time {settings.Routing.LeadTime}; {Environment.ProcessorCount} cores"));
        var gate = new object();
        void Progress(string line)
        {
            lock (gate)
            {
                output.WriteLine(line);
            }
        }
        var loop = Task.Run(() => new LoopRun(settings, LoopMode.Loop, planners(), Progress).RunAsync(ct), ct);
        var baseline = Task.Run(() => new LoopRun(settings, LoopMode.Baseline, planners(), Progress).RunAsync(ct), ct);
        var figures = await Task.WhenAll(loop, baseline);
        var (l, b) = (figures[0], figures[1]);
        output.WriteLine(Invariant($"loop:     {l.TruckKm:0.0} km ({Streams(l.KmByStream)}), {l.Trips} trips, {l.Stops} stops, overflow {l.OverflowHours:0.0} compartment-hours, fill at collection {l.FillAtCollectionPct:0.0} % over {l.Collected} compartments a job named ({Fills(l)}); {l.Alongside} emptied alongside at {l.AlongsideFillPct:0.0} %; deposits refused {l.RefusedDeposits} of {l.Deposits}"));
        output.WriteLine(Invariant($"          jobs {l.JobsRaised} raised ({string.Join(", ", l.JobsByReason.OrderBy(x => x.Key, StringComparer.Ordinal).Select(x => $"{x.Key} {x.Value}"))}), {l.JobsCompleted} completed; {l.Plans} plans ({l.Replans} re-plans), {l.Unserved} jobs left unserved by a plan; solver {l.SolverTime.TotalSeconds:0} s ({Statuses(l)})"));
        output.WriteLine(Invariant($"baseline: {b.TruckKm:0.0} km ({Streams(b.KmByStream)}), {b.Trips} trips, {b.Stops} stops, overflow {b.OverflowHours:0.0} compartment-hours, fill at collection {b.FillAtCollectionPct:0.0} % over {b.Collected} compartments ({Fills(b)}); deposits refused {b.RefusedDeposits} of {b.Deposits}; {b.Plans} plans, {b.Unserved} bins left unserved by a plan; solver {b.SolverTime.TotalSeconds:0} s ({Statuses(b)})"));
        output.WriteLine(Invariant($"by stream, loop (baseline): plans {Pairs(l.PlansByStream, b.PlansByStream)}; overflow hours {Pairs(l.OverflowByStream, b.OverflowByStream)}; loop shifts not driven while jobs waited {Streams(l.WaitedByStream)}"));
        output.WriteLine(Invariant($"goals: truckKm {Ratio(l.TruckKm, b.TruckKm)} of the baseline's (goal <= 1, stretch 0.6); overflowHours {Ratio(l.OverflowHours, b.OverflowHours)} of the baseline's (goal <= 0.1); fillAtCollectionPct {l.FillAtCollectionPct:0.0} (goal >= 70); {clock.Elapsed.TotalSeconds:0} s"));
        var json = new Dictionary<string, object>
        {
            ["bench"] = "loop",
            ["days"] = settings.Days,
            ["truckKm"] = Math.Round(l.TruckKm, 1),
            ["baselineTruckKm"] = Math.Round(b.TruckKm, 1),
            ["trips"] = l.Trips,
            ["baselineTrips"] = b.Trips,
            ["overflowHours"] = Math.Round(l.OverflowHours, 1),
            ["baselineOverflowHours"] = Math.Round(b.OverflowHours, 1),
            ["fillAtCollectionPct"] = Math.Round(l.FillAtCollectionPct, 1),
            ["baselineFillAtCollectionPct"] = Math.Round(b.FillAtCollectionPct, 1),
            ["jobsRaised"] = l.JobsRaised,
            ["jobsCompleted"] = l.JobsCompleted,
            ["seed"] = settings.Seed,
            ["solverSeconds"] = settings.Routing.SolverTime.TotalSeconds,
            ["refusedDeposits"] = l.RefusedDeposits,
            ["baselineRefusedDeposits"] = b.RefusedDeposits,
            ["alongsideFillPct"] = Math.Round(l.AlongsideFillPct, 1),
            ["elapsedSeconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1),
        };
        output.WriteLine(JsonSerializer.Serialize(json));
        return (l, b);
    }

    private static string Streams<T>(Dictionary<WasteStream, T> byStream) where T : IFormattable =>
        string.Join(", ", byStream.Select(x => $"{x.Key.Name()} {x.Value.ToString("0.#", CultureInfo.InvariantCulture)}"));

    private static string Pairs<T>(Dictionary<WasteStream, T> loop, Dictionary<WasteStream, T> baseline) where T : IFormattable =>
        string.Join(", ", WasteStreams.All.Select(s => $"{s.Name()} {loop[s].ToString("0.#", CultureInfo.InvariantCulture)} ({baseline[s].ToString("0.#", CultureInfo.InvariantCulture)})"));

    private static string Fills(LoopFigures f) => string.Join(", ", WasteStreams.All.Select(s =>
        Invariant($"{s.Name()} {f.CollectedByStream[s]} at {(f.CollectedByStream[s] == 0 ? 0 : f.CollectedFillByStream[s] / f.CollectedByStream[s]):0.0} %")));

    private static string Statuses(LoopFigures f) =>
        string.Join(", ", f.PlansByStatus.OrderBy(x => x.Key, StringComparer.Ordinal).Select(x => $"{x.Value} {x.Key}"));

    private static string Ratio(double a, double b) => b > 0 ? (a / b).ToString("0.000", CultureInfo.InvariantCulture) : "n/a";

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The settings of <c>bench loop</c> from the configuration (the scheduler's and the router's own keys) and its options.</summary>
internal static class LoopBenchSetup
{
    /// <summary>Monday 2026-11-02 00:00 in Jiyang (UTC+8): the measured days start on a Monday, when every fixed round runs.</summary>
    public static readonly DateTimeOffset DefaultStart = new(2026, 11, 1, 16, 0, 0, TimeSpan.Zero);

    public const int WarmupDays = 7;

    /// <summary>
    /// The solutions after which a plan's search stops in the benchmark unless <c>Routing:Planner:SolutionLimit</c> says
    /// otherwise: a limit that does not depend on the machine's speed or load, so the same seed gives the same plans.
    /// </summary>
    public const long DefaultSolutionLimit = 50;

    public static LoopSettings Settings(IConfiguration config, LoopBenchOptions options, TimeSpan solverTime)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        var registry = BenchSettings.LoadRegistry(config);
        var scheduling = BenchSettings.Scheduling(config);
        var alerts = BenchSettings.Alerts(config, scheduling);
        var routing = BenchSettings.Routing(config);
        var local = TimeZoneInfo.ConvertTime(DefaultStart, registry.TimeZone);
        // The first Monday 00:00 local on or after the default start, in the registry's own zone.
        var monday = local.Date.AddDays(((int)DayOfWeek.Monday - (int)local.DayOfWeek + 7) % 7);
        var start = new DateTimeOffset(monday, registry.TimeZone.GetUtcOffset(monday));
        var travel = Travel(config);
        var km = travel is GreatCircleTravel gc ? (Func<GeoPoint, GeoPoint, double>)((a, b) => gc.Metres(a, b) / 1000) : (a, b) => new GreatCircleTravel().Metres(a, b) / 1000;
        return new LoopSettings(registry, options.Seed, start, options.Days, options.WarmupDays, alerts.ToRules(scheduling.ThresholdPct), scheduling.MaxDwellByStream(),
            scheduling.PredictedFromPct, scheduling.CollectAheadByStream(), scheduling.TickInterval, new RoutingPolicy(routing.LeadTime, solverTime, routing.WaitOverflowHours), km);
    }

    /// <summary>The configured travel costs (<c>Routing:Travel</c>; great-circle x road factor by default).</summary>
    public static ITravelCostProvider Travel(IConfiguration config)
    {
        var options = new TravelOptions();
        config.GetSection(TravelOptions.Section).Bind(options);
        if (options.Validate() is { Count: > 0 } errors)
        {
            var first = errors[0];
            var colon = first.IndexOf(": ", StringComparison.Ordinal);
            throw new ConfigurationException(first[..colon], first[(colon + 2)..]);
        }
        return TravelCostProviders.Create(options, () => new HttpClient());
    }

    /// <summary>The OR-Tools planner with the <c>Routing:Planner</c> settings (and the benchmark's solution limit unless configured).</summary>
    public static Func<IShiftPlanner> Planner(IConfiguration config, FleetRegistry registry)
    {
        var options = new ShiftPlannerOptions { SolutionLimit = DefaultSolutionLimit };
        config.GetSection(ShiftPlannerOptions.Section).Bind(options);
        if (options.Validate() is { Count: > 0 } errors)
        {
            var first = errors[0];
            var colon = first.IndexOf(": ", StringComparison.Ordinal);
            throw new ConfigurationException(first[..colon], first[(colon + 2)..]);
        }
        var travel = Travel(config);
        return () => new OrToolsShiftPlanner(registry, travel, TimeProvider.System, options);
    }
}
