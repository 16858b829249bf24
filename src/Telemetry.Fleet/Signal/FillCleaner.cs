namespace Telemetry.Fleet.Signal;

/// <summary>Tuning of the fill cleaner; the defaults suit ultrasonic sensors read every few minutes (docs/fill-intelligence.md).</summary>
public sealed record CleaningOptions
{
    /// <summary>A reading this many points or more from the expected level is held until the next reading confirms it.</summary>
    public double JumpPct { get; init; } = 12;

    /// <summary>The next reading confirms a held one when it lies within this many points of it.</summary>
    public double ConfirmPct { get; init; } = 8;

    /// <summary>An emptying is a confirmed fall of this many points or more.</summary>
    public double EmptyingDropPct { get; init; } = 30;

    /// <summary>An emptying leaves at most this level (a fall to a low level); a larger fall that leaves more is a partial one.</summary>
    public double EmptiedPct { get; init; } = 25;

    /// <summary>Readings taken before a jump can be an emptying: a first reading may itself be an echo.</summary>
    public int SettleReadings { get; init; } = 3;

    /// <summary>A weight that fell to at most this share of its load before the fall confirms an emptying.</summary>
    public double WeightDropShare { get; init; } = 0.5;

    /// <summary>How far apart (either way) the weight drop and the fill fall may be to be one emptying.</summary>
    public TimeSpan WeightWindow { get; init; } = TimeSpan.FromHours(2);

    /// <summary>Level gain of the smoothing filter (0–1: how much of a reading's surprise moves the level).</summary>
    public double LevelGain { get; init; } = 0.35;

    /// <summary>Rate gain of the smoothing filter.</summary>
    public double RateGain { get; init; } = 0.04;

    /// <summary>Readings after a held one that must agree with it before it is taken, for a compartment without weight readings
    /// (with weight readings one is enough: the load confirms an emptying). Raise it for sensors whose echoes last.</summary>
    public int ConfirmationsWithoutWeight { get; init; } = 1;

    /// <summary>Low readings that, in a row, are accepted as an emptying even though the weight did not fall.</summary>
    public int LowReadingsWithoutWeight { get; init; } = 3;
}

/// <summary>What one raw fill reading did.</summary>
public enum FillVerdict
{
    /// <summary>Accepted and smoothed into the level.</summary>
    Accepted,

    /// <summary>Far from the level: held until the next reading says whether it was a jump or an echo.</summary>
    Held,

    /// <summary>Confirmed a held reading: the level moved to them (a large deposit, or an emptying).</summary>
    Jump,

    /// <summary>Dropped: older than the last reading, or a held reading that was not confirmed.</summary>
    Rejected,
}

/// <summary>The cleaned level after one raw reading; <see cref="Emptying"/> is set when the reading completed an emptying.</summary>
public readonly record struct FillStep(DateTimeOffset Time, double Raw, double Level, FillVerdict Verdict, Emptying? Emptying);

/// <summary>An emptying detected from the signal: when, the kg the weight fell by (0 without a weight sensor) and the cleaned fill before and after.</summary>
public sealed record Emptying(DateTimeOffset Time, double KgCollected, double FillBeforePct, double FillAfterPct);

/// <summary>
/// Cleans one compartment's fill signal, reading by reading, in time order (pure, no I/O):
/// <list type="bullet">
/// <item>a reading far from the expected level (a false echo near 100 %, a lost echo near 0 %) is held until the next reading: one
/// that agrees with it confirms a real jump, otherwise it is rejected;</item>
/// <item>accepted readings are smoothed by an alpha-beta filter (level and rate), which follows a rising level without the lag of a
/// moving average and damps the sensor's noise of a point or two;</item>
/// <item>a confirmed fall of <see cref="CleaningOptions.EmptyingDropPct"/> points to a low level (at most
/// <see cref="CleaningOptions.EmptiedPct"/>) is an emptying when the weight fell with it (or when the compartment has no weight
/// readings); a fall the weight contradicts is taken only after <see cref="CleaningOptions.LowReadingsWithoutWeight"/> low readings
/// in a row; during the first <see cref="CleaningOptions.SettleReadings"/> readings (the first may be an echo) a fall only moves the
/// level.</item>
/// </list>
/// </summary>
public sealed class FillCleaner(CleaningOptions? options = null)
{
    private readonly CleaningOptions _o = options ?? new CleaningOptions();
    private double _level = double.NaN;
    private double _ratePerHour;
    private DateTimeOffset _time;
    private (DateTimeOffset Time, double Pct)? _held;
    private int _agreeing;
    private int _taken;
    private int _lowRun;
    private DateTimeOffset _lowRunStart;

    // Weight: the last reading, and the last fall of the load (time, kg before, kg after).
    private double _netKg = double.NaN;
    private DateTimeOffset _netKgTime;
    private (DateTimeOffset Time, double Before, double After)? _weightDrop;

    public CleaningOptions Options => _o;

    /// <summary>The cleaned level; NaN before the first reading.</summary>
    public double Level => _level;

    /// <summary>Time of the last reading taken (accepted, held or jump).</summary>
    public DateTimeOffset Time => _time;

    public bool HasLevel => !double.IsNaN(_level);

    /// <summary>Filtered rate of rise, points per hour (never negative).</summary>
    public double RatePerHour => _ratePerHour;

