namespace Telemetry.Fleet.Signal;

/// <summary>Tuning of the prediction (docs/fill-intelligence.md).</summary>
public sealed record PredictionOptions
{
    /// <summary>The collection threshold, % (the setting <c>Scheduling:ThresholdPct</c>).</summary>
    public double ThresholdPct { get; init; } = 80;

    /// <summary>Full, %.</summary>
    public double FullPct { get; init; } = 100;

    /// <summary>How far ahead predictions go; beyond it a compartment is "not within the horizon".</summary>
    public TimeSpan Horizon { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Half-life of the daily amount learned from whole days, in days.</summary>
    public double DailyHalfLifeDays { get; init; } = 4;

    /// <summary>Half-life of the hour-of-day profile, in days.</summary>
    public double ProfileHalfLifeDays { get; init; } = 10;

    /// <summary>Half-life of the day-of-week factors, in weeks.</summary>
    public double WeekHalfLifeWeeks { get; init; } = 3;

    /// <summary>Days of a compartment's own history that weigh as much as its community's and stream's profile (cold start).</summary>
    public double PriorDays { get; init; } = 5;

    /// <summary>How much the learned daily amount weighs against the current cycle's own rise, in days of that rise.</summary>
    public double RecentPriorDays { get; init; } = 1.0;

    /// <summary>How much of the current cycle's recent rise is used.</summary>
    public TimeSpan RecentWindow { get; init; } = TimeSpan.FromHours(36);

    /// <summary>The band: the share of outcomes it should hold (0.8: from the 10th to the 90th percentile).</summary>
    public double BandCoverage { get; init; } = 0.8;
}

/// <summary>A prediction made at <see cref="MadeAt"/> from the cleaned <see cref="LevelPct"/>: when the compartment reaches the
/// threshold and full, each with its band (null: not within the horizon), and the rate it assumes now.</summary>
public sealed record FillForecast(
    DateTimeOffset MadeAt, double LevelPct, double ThresholdPct,
    DateTimeOffset? ThresholdAt, DateTimeOffset? ThresholdLow, DateTimeOffset? ThresholdHigh,
    DateTimeOffset? FullAt, DateTimeOffset? FullLow, DateTimeOffset? FullHigh,
    double RatePctPerHour, string Basis);

/// <summary>One point of a forecast curve: the expected level and its band at a time.</summary>
public readonly record struct ForecastPoint(DateTimeOffset Time, double Pct, double LowPct, double HighPct);

/// <summary>
/// Learns how one compartment fills from its cleaned signal, and predicts when it reaches the threshold and full (pure).
/// The model: the rise per hour is a daily amount × an hour-of-day profile × a day-of-week factor, in the registry's local time.
/// Whole days teach the daily amount (exponentially weighted), the profile and the weekly factors; until a compartment has
/// days of its own, its community's and stream's profile stands in (<see cref="RhythmPool"/>), shrunk toward its own as days
/// come. Within the current cycle (since the last emptying) its recent rise corrects the daily amount, as evidence against a
/// prior. The 80 % band comes from how far earlier predictions were from what happened (<see cref="ForecastCalibration"/>).
/// </summary>
public sealed class FillForecaster
{
    private const double Offset = 0.25; // hours: keeps log-ratios finite near the threshold

    private readonly PredictionOptions _o;
    private readonly TimeZoneInfo _zone;
    private readonly RhythmPool[] _pools;
    private readonly ForecastCalibration _calibration;

    private readonly double[] _profile = Uniform(24);
    private readonly double[] _week = Uniform(7);
    private readonly int[] _weeks = new int[7];
    private double _daily = double.NaN;
    private int _days;

    // The local day being accumulated: rise and observed hours per local hour.
    private DateOnly _day;
    private readonly double[] _dayRise = new double[24];
    private readonly double[] _dayCover = new double[24];

    // The current cycle: cleaned levels since the last emptying (thinned to one per 20 minutes).
    private readonly List<(DateTimeOffset Time, double Level)> _cycle = [];
    private (DateTimeOffset Time, double Level)? _last;
    private bool _crossed;
    private readonly List<(DateTimeOffset MadeAt, double Hours)> _pending = [];

