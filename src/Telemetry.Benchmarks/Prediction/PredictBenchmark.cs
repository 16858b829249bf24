using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Telemetry.Fleet;
using Telemetry.Fleet.Signal;

namespace Telemetry.Benchmarks.Prediction;

/// <summary>Where <c>bench predict</c> takes its series from.</summary>
public enum SeriesSource
{
    /// <summary>The project's simulator, with a seed the predictor was not tuned on.</summary>
    Simulator,

    /// <summary>The second generator (<see cref="OtherCitySeries"/>): rhythms, noise and emptying rules unlike the simulator's.</summary>
    Other,
}

public sealed record PredictBenchOptions(string? SeriesFile, SeriesSource Generator, int Seed, int Days, int Count, double ThresholdPct, string? WriteSeries);

/// <summary>
/// <c>telemetry bench predict</c> (CONTRACT §5): the predictor and the two baselines scored on the same points of series the
/// predictor did not learn from: by default the simulator's 55 Jiyang bins (every compartment) over 42 days from seed 20261203
/// (the predictor was tuned on seed 7); or the second generator; or the CSV given with <c>--series</c>.
/// </summary>
public sealed class PredictBenchmark(FleetRegistry registry, PredictBenchOptions options, TextWriter output)
{
    public static readonly DateTimeOffset Start = new(2026, 9, 7, 0, 0, 0, TimeSpan.Zero); // a Monday

    public int Run()
    {
        var clock = Stopwatch.StartNew();
        IReadOnlyList<FillSeries> series;
        string what;
        if (options.SeriesFile is { } file)
        {
            series = SeriesCsv.Read(file);
            what = $"the series of {file}";
        }
        else if (options.Generator == SeriesSource.Other)
        {
            series = OtherCitySeries.Generate(options.Seed, options.Count, Start, options.Days);
            what = $"the second generator: {options.Count} series over {options.Days} days, seed {options.Seed}";
        }
        else
        {
            series = SimulatedSeries.Generate(registry, options.Seed, Start, options.Days);
            what = $"the simulator: {registry.Bins.Count} bins, every compartment, over {options.Days} days from {Start:yyyy-MM-dd}, seed {options.Seed}";
        }
        var readings = series.Sum(s => (long)s.Readings.Count);
        output.WriteLine($"bench predict: {series.Count} series, {readings:N0} readings from {what} (made in {clock.Elapsed.TotalSeconds:0.0} s)");
        if (options.WriteSeries is { } target)
        {
            SeriesCsv.Write(target, series);
            output.WriteLine($"bench predict: wrote them to {target}");
        }

        var prediction = new PredictionOptions { ThresholdPct = options.ThresholdPct };
        var cap = prediction.Horizon.TotalHours;
        IScoredPredictor[] predictors =
        [
            new SignalPredictor(series, registry, new CleaningOptions(), prediction),
            new NaiveBaseline(series, options.ThresholdPct, cap),
            new TrendBaseline(series, options.ThresholdPct, cap),
        ];
        var lastShown = Stopwatch.StartNew();
        var scores = PredictionScoring.Score(series, options.ThresholdPct, cap, predictors, p =>
        {
            if (lastShown.Elapsed > TimeSpan.FromSeconds(5))
            {
                output.WriteLine($"bench predict: scoring {p:P0}");
                lastShown.Restart();
            }
        });
        var ours = scores.Predictors[0];
        var naive = scores.Predictors[1];
        var trend = scores.Predictors[2];
        output.WriteLine($"bench predict: {scores.Points:N0} points (threshold {options.ThresholdPct:0.#} %, predictions capped at {cap:0} h), scored in {clock.Elapsed.TotalSeconds:0.0} s");
        output.WriteLine($"  {"predictor",-28} {"MAE h",8}");
        foreach (var p in scores.Predictors)
        {
            output.WriteLine($"  {p.Name,-28} {p.MaeHours,8:0.00}{(p.BandCoveragePct is { } b ? $"   80 % band holds the truth at {b:0.0} % of points" : "")}");
        }
        output.WriteLine("  by true time to the threshold (MAE h: ours / naive / trend):");
        foreach (var (horizon, points, mae, covered) in scores.ByHorizon)
        {
            output.WriteLine($"    {horizon,-10} {points,9:N0} points   {mae[0],7:0.00} / {mae[1],7:0.00} / {mae[2],7:0.00}   band {covered[0],5:0.0} %");
        }
        var ratio = ours.MaeHours / naive.MaeHours;
        var trendRatio = ours.MaeHours / trend.MaeHours;
        var coverage = ours.BandCoveragePct ?? double.NaN;
        var met = ratio <= 0.25 && trendRatio <= 0.5 && coverage is >= 70 and <= 90;
        output.WriteLine($"  goals: MAE ≤ 0.25 × naive ({ratio:0.000}), ≤ 0.5 × trend ({trendRatio:0.000}), band coverage 70–90 % ({coverage:0.0}): {(met ? "met" : "NOT met")}");
        var json = new Dictionary<string, object?>
        {
            ["bench"] = "predict",
            ["series"] = scores.Series,
            ["points"] = scores.Points,
            ["maeHours"] = Round(ours.MaeHours),
            ["baselineMaeHours"] = Round(naive.MaeHours),
            ["trendBaselineMaeHours"] = Round(trend.MaeHours),
            ["ratio"] = Round(ratio),
            ["trendRatio"] = Round(trendRatio),
            ["bandCoveragePct"] = Round(coverage),
            ["thresholdPct"] = options.ThresholdPct,
            ["source"] = options.SeriesFile is not null ? "file" : options.Generator == SeriesSource.Other ? "other" : "simulator",
            ["seed"] = options.SeriesFile is null ? options.Seed : null,
            ["days"] = options.SeriesFile is null ? options.Days : null,
        };
        output.WriteLine(JsonSerializer.Serialize(json));
        return 0;
    }

    private static double? Round(double v) => double.IsFinite(v) ? Math.Round(v, 4) : null;
}
