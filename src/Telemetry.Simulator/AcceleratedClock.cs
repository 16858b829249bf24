namespace Telemetry.Simulator;

/// <summary>
/// A clock that starts at <c>start</c> and runs <c>speed</c> times faster than the underlying clock.
/// With <c>catchUp</c> it stops accelerating once it reaches real time and then follows it, so a
/// receiver on the real clock accepts every timestamp it produces (<c>telemetry simulate</c>);
/// without, it keeps running ahead (<c>telemetry demo</c>, where every component shares it).
/// Timers are scaled too, so <c>Task.Delay(d, clock)</c> waits d of simulated time.
/// </summary>
public sealed class AcceleratedClock : TimeProvider
{
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
    public bool CaughtUp => _catchUp && Simulated() >= _real.GetUtcNow();

    /// <summary>The speed in force now: <see cref="Speed"/>, or 1 after catching up.</summary>
    public double CurrentSpeed => CaughtUp ? 1 : Speed;

    public override DateTimeOffset GetUtcNow()
    {
        var real = _real.GetUtcNow();
        var simulated = Simulated(real);
        return _catchUp && simulated >= real ? real : simulated;
    }

    public override TimeZoneInfo LocalTimeZone => _real.LocalTimeZone;

    public override long TimestampFrequency => _real.TimestampFrequency;

    public override long GetTimestamp() => _real.GetTimestamp();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        _real.CreateTimer(callback, state, Scale(dueTime), Scale(period));

    /// <summary>Real time it takes this clock to advance by <paramref name="simulated"/>, at the current speed.</summary>
    public TimeSpan ToReal(TimeSpan simulated) => Scale(simulated);

    private TimeSpan Scale(TimeSpan t) =>
        t == Timeout.InfiniteTimeSpan || t <= TimeSpan.Zero ? t : TimeSpan.FromTicks(Math.Max(1, (long)(t.Ticks / CurrentSpeed)));

    private DateTimeOffset Simulated() => Simulated(_real.GetUtcNow());

    private DateTimeOffset Simulated(DateTimeOffset real) =>
        _start + TimeSpan.FromTicks((long)((real - _realStart).Ticks * Speed));
}