    public FillForecaster(PredictionOptions options, TimeZoneInfo zone, ForecastCalibration calibration, params RhythmPool[] pools)
    {
        _o = options;
        _zone = zone;
        _calibration = calibration;
        _pools = pools;
    }

    public double ThresholdPct => _o.ThresholdPct;

    /// <summary>Whole days learned from this compartment's own signal.</summary>
    public int DaysLearned => _days;

    /// <summary>The learned daily amount, points a day (NaN before the first whole day).</summary>
    public double DailyPct => _daily;

    /// <summary>Takes one cleaned level, in time order (rejected and held readings are not passed).</summary>
    public void Observe(DateTimeOffset time, double level, bool emptied)
    {
        var localDay = DateOnly.FromDateTime(Local(time));
        if (_last is not { } last)
        {
            _day = localDay;
        }
        else
        {
            if (time <= last.Time)
            {
                return;
            }
            if (!emptied && last.Level < _o.FullPct - 5)
            {
                Accumulate(last.Time, time, Math.Max(0, level - last.Level));
            }
            else if (emptied)
            {
                // The span of an emptying is unknown; it still counts as observed for the day's completeness.
            }
        }
        while (localDay > _day)
        {
            FinishDay();
            _day = _day.AddDays(1);
        }
        if (emptied)
        {
            _cycle.Clear();
            _pending.Clear();
            _crossed = false;
        }
        if (_cycle.Count == 0 || time - _cycle[^1].Time >= TimeSpan.FromMinutes(20))
        {
            _cycle.Add((time, level));
            var keep = time - _o.RecentWindow - TimeSpan.FromHours(1);
            var drop = 0;
            while (drop < _cycle.Count - 2 && _cycle[drop + 1].Time < keep)
            {
                drop++;
            }
            if (drop > 0)
            {
                _cycle.RemoveRange(0, drop);
            }
        }
        else
        {
            _cycle[^1] = (_cycle[^1].Time, _cycle[^1].Time == time ? level : _cycle[^1].Level);
        }
        _last = (time, level);
    }

    /// <summary>
    /// The compartment reached the threshold at <paramref name="at"/> (a raw reading at or above it that the next one confirmed,
    /// the benchmark's truth): the predictions made since the cycle began learn how far they were off.
    /// </summary>
    public void Reached(DateTimeOffset at)
    {
        if (_crossed)
        {
            return;
        }
        _crossed = true;
        foreach (var (madeAt, hours) in _pending)
        {
            if (madeAt <= at)
            {
                _calibration.Add(hours, (at - madeAt).TotalHours);
            }
        }
        _pending.Clear();
    }

    /// <summary>Predicts from the last level taken, at <paramref name="now"/> (at or after it).</summary>
    public FillForecast? Predict(DateTimeOffset now)
    {
        if (_last is not { } last)
        {
            return null;
        }
        var (daily, basis) = DailyAmount(now, last);
        var (profile, week) = Shape();
        var horizon = _o.Horizon.TotalHours;
        var (toThreshold, toFull) = Integrate(now, last.Level, daily, profile, week, horizon);
        var rate = daily / 24 * profile[Local(now).Hour] * week[(int)Local(now).DayOfWeek];

        if (toThreshold is { } th && th > 0 && th < horizon && !_crossed)
        {
            if (_pending.Count == 0 || now - _pending[^1].MadeAt >= TimeSpan.FromMinutes(55))
            {
                _pending.Add((now, th));
            }
        }
        // Earlier predictions' errors correct this one (their median) and give its band.
        var (tm, tl, thh) = Calibrated(toThreshold);
        var (fm, fl, fh) = Calibrated(toFull);
        return new FillForecast(
            now, last.Level, _o.ThresholdPct,
            At(now, Cap(tm, horizon)), At(now, Cap(tl, horizon)), At(now, Cap(thh, horizon)),
            At(now, Cap(fm, horizon)), At(now, Cap(fl, horizon)), At(now, Cap(fh, horizon)),
            Math.Round(rate, 4), basis);
    }

