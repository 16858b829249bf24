using Telemetry.Benchmarks.Prediction;
using Telemetry.Contracts.Configuration;

namespace Telemetry.UnitTests.Signal;

public class PredictionScoringTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 2, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// Hourly readings. h3 is a single false echo (85, not confirmed by h4): not a crossing, but the fall 85 → 40 is 45 points,
    /// an emptying by the contract's rule, so h0–h2 reach nothing. The crossing is h6 (80, confirmed by 82 at h7). h8 is an
    /// emptying, and nothing is reached after it. Points: h4 (truth 2 h) and h5 (truth 1 h).
    /// </summary>
    private static readonly double[] Levels = [10, 20, 30, 85, 40, 50, 80, 82, 5, 10];

    private static FillSeries Series(string name, double[] levels, double offsetMinutes = 0) =>
        new(name, [.. levels.Select((v, i) => (T0.AddHours(i).AddMinutes(offsetMinutes), v))]);

    [Fact]
    public void The_truth_is_the_first_confirmed_crossing_before_any_emptying()
    {
        var truth = PredictionScoring.Truth(Series("a", Levels).Readings, 80);
        Assert.Equal([double.NaN, double.NaN, double.NaN, double.NaN, 2, 1, double.NaN, double.NaN, double.NaN, double.NaN], truth);
    }

    [Fact]
    public void Baselines_and_predictors_are_scored_on_the_same_points_with_the_cap()
    {
        var series = new[] { Series("a", Levels) };
        var fixedPredictor = new Fixed(1.5, 1, 2);
        var tooLong = new Fixed(500, double.NaN, double.NaN);
        var scores = PredictionScoring.Score(series, 80, 168, [fixedPredictor, tooLong, new NaiveBaseline(series, 80, 168), new TrendBaseline(series, 80, 168)]);
        Assert.Equal(2, scores.Points);
        // Fixed 1.5 h: |1.5 - 2| and |1.5 - 1|; its band [1, 2] holds both truths.
        Assert.Equal((0.5, 100.0), (scores.Predictors[0].MaeHours, scores.Predictors[0].BandCoveragePct!.Value));
        // 500 h is capped at 168: |168 - 2| and |168 - 1|.
        Assert.Equal(166.5, scores.Predictors[1].MaeHours);
        Assert.Null(scores.Predictors[1].BandCoveragePct);
        // Naive at h4: the line through 85 and 40 falls (cap, error 166); at h5 through 40 and 50: 3 h (error 2).
        Assert.Equal(84, scores.Predictors[2].MaeHours, 9);
        // Trend at h4: the cycle began at h4 (the 45-point fall), one reading: cap (166); at h5: 40, 50: 3 h (error 2).
        Assert.Equal(84, scores.Predictors[3].MaeHours, 9);
    }

    [Fact]
    public void The_trend_baseline_fits_only_the_last_24_hours()
    {
        // 0 % at 0 h, 50 and 52 at 24.5 and 25.5 h, the threshold reached at 39.5 h (80, confirmed by 81).
        FillSeries series = new("a", [(T0, 0), (T0.AddHours(24.5), 50), (T0.AddHours(25.5), 52), (T0.AddHours(39.5), 80), (T0.AddHours(40.5), 81)]);
        var scores = PredictionScoring.Score([series], 80, 168, [new TrendBaseline([series], 80, 168)]);
        Assert.Equal(3, scores.Points);
        // At 0 h and 24.5 h one reading in the window: the cap (errors 168 - 39.5 and 168 - 15). At 25.5 h the 0 % of 0 h
        // is 25.5 h old and left out: the line through 50 and 52 says 14 h, exactly the truth.
        Assert.Equal((128.5 + 153 + 0) / 3, scores.Predictors[0].MaeHours, 9);
    }

    [Fact]
    public void Predictors_see_every_series_in_time_order_and_only_the_past()
    {
        var a = Series("a", Levels);
        var b = Series("b", [.. Levels.Select(l => l / 2)], offsetMinutes: 30);
        var spy = new Spy([a, b]);
        PredictionScoring.Score([a, b], 80, 168, [spy]);
        Assert.Equal(20, spy.Seen.Count);
        Assert.Equal(spy.Seen.OrderBy(t => t).ToList(), spy.Seen);
        Assert.True(spy.PredictedOnlyFromThePast);
    }

    [Fact]
    public void The_csv_round_trips_and_a_bad_file_names_its_line()
    {
        var path = Path.Combine(Path.GetTempPath(), $"series-{Guid.NewGuid():N}.csv");
        try
        {
            SeriesCsv.Write(path, [Series("JY-001/paper", Levels), Series("with,comma", [1, 2])]);
            var back = SeriesCsv.Read(path);
            Assert.Equal(["JY-001/paper", "with,comma"], back.Select(s => s.Name));
            Assert.Equal(Levels, back[0].Readings.Select(r => r.Pct));
            Assert.Equal(T0.AddHours(9), back[0].Readings[^1].Time);
        }
        finally
        {
            File.Delete(path);
        }
        var unordered = Assert.Throws<ConfigurationException>(() => SeriesCsv.Read(new StringReader("series,ts,fillPct,depositKg\na,2026-11-02T01:00:00Z,5,\na,2026-11-02T00:00:00Z,6,\n"), "x.csv"));
        Assert.Contains("line 3", unordered.Message, StringComparison.Ordinal);
        var header = Assert.Throws<ConfigurationException>(() => SeriesCsv.Read(new StringReader("name,time,pct\n"), "x.csv"));
        Assert.Contains("series,ts,fillPct", header.Message, StringComparison.Ordinal);
        var range = Assert.Throws<ConfigurationException>(() => SeriesCsv.Read(new StringReader("series,ts,fillPct\na,2026-11-02T00:00:00Z,101\n"), "x.csv"));
        Assert.Contains("line 2", range.Message, StringComparison.Ordinal);
    }

    private sealed class Fixed(double hours, double low, double high) : IScoredPredictor
    {
        public string Name => $"fixed {hours}";

        public void Observe(int s, int i)
        {
        }

        public (double Hours, double Low, double High) Predict(int s, int i) => (hours, low, high);
    }

    private sealed class Spy(FillSeries[] series) : IScoredPredictor
    {
        public List<DateTimeOffset> Seen { get; } = [];

        public bool PredictedOnlyFromThePast { get; private set; } = true;

        public string Name => "spy";

        public void Observe(int s, int i) => Seen.Add(series[s].Readings[i].Time);

        public (double Hours, double Low, double High) Predict(int s, int i)
        {
            PredictedOnlyFromThePast &= Seen[^1] == series[s].Readings[i].Time && Seen.All(t => t <= series[s].Readings[i].Time);
            return (1, double.NaN, double.NaN);
        }
    }
}
