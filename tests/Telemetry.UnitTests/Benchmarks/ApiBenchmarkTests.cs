using Telemetry.Benchmarks;
using Telemetry.Contracts.Readings;
using Telemetry.Fleet;

namespace Telemetry.UnitTests.Benchmarks;

public class ApiBenchmarkTests
{
    [Fact]
    public void The_schedule_holds_rate_times_seconds_requests_after_the_warm_up()
    {
        var s = new OpenLoopSchedule(1000, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(30));
        Assert.Equal(3_000, s.WarmupCount);
        Assert.Equal(30_000, s.MeasuredCount);
        Assert.Equal(33_000, s.Total);
        Assert.False(s.IsMeasured(2_999));
        Assert.True(s.IsMeasured(3_000));
        Assert.True(s.IsMeasured(32_999));
        Assert.False(s.IsMeasured(33_000));
    }

    [Fact]
    public void Requests_are_due_at_even_intervals_whatever_the_answers()
    {
        var s = new OpenLoopSchedule(200, TimeSpan.Zero, TimeSpan.FromSeconds(3));
        Assert.Equal(TimeSpan.Zero, s.DueAt(0));
        Assert.Equal(TimeSpan.FromMilliseconds(5), s.DueAt(1));
        Assert.Equal(TimeSpan.FromSeconds(1), s.DueAt(200));
        Assert.Equal(TimeSpan.FromMilliseconds(2995), s.DueAt(599));
        // A rate that does not divide a second: no drift, each time rounded to the nearest tick.
        var odd = new OpenLoopSchedule(3, TimeSpan.Zero, TimeSpan.FromSeconds(10));
        Assert.Equal(TimeSpan.FromTicks(3_333_333), odd.DueAt(1));
        Assert.Equal(TimeSpan.FromTicks(6_666_667), odd.DueAt(2));
        Assert.Equal(TimeSpan.FromSeconds(9), odd.DueAt(27));
    }

    [Theory]
    [InlineData(1000.0)]
    [InlineData(3.0)]
    [InlineData(7919.0)]
    public void Due_by_counts_exactly_the_requests_whose_time_has_come(double rate)
    {
        var s = new OpenLoopSchedule(rate, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
        Assert.Equal(0, s.DueBy(TimeSpan.FromTicks(-1)));
        Assert.Equal(1, s.DueBy(TimeSpan.Zero));
        var random = new Random(7);
        for (var k = 0; k < 2_000; k++)
        {
            var at = TimeSpan.FromTicks(random.NextInt64(0, TimeSpan.FromSeconds(3.5).Ticks));
            var n = s.DueBy(at);
            Assert.InRange(n, 1, s.Total);
            Assert.True(s.DueAt(n - 1) <= at);
            Assert.True(n == s.Total || s.DueAt(n) > at);
        }
        // Exactly at a due time, that request counts.
        var half = s.Total / 2;
        Assert.Equal(half + 1, s.DueBy(s.DueAt(half)));
        Assert.Equal(half, s.DueBy(s.DueAt(half) - TimeSpan.FromTicks(1)));
        Assert.Equal(s.Total, s.DueBy(TimeSpan.FromHours(1)));
    }

    [Fact]
    public void A_schedule_needs_a_positive_rate_and_time()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new OpenLoopSchedule(0, TimeSpan.Zero, TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OpenLoopSchedule(double.NaN, TimeSpan.Zero, TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OpenLoopSchedule(10, TimeSpan.FromSeconds(-1), TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OpenLoopSchedule(10, TimeSpan.Zero, TimeSpan.Zero));
    }

    [Fact]
    public void Percentiles_are_nearest_rank()
    {
        var hundred = LatencyStats.Sorted(Enumerable.Range(1, 100).Reverse().Select(i => (double)i));
        Assert.Equal(1, hundred[0]);
        Assert.Equal(50, LatencyStats.Percentile(hundred, 0.50));
        Assert.Equal(99, LatencyStats.Percentile(hundred, 0.99));
        Assert.Equal(100, LatencyStats.Percentile(hundred, 0.999));
        Assert.Equal(1, LatencyStats.Percentile(hundred, 0));
        Assert.Equal(100, LatencyStats.Percentile(hundred, 1));
        // One slow answer in a hundred is the p99; two are more than it.
        var oneSlow = LatencyStats.Sorted([.. Enumerable.Repeat(1.0, 99), 500.0]);
        Assert.Equal(1, LatencyStats.Percentile(oneSlow, 0.99));
        var twoSlow = LatencyStats.Sorted([.. Enumerable.Repeat(1.0, 98), 500.0, 600.0]);
        Assert.Equal(500, LatencyStats.Percentile(twoSlow, 0.99));
        Assert.True(double.IsNaN(LatencyStats.Percentile([], 0.5)));
        Assert.Equal(7, LatencyStats.Percentile([7.0], 0.99));
    }

    [Fact]
    public void The_seeded_readings_give_every_bin_a_status_and_every_compartment_a_fill_and_a_weight()
    {
        var registry = FleetRegistryLoader.LoadDefault();
        var at = new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);
        var readings = ApiBenchmark.SeedReadings(registry, at);
        Assert.Equal(55, registry.Bins.Count);
        var compartments = registry.Bins.Sum(b => b.Compartments.Count);
        Assert.Equal(registry.Bins.Count, readings.OfType<StatusReading>().Count());
        Assert.Equal(compartments, readings.OfType<FillReading>().Select(r => (r.BinId, r.Compartment)).Distinct().Count());
        Assert.Equal(compartments, readings.OfType<WeightReading>().Select(r => (r.BinId, r.Compartment)).Distinct().Count());
        Assert.All(readings, r => Assert.Equal(at, r.Time));
        Assert.All(readings.OfType<FillReading>(), r => Assert.InRange(r.Pct, 0, 100));
        Assert.All(readings.OfType<WeightReading>(), r =>
            Assert.InRange(r.NetKg, 0, registry.FindBin(r.BinId)!.FindCompartment(r.Compartment)!.MaxKg));
    }
}
