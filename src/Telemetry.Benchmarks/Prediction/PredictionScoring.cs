namespace Telemetry.Benchmarks.Prediction;

/// <summary>One compartment's raw fill readings in time order; <see cref="Name"/> may be <c>binId/compartment</c>.</summary>
public sealed record FillSeries(string Name, IReadOnlyList<(DateTimeOffset Time, double Pct)> Readings);

/// <summary>
/// A predictor as the benchmark scores it: it is shown every reading of every series in time order, and asked, right after a
/// reading of a series, how many hours until that series reaches the threshold (and, if it has one, its band).
/// </summary>
public interface IScoredPredictor
{
    string Name { get; }

    void Observe(int s, int i);

    /// <summary>Hours until the threshold from reading <paramref name="i"/> of series <paramref name="s"/>; the band, when it has one.</summary>
    (double Hours, double Low, double High) Predict(int s, int i);
}

/// <summary>The score of one predictor over the benchmark's points.</summary>
public sealed record PredictorScore(string Name, long Points, double MaeHours, double? BandCoveragePct);

/// <summary>The result: every predictor scored on the same points.</summary>
public sealed record PredictionScores(int Series, long Points, IReadOnlyList<PredictorScore> Predictors, IReadOnlyList<(string Horizon, long Points, double[] Mae, double[] CoveragePct)> ByHorizon);

/// <summary>
/// Scores predictors as CONTRACT §5 defines it (<c>bench predict</c>). A point is a reading below the threshold after which the
/// series reaches the threshold without an emptying in between; its truth is the time from it to the first later reading at or
/// above the threshold that the next reading confirms; an emptying is a fall of 30 points or more between consecutive readings.
/// Predictions are capped at the horizon (7 days); every predictor is scored on the same points, and sees only readings at or
/// before the point's time (the series are walked together in time order).
/// </summary>
public static class PredictionScoring
{
    public const double EmptyingFall = 30;

    private static readonly double[] HorizonEdges = [6, 24, 72];

    /// <summary>The truth, in hours, at each reading of a series (NaN where the reading is not a point).</summary>
    public static double[] Truth(IReadOnlyList<(DateTimeOffset Time, double Pct)> readings, double threshold)
    {
        var n = readings.Count;
        var truth = new double[n];
        Array.Fill(truth, double.NaN);
        // Walking back: the next confirmed crossing at or after k, unless an emptying comes first.
        DateTimeOffset? next = null;
        for (var k = n - 1; k >= 0; k--)
        {
            if (k + 1 < n && readings[k].Pct - readings[k + 1].Pct >= EmptyingFall)
            {
                next = null; // an emptying between k and k+1: nothing after it counts for k and before
            }
            if (k + 1 < n && readings[k].Pct >= threshold && readings[k + 1].Pct >= threshold)
            {
                next = readings[k].Time;
            }
            if (readings[k].Pct < threshold && next is { } at)
            {
                truth[k] = (at - readings[k].Time).TotalHours;
            }
        }
        return truth;
    }

