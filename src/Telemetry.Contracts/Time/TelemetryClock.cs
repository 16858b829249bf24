namespace Telemetry.Contracts.Time;

/// <summary>
/// The project's clock: what the simulation drives (reading ages, batch age, scheduler ticks,
/// predictions, alert timers) takes this from the container, never the framework's
/// <see cref="TimeProvider"/>. In <c>demo</c> it runs on the accelerated clock; elsewhere on the
/// system clock; in tests on a fake one. A type of its own, so framework parts that look up
/// <see cref="TimeProvider"/> (HTTP clients, MassTransit, health-check timeouts) keep real time.
/// Network timeouts, backoff and sessions run on real time and do not use it.
/// </summary>
public sealed class TelemetryClock(TimeProvider inner) : TimeProvider
{
    /// <summary>The project clock on real time.</summary>
    public static TelemetryClock Real { get; } = new(TimeProvider.System);

    /// <summary>The time source this clock follows.</summary>
    public TimeProvider Inner { get; } = inner ?? throw new ArgumentNullException(nameof(inner));

    /// <summary>Project seconds per real second: 1, or the demo's <c>--speed</c> (for a page that runs the clock on between reads).</summary>
    public double Rate { get; init; } = 1;

    public override DateTimeOffset GetUtcNow() => Inner.GetUtcNow();

    public override TimeZoneInfo LocalTimeZone => Inner.LocalTimeZone;

    public override long TimestampFrequency => Inner.TimestampFrequency;

    public override long GetTimestamp() => Inner.GetTimestamp();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        Inner.CreateTimer(callback, state, dueTime, period);
}
