using Microsoft.Extensions.Time.Testing;
using Telemetry.Simulator;

namespace Telemetry.UnitTests;

/// <summary>The accelerated clock on a fake underlying clock: its time, and timers that wait simulated time.</summary>
public class AcceleratedClockTests
{
    private static readonly DateTimeOffset RealStart = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Runs_faster_then_follows_real_time_after_catching_up()
    {
        var real = new FakeTimeProvider(RealStart);
        var clock = new AcceleratedClock(real, real.GetUtcNow().AddHours(-1), 3600, catchUp: true);
        Assert.Equal(real.GetUtcNow().AddHours(-1), clock.GetUtcNow());
        Assert.InRange(clock.UntilCaughtUp!.Value.TotalSeconds, (3600.0 / 3599) - 1e-6, (3600.0 / 3599) + 1e-6);
        real.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal(real.GetUtcNow().AddMilliseconds(-500).AddHours(-1).AddMinutes(30), clock.GetUtcNow());
        Assert.False(clock.CaughtUp);
        real.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(real.GetUtcNow(), clock.GetUtcNow());
        Assert.True(clock.CaughtUp);
        Assert.Equal(1, clock.CurrentSpeed);
        Assert.Equal(TimeSpan.Zero, clock.UntilCaughtUp);

        var ahead = new AcceleratedClock(real, real.GetUtcNow(), 60, catchUp: false);
        real.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(real.GetUtcNow().AddSeconds(590), ahead.GetUtcNow());
        Assert.Equal(TimeSpan.FromSeconds(1), ahead.ToReal(TimeSpan.FromMinutes(1)));
        Assert.Null(ahead.UntilCaughtUp);
    }