    /// <summary>Hours until the threshold from the last level taken (capped at the horizon), for scoring.</summary>
    public double HoursToThreshold(DateTimeOffset now)
    {
        var f = Predict(now);
        return f?.ThresholdAt is { } at ? Math.Max(0, (at - now).TotalHours) : _o.Horizon.TotalHours;
    }

    /// <summary>The expected level and its band every <paramref name="step"/> from <paramref name="now"/>, up to full or the horizon.</summary>
    public IReadOnlyList<ForecastPoint> Curve(DateTimeOffset now, TimeSpan step)
    {
        if (_last is not { } last || step <= TimeSpan.Zero)
        {
            return [];
        }
        var (daily, _) = DailyAmount(now, last);
        var (profile, week) = Shape();
        var start = Math.Round(last.Level, 2);
        var points = new List<ForecastPoint> { new(now, start, start, start) };
        var rise = 0.0;
        var t = now;
        var end = now + _o.Horizon;
        while (t < end)
        {
            var next = t + step;
            rise += Rise(t, next, daily, profile, week);
            t = next;
            var hours = (t - now).TotalHours;
            var (lowK, highK) = _calibration.RateBand(hours, _o.BandCoverage);
            var pct = Math.Min(_o.FullPct, last.Level + rise);
            points.Add(new ForecastPoint(t, Math.Round(pct, 2), Math.Round(Math.Min(_o.FullPct, last.Level + (rise * lowK)), 2), Math.Round(Math.Min(_o.FullPct, last.Level + (rise * highK)), 2)));
            if (last.Level + (rise * lowK) >= _o.FullPct)
            {
                break;
            }
        }
        return points;
    }

    private (double? Median, double? Low, double? High) Calibrated(double? hours)
    {
        if (hours is not { } h)
        {
            return (null, null, null);
        }
        // At the threshold by the clean level: due now, though the raw readings may take a while to confirm it (the band says how long).
        var due = h <= 0;
        h = Math.Max(0, h);
        var (q1, q2) = _calibration.LogRatioBand(h, _o.BandCoverage);
        var (m, _) = _calibration.LogRatioBand(h, 0);
        double Scale(double q) => Math.Max(0, ((h + Offset) * Math.Exp(q)) - Offset);
        return (due ? 0 : Scale(m), due ? 0 : Scale(q1), Scale(q2));
    }

    private static double? Cap(double? hours, double horizon) => hours is { } h && h <= horizon ? h : null;

    /// <summary>An instant <paramref name="hours"/> after <paramref name="now"/>, to the second (a prediction is no finer).</summary>
    private static DateTimeOffset? At(DateTimeOffset now, double? hours) =>
        hours is { } h && double.IsFinite(h) ? now + TimeSpan.FromSeconds(Math.Round(h * 3600)) : null;

    /// <summary>The daily amount to predict with: the learned one as a prior, corrected by the current cycle's rise.</summary>
    private (double Daily, string Basis) DailyAmount(DateTimeOffset now, (DateTimeOffset Time, double Level) last)
    {
        var (prior, basis) = PriorDaily();
        var (profile, week) = Shape();
        // The rise over the recent part of the cycle, and what the shape alone (one point a day) expects over that span.
        var from = _cycle.Count > 0 ? _cycle[0] : last;
        for (var i = 0; i < _cycle.Count; i++)
        {
            if (_cycle[i].Time >= last.Time - _o.RecentWindow)
            {
                from = _cycle[i];
                break;
            }
        }
        var observed = Math.Max(0, last.Level - from.Level);
        var shapeDays = from.Time < last.Time ? Rise(from.Time, last.Time, 1, profile, week) : 0;
        if (double.IsNaN(prior))
        {
            if (shapeDays < 0.05)
            {
                return (0, "none");
            }
            return (observed / shapeDays, "cycle");
        }
        var a = _o.RecentPriorDays;
        return ((observed + (a * prior)) / (shapeDays + a), basis);
    }