    /// <summary>A weight reading (net load, kg); readings older than the last one are ignored.</summary>
    public void ObserveWeight(DateTimeOffset time, double netKg)
    {
        if (!double.IsNaN(_netKg) && time < _netKgTime)
        {
            return;
        }
        if (!double.IsNaN(_netKg) && _netKg >= 1 && netKg <= _netKg * _o.WeightDropShare)
        {
            _weightDrop = (time, _netKg, netKg);
        }
        else if (_weightDrop is { } d && netKg < d.After)
        {
            _weightDrop = d with { After = netKg };
        }
        _netKg = netKg;
        _netKgTime = time;
    }

    /// <summary>A raw fill reading; readings at or before the last one taken are rejected (they come late or twice).</summary>
    public FillStep Observe(DateTimeOffset time, double raw)
    {
        if (double.IsNaN(raw) || double.IsInfinity(raw))
        {
            return new FillStep(time, raw, _level, FillVerdict.Rejected, null);
        }
        if (double.IsNaN(_level))
        {
            _level = raw;
            _time = time;
            _taken = 1;
            return new FillStep(time, raw, _level, FillVerdict.Accepted, null);
        }
        if (time <= _time)
        {
            return new FillStep(time, raw, _level, FillVerdict.Rejected, null);
        }
        var hours = (time - _time).TotalHours;
        var expected = _level + (_ratePerHour * hours);

        if (_held is { } held)
        {
            if (Math.Abs(raw - held.Pct) <= _o.ConfirmPct && Math.Abs(raw - expected) >= _o.JumpPct)
            {
                _agreeing++;
                var needed = double.IsNaN(_netKg) ? _o.ConfirmationsWithoutWeight : 1;
                if (_agreeing >= needed || (raw <= expected - _o.EmptyingDropPct && WeightConfirmsFall(time)))
                {
                    _held = null;
                    _agreeing = 0;
                    return Confirmed(held, time, raw);
                }
                return new FillStep(time, raw, _level, FillVerdict.Held, null);
            }
            // The held reading was an echo; this one is judged on its own below.
            _held = null;
            _agreeing = 0;
        }

        if (raw <= expected - _o.EmptyingDropPct && raw <= _o.EmptiedPct && WeightConfirmsFall(time))
        {
            // The load fell with the level: an emptying at once, no need to wait for a second reading.
            return Emptied(time, time, raw, FillVerdict.Jump);
        }
        if (Math.Abs(raw - expected) >= _o.JumpPct)
        {
            _held = (time, raw);
            return new FillStep(time, raw, _level, FillVerdict.Held, null);
        }

        _lowRun = 0;
        _taken++;
        Smooth(time, raw, expected, hours);
        return new FillStep(time, raw, _level, FillVerdict.Accepted, null);
    }

    private FillStep Confirmed((DateTimeOffset Time, double Pct) held, DateTimeOffset time, double raw)
    {
        var target = (held.Pct + raw) / 2;
        // An emptying: a large fall to a low level, once the level is known (the first readings may hold an echo).
        if (target <= _level - _o.EmptyingDropPct && target <= _o.EmptiedPct && _taken >= _o.SettleReadings)
        {
            if (WeightConfirmsFall(time) || double.IsNaN(_netKg))
            {
                return Emptied(held.Time, time, target, FillVerdict.Jump);
            }
            // The weight says the load is still there: a sensor fault, unless it goes on.
            if (_lowRun == 0)
            {
                _lowRunStart = held.Time;
            }
            _lowRun += 2;
            if (_lowRun >= _o.LowReadingsWithoutWeight)
            {
                return Emptied(_lowRunStart, time, target, FillVerdict.Jump);
            }
            _held = (time, raw);
            return new FillStep(time, raw, _level, FillVerdict.Held, null);
        }
        _lowRun = 0;
        if (target < _level)
        {
            _ratePerHour = 0; // a partial emptying (or a settled load): the rise starts again from here
        }
        _level = target;
        _time = time;
        _taken++;
        return new FillStep(time, raw, _level, FillVerdict.Jump, null);
    }

    private FillStep Emptied(DateTimeOffset fallTime, DateTimeOffset time, double after, FillVerdict verdict)
    {
        var before = _level;
        var kg = 0.0;
        var at = fallTime;
        if (_weightDrop is { } d && Math.Abs((d.Time - fallTime).TotalHours) <= _o.WeightWindow.TotalHours)
        {
            kg = Math.Max(0, d.Before - d.After);
            if (d.Time < at)
            {
                at = d.Time;
            }
        }
        _weightDrop = null;
        _lowRun = 0;
        _taken++;
        _level = after;
        _ratePerHour = 0;
        _time = time;
        return new FillStep(time, after, _level, verdict, new Emptying(at, Math.Round(kg, 3), Math.Round(before, 2), Math.Round(after, 2)));
    }

    private bool WeightConfirmsFall(DateTimeOffset time) =>
        _weightDrop is { } d && Math.Abs((d.Time - time).TotalHours) <= _o.WeightWindow.TotalHours;

    private void Smooth(DateTimeOffset time, double raw, double expected, double hours)
    {
        var surprise = raw - expected;
        _level = Math.Clamp(expected + (_o.LevelGain * surprise), 0, 100);
        if (hours > 0)
        {
            _ratePerHour = Math.Max(0, _ratePerHour + (_o.RateGain * surprise / Math.Max(hours, 1.0 / 6)));
        }
        _time = time;
    }
}