    [Fact]
    public void Refuses_a_speed_below_one() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new AcceleratedClock(new FakeTimeProvider(RealStart), RealStart, 0.5, false));

    [Fact]
    public void A_timer_changed_later_waits_simulated_time_not_real_time()
    {
        var real = new FakeTimeProvider(RealStart);
        var clock = new AcceleratedClock(real, RealStart, 60, catchUp: false);
        var fired = 0;
        using var timer = clock.CreateTimer(_ => fired++, null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        real.Advance(TimeSpan.FromHours(1));
        Assert.Equal(0, fired);

        Assert.True(timer.Change(TimeSpan.FromSeconds(60), Timeout.InfiniteTimeSpan));
        real.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Equal(0, fired);
        real.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, fired);
        real.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(1, fired);
    }

    [Fact]
    public void A_periodic_timer_ticks_every_simulated_period()
    {
        var real = new FakeTimeProvider(RealStart);
        var clock = new AcceleratedClock(real, RealStart, 60, catchUp: false);
        var ticks = new List<DateTimeOffset>();
        using var timer = clock.CreateTimer(_ => ticks.Add(clock.GetUtcNow()), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        timer.Change(TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(30));
        real.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Empty(ticks);
        real.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Single(ticks);
        real.Advance(TimeSpan.FromMilliseconds(499));
        Assert.Single(ticks);
        real.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(2, ticks.Count);
        Advance(real, TimeSpan.FromSeconds(5));
        Assert.Equal(12, ticks.Count);
        // Each tick comes when the simulated clock reaches it: 60 s, then every 30 s.
        Assert.Equal(Enumerable.Range(0, 12).Select(i => RealStart + TimeSpan.FromSeconds(60 + (30 * i))), ticks);

        // A change of period takes effect with the change, also on simulated time.
        timer.Change(TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(10));
        real.Advance(TimeSpan.FromSeconds(9.999));
        Assert.Equal(12, ticks.Count);
        real.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(13, ticks.Count);

        timer.Dispose();
        Assert.False(timer.Change(TimeSpan.Zero, Timeout.InfiniteTimeSpan));
        real.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(13, ticks.Count);
    }

    [Fact]
    public async Task Task_Delay_PeriodicTimer_and_CancelAfter_wait_simulated_time()
    {
        var real = new FakeTimeProvider(RealStart);
        var clock = new AcceleratedClock(real, RealStart, 60, catchUp: false);

        var delay = Task.Delay(TimeSpan.FromMinutes(1), clock);
        real.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(delay.IsCompleted);
        real.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(delay.IsCompletedSuccessfully);

        using var periodic = new PeriodicTimer(TimeSpan.FromMinutes(10), clock);
        for (var i = 0; i < 3; i++)
        {
            var tick = periodic.WaitForNextTickAsync();
            real.Advance(TimeSpan.FromMilliseconds(9_999));
            Assert.False(tick.IsCompleted, $"tick {i} came early");
            real.Advance(TimeSpan.FromMilliseconds(1));
            Assert.True(tick.IsCompletedSuccessfully, $"tick {i} did not come");
            Assert.True(await tick);
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2), clock);
        real.Advance(TimeSpan.FromMilliseconds(1_999));
        Assert.False(cts.IsCancellationRequested);
        real.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(cts.IsCancellationRequested);
    }

    [Fact]
    public void After_catching_up_timers_run_at_speed_one_and_those_created_before_follow()
    {
        var real = new FakeTimeProvider(RealStart);
        // One simulated hour behind at speed 3600: real time is reached after 3600/3599 s.
        var clock = new AcceleratedClock(real, RealStart.AddHours(-1), 3600, catchUp: true);

        // Created before catching up, due 2 simulated hours later: the clock reads that time when real
        // time is one hour on (one second accelerated, then real time), not after 2 s.
        Assert.InRange(clock.ToReal(TimeSpan.FromHours(2)).TotalSeconds, 3600 - 0.001, 3600 + 0.001);
        var longDelay = Task.Delay(TimeSpan.FromHours(2), clock);
        var beforeTicks = 0;
        using var before = clock.CreateTimer(_ => beforeTicks++, null, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));

        Advance(real, TimeSpan.FromSeconds(1));
        Assert.False(clock.CaughtUp);
        // Accelerated: one tick per simulated minute, ~17 ms of real time each.
        Assert.InRange(beforeTicks, 55, 60);
        Advance(real, TimeSpan.FromSeconds(1));
        Assert.True(clock.CaughtUp);

        // Created after catching up: a simulated minute is a real minute.
        var afterFired = 0;
        using var after = clock.CreateTimer(_ => afterFired++, null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        after.Change(TimeSpan.FromMinutes(1), Timeout.InfiniteTimeSpan);
        var afterDelay = Task.Delay(TimeSpan.FromMinutes(1), clock);
        var ticksAtCatchUp = beforeTicks;
        real.Advance(TimeSpan.FromMilliseconds(59_999));
        Assert.Equal(0, afterFired);
        Assert.False(afterDelay.IsCompleted);
        real.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, afterFired);
        Assert.True(afterDelay.IsCompletedSuccessfully);

        // The periodic timer created before re-armed at speed 1 on its first tick after catching up:
        // one tick a minute now (two in these two minutes, none in the 60 s above), not 3600.
        Assert.Equal(ticksAtCatchUp + 1, beforeTicks);
        Advance(real, TimeSpan.FromMinutes(2));
        Assert.Equal(ticksAtCatchUp + 3, beforeTicks);

        Assert.False(longDelay.IsCompleted);
        real.SetUtcNow(RealStart + TimeSpan.FromHours(1) - TimeSpan.FromSeconds(1));
        Assert.False(longDelay.IsCompleted);
        real.Advance(TimeSpan.FromSeconds(2));
        Assert.True(longDelay.IsCompletedSuccessfully);
        Assert.True(clock.GetUtcNow() >= RealStart.AddHours(1));
    }

    /// <summary>
    /// Advances in 1 ms steps: FakeTimeProvider runs every timer due within one Advance with the clock
    /// already at the end, so a callback that reads the time (or re-arms from it) needs small steps to
    /// see what a real clock would show.
    /// </summary>
    private static void Advance(FakeTimeProvider real, TimeSpan total)
    {
        var end = real.GetUtcNow() + total;
        while (real.GetUtcNow() < end)
        {
            real.Advance(TimeSpan.FromMilliseconds(1));
        }
    }

    [Fact]
    public void A_timer_never_fires_before_its_simulated_due_time()
    {
        var real = new FakeTimeProvider(RealStart);
        // 7 does not divide a millisecond: real delays are rounded up, never down.
        var clock = new AcceleratedClock(real, RealStart, 7, catchUp: false);
        foreach (var seconds in new[] { 0.001, 0.01, 1, 3.5, 61 })
        {
            var due = TimeSpan.FromSeconds(seconds);
            var from = clock.GetUtcNow();
            DateTimeOffset? firedAt = null;
            using var timer = clock.CreateTimer(_ => firedAt = clock.GetUtcNow(), null, due, Timeout.InfiniteTimeSpan);
            while (firedAt is null && clock.GetUtcNow() - from < due + TimeSpan.FromSeconds(1))
            {
                real.Advance(TimeSpan.FromMilliseconds(1));
            }
            Assert.NotNull(firedAt);
            Assert.True(firedAt.Value - from >= due, $"a timer due after {due} fired after {firedAt.Value - from}");
            // Rounded up to the millisecond of real time, so at most 7 ms of simulated time late.
            Assert.True(firedAt.Value - from <= due + TimeSpan.FromMilliseconds(7), $"a timer due after {due} fired after {firedAt.Value - from}");
        }
    }
}