    private (double Daily, string Basis) PriorDaily()
    {
        foreach (var pool in _pools)
        {
            if (!double.IsNaN(pool.Daily))
            {
                if (_days == 0 || double.IsNaN(_daily))
                {
                    return (pool.Daily, pool.Name);
                }
                var k = _o.PriorDays / 2;
                return (((_days * _daily) + (k * pool.Daily)) / (_days + k), "own");
            }
        }
        return double.IsNaN(_daily) ? (double.NaN, "none") : (_daily, "own");
    }

    private (double[] Profile, double[] Week) Shape()
    {
        var profile = (double[])_profile.Clone();
        var week = (double[])_week.Clone();
        var pool = _pools.FirstOrDefault(p => p.Days > 0);
        if (pool is not null)
        {
            var wOwn = _days / (_days + _o.PriorDays);
            var wWeek = _days / (_days + (_o.PriorDays * 3));
            for (var h = 0; h < 24; h++)
            {
                profile[h] = (wOwn * _profile[h]) + ((1 - wOwn) * pool.Profile[h]);
            }
            for (var d = 0; d < 7; d++)
            {
                week[d] = (wWeek * _week[d]) + ((1 - wWeek) * pool.Week[d]);
            }
        }
        return (profile, week);
    }

    /// <summary>Hours until the level rises to the threshold and to full (null beyond the horizon; 0 when already there).</summary>
    private (double? Threshold, double? Full) Integrate(DateTimeOffset now, double level, double daily, double[] profile, double[] week, double horizon)
    {
        double? threshold = level >= _o.ThresholdPct ? 0 : null;
        double? full = level >= _o.FullPct ? 0 : null;
        if (daily <= 0 || (threshold is not null && full is not null))
        {
            return (threshold, full);
        }
        var offset = _zone.GetUtcOffset(now);
        var t = now;
        var elapsed = 0.0;
        var rise = 0.0;
        while (elapsed < horizon && (threshold is null || full is null))
        {
            var local = t.UtcDateTime + offset;
            var slotEnd = new DateTime(local.Year, local.Month, local.Day, local.Hour, 0, 0).AddHours(1);
            var dt = Math.Min((slotEnd - local).TotalHours, horizon - elapsed);
            if (dt <= 0)
            {
                dt = 1.0 / 60;
            }
            var perHour = daily / 24 * profile[local.Hour] * week[(int)local.DayOfWeek];
            var next = rise + (perHour * dt);
            if (threshold is null && level + next >= _o.ThresholdPct)
            {
                threshold = elapsed + (perHour > 0 ? (_o.ThresholdPct - level - rise) / perHour : dt);
            }
            if (full is null && level + next >= _o.FullPct)
            {
                full = elapsed + (perHour > 0 ? (_o.FullPct - level - rise) / perHour : dt);
            }
            rise = next;
            elapsed += dt;
            t += TimeSpan.FromHours(dt);
        }
        return (threshold, full);
    }

    /// <summary>The rise between two times for a daily amount.</summary>
    private double Rise(DateTimeOffset from, DateTimeOffset to, double daily, double[] profile, double[] week)
    {
        var offset = _zone.GetUtcOffset(from);
        var local = from.UtcDateTime + offset;
        var end = to.UtcDateTime + offset;
        var rise = 0.0;
        while (local < end)
        {
            var slotEnd = new DateTime(local.Year, local.Month, local.Day, local.Hour, 0, 0).AddHours(1);
            var stop = slotEnd < end ? slotEnd : end;
            rise += daily / 24 * profile[local.Hour] * week[(int)local.DayOfWeek] * (stop - local).TotalHours;
            local = stop;
        }
        return rise;
    }

    /// <summary>Spreads a rise over the local hours of [from, to).</summary>
    private void Accumulate(DateTimeOffset from, DateTimeOffset to, double rise)
    {
        var total = (to - from).TotalHours;
        if (total <= 0 || total > 6)
        {
            return; // a gap: nothing is known of how the rise spread over it
        }
        var offset = _zone.GetUtcOffset(from);
        var local = from.UtcDateTime + offset;
        var end = to.UtcDateTime + offset;
        while (local < end)
        {
            var slotEnd = new DateTime(local.Year, local.Month, local.Day, local.Hour, 0, 0).AddHours(1);
            var stop = slotEnd < end ? slotEnd : end;
            var share = (stop - local).TotalHours;
            if (DateOnly.FromDateTime(local) == _day)
            {
                _dayRise[local.Hour] += rise * share / total;
                _dayCover[local.Hour] += share;
            }
            local = stop;
        }
    }

