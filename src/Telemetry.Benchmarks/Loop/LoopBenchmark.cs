using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Telemetry.Fleet;
using Telemetry.Routing.Planning;

namespace Telemetry.Benchmarks.Loop;

/// <summary>Options of <c>telemetry bench loop</c>.</summary>
/// <param name="Days">Simulated days measured.</param>
/// <param name="Seed">Seed of the simulated fleet (deposits, sensors, faults).</param>
internal sealed record LoopBenchOptions(int Days, int Seed);

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
        output.WriteLine(Invariant($"loop:     {l.TruckKm:0.0} km ({Streams(l.KmByStream)}), {l.Trips} trips, {l.Stops} stops, overflow {l.OverflowHours:0.0} compartment-hours, fill at collection {l.FillAtCollectionPct:0.0} % over {l.Collected} compartments a job named ({Streams(l.CollectedByStream)}); {l.Alongside} emptied alongside at {l.AlongsideFillPct:0.0} %; deposits refused {l.RefusedDeposits} of {l.Deposits}"));
        output.WriteLine(Invariant($"          jobs {l.JobsRaised} raised ({string.Join(", ", l.JobsByReason.OrderBy(x => x.Key, StringComparer.Ordinal).Select(x => $"{x.Key} {x.Value}"))}), {l.JobsCompleted} completed; {l.Plans} plans ({l.Replans} re-plans), {l.Unserved} jobs left unserved by a plan; solver {l.SolverTime.TotalSeconds:0} s"));
        output.WriteLine(Invariant($"baseline: {b.TruckKm:0.0} km ({Streams(b.KmByStream)}), {b.Trips} trips, {b.Stops} stops, overflow {b.OverflowHours:0.0} compartment-hours, fill at collection {b.FillAtCollectionPct:0.0} % over {b.Collected} compartments; deposits refused {b.RefusedDeposits} of {b.Deposits}; {b.Plans} plans, {b.Unserved} bins left unserved by a plan; solver {b.SolverTime.TotalSeconds:0} s"));
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

    private static string Ratio(double a, double b) => b > 0 ? (a / b).ToString("0.000", CultureInfo.InvariantCulture) : "n/a";

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The settings of <c>bench loop</c> from the configuration (the scheduler's and the router's own keys) and its options.</summary>
internal static class LoopBenchSetup
{
    /// <summary>Monday 2026-11-02 00:00 in Jiyang (UTC+8): the measured days start on a Monday, when every fixed round runs.</summary>
    public static readonly DateTimeOffset DefaultStart = new(2026, 11, 1, 16, 0, 0, TimeSpan.Zero);

    public const int WarmupDays = 7;

    public static LoopSettings Settings(Microsoft.Extensions.Configuration.IConfiguration config, LoopBenchOptions options, TimeSpan solverTime, TimeSpan leadTime)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        var registry = BenchSettings.LoadRegistry(config);
        var scheduling = BenchSettings.Scheduling(config);
        var alerts = BenchSettings.Alerts(config, scheduling);
        var local = TimeZoneInfo.ConvertTime(DefaultStart, registry.TimeZone);
        // The first Monday 00:00 local on or after the default start, in the registry's own zone.
        var monday = local.Date.AddDays(((int)DayOfWeek.Monday - (int)local.DayOfWeek + 7) % 7);
        var start = new DateTimeOffset(monday, registry.TimeZone.GetUtcOffset(monday));
        return new LoopSettings(registry, options.Seed, start, options.Days, WarmupDays, alerts.ToRules(scheduling.ThresholdPct), scheduling.MaxDwellByStream(),
            scheduling.TickInterval, new Telemetry.Routing.RoutingPolicy(leadTime, solverTime), GreatCircle.RoadKm);
    }
}

/// <summary>Great-circle distance times the default road factor (the travel-cost provider's default), km.</summary>
internal static class GreatCircle
{
    public const double RoadFactor = 1.3;

    public static double RoadKm(GeoPoint a, GeoPoint b)
    {
        var lat1 = a.Latitude * Math.PI / 180;
        var lat2 = b.Latitude * Math.PI / 180;
        var dLat = lat2 - lat1;
        var dLon = (b.Longitude - a.Longitude) * Math.PI / 180;
        var h = (Math.Sin(dLat / 2) * Math.Sin(dLat / 2)) + (Math.Cos(lat1) * Math.Cos(lat2) * Math.Sin(dLon / 2) * Math.Sin(dLon / 2));
        return 2 * 6371.0088 * Math.Asin(Math.Min(1, Math.Sqrt(h))) * RoadFactor;
    }
}
