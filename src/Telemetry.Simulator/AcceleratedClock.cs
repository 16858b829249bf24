namespace Telemetry.Simulator;

/// <summary>
/// A clock that starts at <c>start</c> and runs <c>speed</c> times faster than the underlying clock.
/// With <c>catchUp</c> it stops accelerating once it reaches real time and then follows it, so a
/// receiver on the real clock accepts every timestamp it produces (<c>telemetry simulate</c>);
/// without, it keeps running ahead (<c>telemetry demo</c>, where every component shares it).
/// </summary>
/// <remarks>
/// Timers run on simulated time: <c>Task.Delay(d, clock)</c>, <c>new PeriodicTimer(p, clock)</c>,
/// <c>CancellationTokenSource(d, clock)</c> and every later <see cref="ITimer.Change"/> wait d (or p)
/// of simulated time, never less. Timestamps (<see cref="GetTimestamp"/>) stay real, so latencies
/// and write times measured on this clock are real durations.
/// </remarks>
public sealed class AcceleratedClock : TimeProvider
{
    // Timer periods and due times above this are refused by every ITimer (System.Threading.Timer's limit).
    private const double MaxTimerMilliseconds = uint.MaxValue - 1;

    private readonly TimeProvider _real;
    private readonly DateTimeOffset _realStart;
    private readonly DateTimeOffset _start;
    private readonly bool _catchUp;

    public AcceleratedClock(TimeProvider real, DateTimeOffset start, double speed, bool catchUp)
    {
        ArgumentNullException.ThrowIfNull(real);
        if (!(speed >= 1) || double.IsInfinity(speed))
        {
            throw new ArgumentOutOfRangeException(nameof(speed), speed, "speed must be at least 1 (simulated seconds per real second)");
        }
        _real = real;
        _realStart = real.GetUtcNow();
        _start = start;
        Speed = speed;
        _catchUp = catchUp;
    }

    public double Speed { get; }

    /// <summary>True once a catching-up clock has reached real time and runs at speed 1.</summary>
    public bool CaughtUp => _catchUp && Simulated(_real.GetUtcNow()) >= _real.GetUtcNow();

    /// <summary>The speed in force now: <see cref="Speed"/>, or 1 after catching up.</summary>
    public double CurrentSpeed => CaughtUp ? 1 : Speed;

    /// <summary>
    /// Real time until a catching-up clock reaches real time (zero once it has; null when it never
    /// will: without catching up, or at speed 1 behind real time).
    /// </summary>
    public TimeSpan? UntilCaughtUp
    {
        get
        {
            if (!_catchUp)
            {
                return null;
            }
            var lag = Lag(_real.GetUtcNow());
            return lag <= TimeSpan.Zero ? TimeSpan.Zero
                : Speed > 1 ? TimeSpan.FromTicks((long)Math.Ceiling(lag.Ticks / (Speed - 1)))
                : null;
        }
    }

    public override DateTimeOffset GetUtcNow()
    {
        var real = _real.GetUtcNow();
        var simulated = Simulated(real);
        return _catchUp && simulated >= real ? real : simulated;
    }

    public override TimeZoneInfo LocalTimeZone => _real.LocalTimeZone;

    public override long TimestampFrequency => _real.TimestampFrequency;

    public override long GetTimestamp() => _real.GetTimestamp();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var timer = new ScaledTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>
    /// Real time it takes this clock to advance by <paramref name="simulated"/> from now, rounded up
    /// to a tick: the accelerated part at <see cref="Speed"/> and, for a catching-up clock, whatever
    /// lies beyond the moment it reaches real time at speed 1.
    /// </summary>
    public TimeSpan ToReal(TimeSpan simulated)
    {
        if (simulated == Timeout.InfiniteTimeSpan || simulated <= TimeSpan.Zero)
        {
            return simulated;
        }
        return TimeSpan.FromTicks(Math.Max(1, (long)Math.Ceiling(RealTicks(simulated.Ticks))));
    }

    private double RealTicks(double simulatedTicks)
    {
        if (!_catchUp)
        {
            return simulatedTicks / Speed;
        }
        var lag = Lag(_real.GetUtcNow()).Ticks;
        if (lag <= 0 || Speed == 1)
        {
            // Caught up (or at speed 1 it never gains): simulated time passes as real time does.
            return simulatedTicks;
        }
        // The clock gains Speed - 1 per real unit: it reaches real time after lag / (Speed - 1),
        // having advanced lag * Speed / (Speed - 1) of simulated time by then.
        var simulatedUntilCaughtUp = lag * Speed / (Speed - 1);
        return simulatedTicks <= simulatedUntilCaughtUp
            ? simulatedTicks / Speed
            : (lag / (Speed - 1)) + (simulatedTicks - simulatedUntilCaughtUp);
    }