    private void FinishDay()
    {
        var covered = 0.0;
        var rise = 0.0;
        var share = 0.0;
        var (profile, week) = Shape();
        for (var h = 0; h < 24; h++)
        {
            var c = Math.Min(1, _dayCover[h]);
            covered += c;
            rise += _dayRise[h];
            share += profile[h] * c / 24;
        }
        var dow = (int)_day.DayOfWeek;
        if (covered >= 18 && share > 0.5)
        {
            var amount = rise / share;
            var deseasoned = amount / week[dow];
            var lambda = 1 - Math.Pow(0.5, 1 / _o.DailyHalfLifeDays);
            // A running mean until the half-life's window has filled, exponential weights after.
            if (!double.IsNaN(_daily) && _daily > 0)
            {
                _weeks[dow]++;
                Ew(_week, dow, amount / _daily, Math.Max(1.0 / _weeks[dow], 1 - Math.Pow(0.5, 1 / _o.WeekHalfLifeWeeks)));
                Normalize(_week, 7);
            }
            _daily = double.IsNaN(_daily) ? deseasoned : _daily + (Math.Max(1.0 / (_days + 1), lambda) * (deseasoned - _daily));
            if (amount > 0.5)
            {
                var pl = Math.Max(1.0 / (_days + 1), 1 - Math.Pow(0.5, 1 / _o.ProfileHalfLifeDays));
                for (var h = 0; h < 24; h++)
                {
                    if (_dayCover[h] >= 0.75)
                    {
                        Ew(_profile, h, _dayRise[h] / _dayCover[h] / (amount / 24), pl);
                    }
                }
                Normalize(_profile, 24);
            }
            _days++;
            foreach (var pool in _pools)
            {
                pool.Learn(dow, amount, deseasoned, _dayRise, _dayCover);
            }
        }
        Array.Clear(_dayRise);
        Array.Clear(_dayCover);
    }

    private DateTime Local(DateTimeOffset t) => t.UtcDateTime + _zone.GetUtcOffset(t);

    internal static void Ew(double[] values, int i, double observation, double lambda)
    {
        if (double.IsFinite(observation))
        {
            values[i] += lambda * (Math.Clamp(observation, 0, 20) - values[i]);
        }
    }

    internal static void Normalize(double[] values, int n)
    {
        var mean = values.Average();
        if (mean > 0)
        {
            for (var i = 0; i < n; i++)
            {
                values[i] /= mean;
            }
        }
    }

    internal static double[] Uniform(int n) => Enumerable.Repeat(1.0, n).ToArray();
}

/// <summary>
/// The rhythm of a group of compartments (a community's stream, a stream, the fleet): what a compartment without days of its
/// own predicts with. Learns from the whole days of every compartment of the group.
/// </summary>
public sealed class RhythmPool(string name, PredictionOptions options)
{
    private readonly object _gate = new();

    public string Name { get; } = name;

    public double[] Profile { get; } = FillForecaster.Uniform(24);

    public double[] Week { get; } = FillForecaster.Uniform(7);

    /// <summary>Mean daily amount of the group's compartments (deseasoned), NaN before the first day.</summary>
    public double Daily { get; private set; } = double.NaN;

    public int Days { get; private set; }

