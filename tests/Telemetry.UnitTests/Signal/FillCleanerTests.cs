using Microsoft.Extensions.Time.Testing;
using Telemetry.Fleet.Signal;

namespace Telemetry.UnitTests.Signal;

public class FillCleanerTests
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 2, 0, 0, 0, TimeSpan.Zero));

    private DateTimeOffset Next(double minutes = 10)
    {
        _clock.Advance(TimeSpan.FromMinutes(minutes));
        return _clock.GetUtcNow();
    }

    [Theory]
    [InlineData(99.0)] // a false echo near 100 %
    [InlineData(0.5)] // a lost echo near 0 %
    public void A_single_echo_is_held_then_rejected_and_the_level_never_moves(double echo)
    {
        var cleaner = new FillCleaner();
        foreach (var pct in new[] { 40.0, 40.5, 41.0 })
        {
            cleaner.Observe(Next(), pct);
        }
        var before = cleaner.Level;
        var held = cleaner.Observe(Next(), echo);
        Assert.Equal((FillVerdict.Held, before), (held.Verdict, held.Level));
        var next = cleaner.Observe(Next(), 41.5);
        Assert.Equal(FillVerdict.Accepted, next.Verdict);
        Assert.Null(next.Emptying);
        Assert.InRange(cleaner.Level, 40.5, 42);
    }

    [Fact]
    public void A_jump_the_next_reading_confirms_is_taken()
    {
        var cleaner = new FillCleaner();
        cleaner.Observe(Next(), 30);
        cleaner.Observe(Next(), 30.5);
        Assert.Equal(FillVerdict.Held, cleaner.Observe(Next(), 55).Verdict);
        var confirmed = cleaner.Observe(Next(), 56);
        Assert.Equal(FillVerdict.Jump, confirmed.Verdict);
        Assert.Equal(55.5, confirmed.Level, 1);
    }

    [Fact]
    public void Noise_is_smoothed_without_lagging_a_rise()
    {
        var cleaner = new FillCleaner();
        var random = new Random(3);
        double rawError = 0, cleanError = 0;
        var n = 0;
        for (var i = 0; i < 400; i++)
        {
            var truth = 10 + (i * 0.15); // 0.9 points an hour
            var raw = truth + (Normal(random) * 1.2);
            var step = cleaner.Observe(Next(), raw);
            if (i >= 50)
            {
                rawError += (raw - truth) * (raw - truth);
                cleanError += (step.Level - truth) * (step.Level - truth);
                n++;
            }
        }
        var rawRms = Math.Sqrt(rawError / n);
        var cleanRms = Math.Sqrt(cleanError / n);
        Assert.True(cleanRms < rawRms * 0.75, $"cleaned RMS error {cleanRms:0.00} against raw {rawRms:0.00}");
        Assert.InRange(cleaner.RatePerHour, 0.5, 1.3); // follows the rise, points an hour
    }

    [Fact]
    public void An_emptying_is_a_fall_with_the_weight_drop_that_goes_with_it()
    {
        var cleaner = new FillCleaner();
        cleaner.ObserveWeight(Next(1), 40);
        foreach (var pct in new[] { 84.0, 85.0, 85.5 })
        {
            cleaner.Observe(Next(), pct);
        }
        var truck = Next();
        cleaner.ObserveWeight(truck, 0.3);
        var step = cleaner.Observe(truck.AddSeconds(1), 3);
        var e = Assert.IsType<Emptying>(step.Emptying);
        Assert.Equal((truck, 39.7, 3.0), (e.Time, e.KgCollected, e.FillAfterPct));
        Assert.InRange(e.FillBeforePct, 84.5, 86);
        Assert.Equal(3, cleaner.Level);
    }

    [Fact]
    public void Without_a_weight_sensor_two_low_readings_are_an_emptying_at_the_first()
    {
        var cleaner = new FillCleaner();
        cleaner.Observe(Next(), 80);
        cleaner.Observe(Next(), 80.5);
        cleaner.Observe(Next(), 81);
        var first = Next();
        Assert.Equal(FillVerdict.Held, cleaner.Observe(first, 4).Verdict);
        var e = Assert.IsType<Emptying>(cleaner.Observe(Next(), 5).Emptying);
        Assert.Equal((first, 0.0), (e.Time, e.KgCollected));
    }

    [Fact]
    public void A_fall_the_weight_contradicts_is_taken_only_when_it_lasts()
    {
        var cleaner = new FillCleaner();
        cleaner.ObserveWeight(Next(1), 30);
        cleaner.Observe(Next(), 70);
        cleaner.Observe(Next(), 70.2);
        cleaner.Observe(Next(), 70.5);
        var first = Next();
        Assert.Null(cleaner.Observe(first, 2).Emptying);
        Assert.Null(cleaner.Observe(Next(), 2.5).Emptying);
        Assert.InRange(cleaner.Level, 69, 72); // the load is still there: the level stands
        var e = Assert.IsType<Emptying>(cleaner.Observe(Next(), 2).Emptying);
        Assert.Equal(first, e.Time);
    }

    [Fact]
    public void A_reading_older_than_the_last_is_rejected()
    {
        var cleaner = new FillCleaner();
        var t = Next();
        cleaner.Observe(t, 20);
        Assert.Equal(FillVerdict.Rejected, cleaner.Observe(t.AddMinutes(-5), 60).Verdict);
        Assert.Equal(FillVerdict.Rejected, cleaner.Observe(t, 21).Verdict);
        Assert.Equal(20, cleaner.Level);
    }

    internal static double Normal(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());
}