    /// <summary>Real delay for an underlying timer: whole milliseconds, rounded up, since timers truncate to the millisecond.</summary>
    private TimeSpan ToTimerDelay(TimeSpan simulated)
    {
        if (simulated == Timeout.InfiniteTimeSpan || simulated <= TimeSpan.Zero)
        {
            return simulated;
        }
        var ms = Math.Ceiling(RealTicks(simulated.Ticks) / TimeSpan.TicksPerMillisecond);
        return TimeSpan.FromMilliseconds(Math.Clamp(ms, 1, MaxTimerMilliseconds));
    }

    private TimeSpan Lag(DateTimeOffset real) => real - Simulated(real);

    private DateTimeOffset Simulated(DateTimeOffset real) =>
        _start + TimeSpan.FromTicks((long)((real - _realStart).Ticks * Speed));

    private static void Validate(TimeSpan t, string name)
    {
        if (t != Timeout.InfiniteTimeSpan && (t < TimeSpan.Zero || t.TotalMilliseconds > MaxTimerMilliseconds))
        {
            throw new ArgumentOutOfRangeException(name, t, "must be Timeout.InfiniteTimeSpan or from zero to 4294967294 ms");
        }
    }

    private static bool IsPeriodic(TimeSpan period) => period != Timeout.InfiniteTimeSpan && period > TimeSpan.Zero;

    /// <summary>
    /// A timer of the underlying clock whose due time and period are simulated time, converted on
    /// creation and on every <see cref="Change"/>.
    /// </summary>
    /// <remarks>
    /// A catching-up clock changes speed once, when it reaches real time. A due time that spans that
    /// moment is converted exactly (the part before it at <see cref="Speed"/>, the rest at 1), so a
    /// timer created before catching up fires at its simulated due time, not early. A periodic timer
    /// converts its period again at every tick and re-arms when the result changed: one created before
    /// catching up ticks at speed 1 after it (from its first tick after the moment; the tick already
    /// scheduled when the clock catches up is not moved). Timers created after catching up run at
    /// speed 1 from the start.
    /// </remarks>
    private sealed class ScaledTimer(AcceleratedClock clock, TimerCallback callback, object? state) : ITimer
    {
        // Monitor, not System.Threading.Lock: an underlying FakeTimeProvider fires a zero due time
        // synchronously inside Change, re-entering Tick on the same thread while Change holds the gate.
        private readonly object _gate = new();
        private ITimer? _inner;
        private TimeSpan _period = Timeout.InfiniteTimeSpan;
        private TimeSpan _realPeriod = Timeout.InfiniteTimeSpan;
        private bool _disposed;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            Validate(dueTime, nameof(dueTime));
            Validate(period, nameof(period));
            lock (_gate)
            {
                if (_disposed)
                {
                    return false;
                }
                _period = period;
                _realPeriod = IsPeriodic(period) ? clock.ToTimerDelay(period) : Timeout.InfiniteTimeSpan;
                var realDue = clock.ToTimerDelay(dueTime);
                if (_inner is null)
                {
                    // The underlying timer holds this one through its callback, so this timer stays
                    // alive exactly as long as the underlying one is scheduled (as TimeProvider promises).
                    _inner = clock._real.CreateTimer(static s => ((ScaledTimer)s!).Tick(), this, realDue, _realPeriod);
                }
                else
                {
                    _inner.Change(realDue, _realPeriod);
                }
                return true;
            }
        }

        private void Tick()
        {
            lock (_gate)
            {
                if (_disposed)
                {
                    return;
                }
                if (clock._catchUp && IsPeriodic(_period))
                {
                    var realPeriod = clock.ToTimerDelay(_period);
                    if (realPeriod != _realPeriod)
                    {
                        _realPeriod = realPeriod;
                        _inner?.Change(realPeriod, realPeriod);
                    }
                }
            }
            callback(state);
        }

        public void Dispose()
        {
            ITimer? inner;
            lock (_gate)
            {
                _disposed = true;
                inner = _inner;
                _inner = null;
            }
            inner?.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