    public static PredictionScores Score(IReadOnlyList<FillSeries> series, double threshold, double capHours, IReadOnlyList<IScoredPredictor> predictors, Action<double>? progress = null)
    {
        var truths = series.Select(s => Truth(s.Readings, threshold)).ToArray();
        // Every reading of every series, in time order (then series order): what the predictors are shown.
        var order = new List<(DateTimeOffset Time, int Series, int Index)>();
        for (var s = 0; s < series.Count; s++)
        {
            for (var i = 0; i < series[s].Readings.Count; i++)
            {
                order.Add((series[s].Readings[i].Time, s, i));
            }
        }
        order.Sort((a, b) => a.Time != b.Time ? a.Time.CompareTo(b.Time) : a.Series != b.Series ? a.Series.CompareTo(b.Series) : a.Index.CompareTo(b.Index));

        var errors = new double[predictors.Count];
        var inside = new long[predictors.Count];
        var banded = new bool[predictors.Count];
        var byHorizon = new double[HorizonEdges.Length + 1, predictors.Count];
        var insideByHorizon = new long[HorizonEdges.Length + 1, predictors.Count];
        var horizonPoints = new long[HorizonEdges.Length + 1];
        long points = 0;
        for (var o = 0; o < order.Count; o++)
        {
            var (_, s, i) = order[o];
            foreach (var p in predictors)
            {
                p.Observe(s, i);
            }
            var truth = truths[s][i];
            if (double.IsNaN(truth))
            {
                continue;
            }
            points++;
            var h = 0;
            while (h < HorizonEdges.Length && truth >= HorizonEdges[h])
            {
                h++;
            }
            horizonPoints[h]++;
            for (var k = 0; k < predictors.Count; k++)
            {
                var (hours, low, high) = predictors[k].Predict(s, i);
                var predicted = Math.Min(capHours, double.IsNaN(hours) ? capHours : Math.Max(0, hours));
                var error = Math.Abs(predicted - truth);
                errors[k] += error;
                byHorizon[h, k] += error;
                if (!double.IsNaN(low))
                {
                    banded[k] = true;
                    if (truth >= low && truth <= high)
                    {
                        inside[k]++;
                        insideByHorizon[h, k]++;
                    }
                }
            }
            if (progress is not null && (o & 0xFFFF) == 0)
            {
                progress((double)o / order.Count);
            }
        }
        var scores = predictors.Select((p, k) => new PredictorScore(
            p.Name, points, points == 0 ? double.NaN : errors[k] / points,
            banded[k] && points > 0 ? 100.0 * inside[k] / points : null)).ToList();
        var horizons = new List<(string, long, double[], double[])>();
        for (var h = 0; h <= HorizonEdges.Length; h++)
        {
            var label = h == 0 ? $"< {HorizonEdges[0]} h" : h == HorizonEdges.Length ? $"≥ {HorizonEdges[^1]} h" : $"{HorizonEdges[h - 1]}–{HorizonEdges[h]} h";
            var row = new double[predictors.Count];
            var coverage = new double[predictors.Count];
            for (var k = 0; k < predictors.Count; k++)
            {
                row[k] = horizonPoints[h] == 0 ? double.NaN : byHorizon[h, k] / horizonPoints[h];
                coverage[k] = horizonPoints[h] == 0 || !banded[k] ? double.NaN : 100.0 * insideByHorizon[h, k] / horizonPoints[h];
            }
            horizons.Add((label, horizonPoints[h], row, coverage));
        }
        return new PredictionScores(series.Count, points, scores, horizons);
    }
}

/// <summary>The naive baseline: the line through the last two raw readings.</summary>
public sealed class NaiveBaseline(IReadOnlyList<FillSeries> series, double threshold, double capHours) : IScoredPredictor
{
    public string Name => "naive (last two readings)";

    public void Observe(int s, int i)
    {
    }

    public (double Hours, double Low, double High) Predict(int s, int i)
    {
        var r = series[s].Readings;
        if (i == 0)
        {
            return (capHours, double.NaN, double.NaN);
        }
        var dt = (r[i].Time - r[i - 1].Time).TotalHours;
        var slope = dt > 0 ? (r[i].Pct - r[i - 1].Pct) / dt : 0;
        if (r[i].Pct >= threshold)
        {
            return (0, double.NaN, double.NaN);
        }
        return (slope > 0 ? Math.Min(capHours, (threshold - r[i].Pct) / slope) : capHours, double.NaN, double.NaN);
    }
}

/// <summary>The trend baseline: the least-squares line through the raw readings of the last 24 hours since the last emptying.</summary>
public sealed class TrendBaseline(IReadOnlyList<FillSeries> series, double threshold, double capHours) : IScoredPredictor
{
    private readonly int[] _cycleStart = new int[series.Count];

    public string Name => "trend (24 h least squares)";

    public void Observe(int s, int i)
    {
        var r = series[s].Readings;
        if (i > 0 && r[i - 1].Pct - r[i].Pct >= PredictionScoring.EmptyingFall)
        {
            _cycleStart[s] = i;
        }
    }

    public (double Hours, double Low, double High) Predict(int s, int i)
    {
        var r = series[s].Readings;
        var from = r[i].Time - TimeSpan.FromHours(24);
        double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (var k = i; k >= _cycleStart[s] && r[k].Time >= from; k--)
        {
            var x = (r[k].Time - r[i].Time).TotalHours;
            n++;
            sx += x;
            sy += r[k].Pct;
            sxx += x * x;
            sxy += x * r[k].Pct;
        }
        var d = (n * sxx) - (sx * sx);
        if (n < 2 || d <= 0)
        {
            return (capHours, double.NaN, double.NaN);
        }
        var slope = ((n * sxy) - (sx * sy)) / d;
        var now = (sy - (slope * sx)) / n; // the line's value at the point
        if (now >= threshold)
        {
            return (0, double.NaN, double.NaN);
        }
        return (slope > 0 ? Math.Min(capHours, (threshold - now) / slope) : capHours, double.NaN, double.NaN);
    }
}