public class DeviceSignalTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 2, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_seq_that_goes_down_is_a_reboot()
    {
        var device = new DeviceSignal();
        Assert.Empty(device.Observe(T0, 1041, true, null));
        Assert.Empty(device.Observe(T0.AddMinutes(1), 1042, true, null));
        var reboot = Assert.Single(device.Observe(T0.AddMinutes(2), 0, true, null));
        Assert.Equal((DeviceChange.Reboot, 0L, T0.AddMinutes(2)), (reboot.Kind, reboot.Seq!.Value, reboot.Time));
        Assert.Contains("1042", reboot.Detail, StringComparison.Ordinal);
        Assert.Empty(device.Observe(T0.AddMinutes(3), 1, true, null));
    }

    [Fact]
    public void A_status_timed_by_its_receive_time_does_not_count_for_seq()
    {
        var device = new DeviceSignal();
        device.Observe(T0, 500, true, null);
        Assert.Empty(device.Observe(T0.AddMinutes(1), 3, false, true));
        Assert.Empty(device.Observe(T0.AddMinutes(2), 501, true, null));
    }

    [Fact]
    public void The_last_will_is_offline_and_the_next_message_online_each_once()
    {
        var device = new DeviceSignal();
        device.Observe(T0, 10, true, true);
        var offline = Assert.Single(device.Observe(T0.AddMinutes(1), null, false, false));
        Assert.Equal(DeviceChange.Offline, offline.Kind);
        Assert.Empty(device.Observe(T0.AddMinutes(2), null, false, false));
        var back = device.Observe(T0.AddHours(3), 0, true, true);
        Assert.Equal([DeviceChange.Reboot, DeviceChange.Online], back.Select(c => c.Kind));
        Assert.False(device.Offline);
    }

    [Fact]
    public void A_late_message_says_nothing()
    {
        var device = new DeviceSignal();
        device.Observe(T0.AddMinutes(5), 20, true, null);
        Assert.Empty(device.Observe(T0, 3, true, false));
    }
}

public class DeviceSignalSameInstantTests
{
    [Fact]
    public void Messages_of_one_instant_in_any_order_are_no_reboot()
    {
        var t = new DateTimeOffset(2026, 11, 2, 0, 0, 0, TimeSpan.Zero);
        var device = new DeviceSignal();
        device.Observe(t, 4301, true, null);
        Assert.Empty(device.Observe(t.AddMinutes(5), 4303, true, null)); // the fill, stored first
        Assert.Empty(device.Observe(t.AddMinutes(5), 4302, true, null)); // the weight sent just before it
        Assert.Empty(device.Observe(t.AddMinutes(6), 4304, true, null));
        Assert.Single(device.Observe(t.AddMinutes(7), 0, true, null));
    }
}

public class FillCleanerEdgeTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 2, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_first_reading_that_was_an_echo_is_no_collection()
    {
        var cleaner = new FillCleaner();
        cleaner.ObserveWeight(T0, 12);
        Assert.Null(cleaner.Observe(T0.AddMinutes(10), 99).Emptying); // the very first reading: an echo
        for (var i = 2; i < 8; i++)
        {
            Assert.Null(cleaner.Observe(T0.AddMinutes(10 * i), 40 + (i * 0.2)).Emptying);
        }
        Assert.InRange(cleaner.Level, 39, 43);
    }

    [Fact]
    public void A_large_fall_that_leaves_much_behind_is_no_collection()
    {
        var cleaner = new FillCleaner();
        for (var i = 0; i < 4; i++)
        {
            cleaner.Observe(T0.AddMinutes(10 * i), 90 + (i * 0.3));
        }
        Assert.Null(cleaner.Observe(T0.AddMinutes(40), 50).Emptying);
        var step = cleaner.Observe(T0.AddMinutes(50), 50.5);
        Assert.Null(step.Emptying);
        Assert.Equal(FillVerdict.Jump, step.Verdict); // the level follows: a partial emptying
        Assert.InRange(cleaner.Level, 49, 51);
    }

    [Fact]
    public void A_last_will_timed_before_the_devices_own_clock_still_makes_it_offline()
    {
        var device = new DeviceSignal();
        device.Observe(T0.AddMinutes(3), 77, true, null); // the device's clock runs 3 minutes ahead
        var offline = Assert.Single(device.Observe(T0, null, false, false)); // the Last Will, timed on receipt
        Assert.Equal(DeviceChange.Offline, offline.Kind);
    }
}