    internal void Learn(int dow, double amount, double deseasoned, double[] rise, double[] cover)
    {
        lock (_gate)
        {
            var lambda = 1 / Math.Min(Days + 1.0, 60);
            Daily = double.IsNaN(Daily) ? deseasoned : Daily + (lambda * (deseasoned - Daily));
            if (amount > 0.5)
            {
                var pl = 1 / Math.Min(Days + 1.0, 30 * options.ProfileHalfLifeDays);
                for (var h = 0; h < 24; h++)
                {
                    if (cover[h] >= 0.75)
                    {
                        FillForecaster.Ew(Profile, h, rise[h] / cover[h] / (amount / 24), pl);
                    }
                }
                FillForecaster.Normalize(Profile, 24);
                if (Daily > 0)
                {
                    FillForecaster.Ew(Week, dow, amount / Daily, 1 / Math.Min(Days + 1.0, 200));
                    FillForecaster.Normalize(Week, 7);
                }
            }
            Days++;
        }
    }
}

/// <summary>
/// How far predictions fell from what happened, by how far ahead they looked: the log of (actual + ¼ h) / (predicted + ¼ h)
/// of the last predictions resolved (the level reached the threshold), shared by a group of compartments. The band is the
/// middle share of those; until enough are known, a default of about ±40 %.
/// </summary>
public sealed class ForecastCalibration
{
    private static readonly double[] Edges = [2, 6, 12, 24, 48, 96];
    private const int Capacity = 2000;
    private const int Enough = 40;
    private readonly object _gate = new();
    private readonly Bucket[] _buckets = Enumerable.Range(0, Edges.Length + 1).Select(_ => new Bucket()).ToArray();
    private readonly Dictionary<(int, double), (long Version, double Low, double High)> _cache = [];

    /// <summary>Predictions resolved so far.</summary>
    public long Resolved { get; private set; }

    public void Add(double predictedHours, double actualHours)
    {
        if (!double.IsFinite(predictedHours) || !double.IsFinite(actualHours) || predictedHours < 0 || actualHours < 0)
        {
            return;
        }
        var ratio = Math.Log((actualHours + 0.25) / (predictedHours + 0.25));
        lock (_gate)
        {
            _buckets[Index(predictedHours)].Add(ratio);
            Resolved++;
        }
    }

    /// <summary>The band of log-ratios for a prediction of <paramref name="hours"/>.</summary>
    public (double Low, double High) LogRatioBand(double hours, double coverage)
    {
        var tail = (1 - coverage) / 2;
        lock (_gate)
        {
            var i = Index(hours);
            var key = (i, coverage);
            var version = Resolved / 25;
            if (_cache.TryGetValue(key, out var cached) && cached.Version == version)
            {
                return (cached.Low, cached.High);
            }
            var band = Compute(i, tail, coverage);
            _cache[key] = (version, band.Low, band.High);
            return band;
        }
    }

    private (double Low, double High) Compute(int i, double tail, double coverage)
    {
        {
            // The bucket itself, else its neighbours pooled, else the default.
            foreach (var span in new[] { 0, 1, 2 })
            {
                var values = new List<double>();
                for (var j = Math.Max(0, i - span); j <= Math.Min(_buckets.Length - 1, i + span); j++)
                {
                    values.AddRange(_buckets[j].Values);
                }
                if (values.Count >= Enough)
                {
                    values.Sort();
                    return (Quantile(values, tail), Quantile(values, 1 - tail));
                }
            }
        }
        // Until measured: about ±40 % for an 80 % band, centred.
        var z = 1.2816 * 0.32 * (coverage / 0.8);
        return (-z, z);
    }

    /// <summary>The band as factors on the expected rise over <paramref name="hours"/> (a later arrival is a slower rise).</summary>
    public (double Low, double High) RateBand(double hours, double coverage)
    {
        var (lo, hi) = LogRatioBand(hours, coverage);
        return (Math.Exp(-hi), Math.Exp(-lo));
    }

    private static int Index(double hours)
    {
        var i = 0;
        while (i < Edges.Length && hours >= Edges[i])
        {
            i++;
        }
        return i;
    }

    private static double Quantile(List<double> sorted, double q)
    {
        var pos = q * (sorted.Count - 1);
        var lo = (int)Math.Floor(pos);
        var hi = Math.Min(sorted.Count - 1, lo + 1);
        return sorted[lo] + ((sorted[hi] - sorted[lo]) * (pos - lo));
    }

    private sealed class Bucket
    {
        private readonly double[] _ring = new double[Capacity];
        private int _count;
        private int _next;

        public IEnumerable<double> Values => _ring.Take(_count);

        public void Add(double v)
        {
            _ring[_next] = v;
            _next = (_next + 1) % Capacity;
            _count = Math.Min(Capacity, _count + 1);
        }
    }
}
