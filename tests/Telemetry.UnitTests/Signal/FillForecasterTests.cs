using Microsoft.Extensions.Time.Testing;
using Telemetry.Fleet.Signal;

namespace Telemetry.UnitTests.Signal;

public class FillForecasterTests
{
    // UTC+8 with no daylight saving: local midnight is 16:00 UTC.
    private static readonly TimeZoneInfo Zone = TimeZoneInfo.FindSystemTimeZoneById("Asia/Shanghai");
    private static readonly DateTimeOffset Monday = new(2026, 11, 1, 16, 0, 0, TimeSpan.Zero); // Mon 2 Nov 00:00 local

    private static FillForecaster Forecaster(ForecastCalibration? calibration = null, params RhythmPool[] pools) =>
        new(new PredictionOptions(), Zone, calibration ?? new ForecastCalibration(), pools.Length == 0 ? [new RhythmPool("test", new PredictionOptions())] : pools);

    /// <summary>Feeds a noiseless level every 10 minutes from <paramref name="clock"/>'s time for <paramref name="days"/>, emptied at 85 %.</summary>
    private static void Run(FillForecaster f, FakeTimeProvider clock, double days, Func<DateTime, double> pointsPerHour, ref double level)
    {
        var end = clock.GetUtcNow() + TimeSpan.FromDays(days);
        while (clock.GetUtcNow() < end)
        {
            var local = TimeZoneInfo.ConvertTime(clock.GetUtcNow(), Zone).DateTime;
            clock.Advance(TimeSpan.FromMinutes(10));
            level += pointsPerHour(local) / 6;
            var emptied = level >= 85;
            if (emptied)
            {
                level = 2;
            }
            f.Observe(clock.GetUtcNow(), level, emptied);
        }
    }

    private static double Daytime(DateTime local) => local.Hour is >= 8 and < 20 ? 2 : 0;

    [Fact]
    public void A_daily_rhythm_is_learned_and_nights_count_for_nothing()
    {
        var clock = new FakeTimeProvider(Monday);
        var f = Forecaster();
        var level = 10.0;
        Run(f, clock, 9.5, Daytime, ref level); // ends on a Wednesday at 12:00 local
        // Move to the evening without an emptying in between, at 50 %.
        while (TimeZoneInfo.ConvertTime(clock.GetUtcNow(), Zone).Hour != 20)
        {
            clock.Advance(TimeSpan.FromMinutes(10));
        }
        f.Observe(clock.GetUtcNow(), 50, emptied: true); // partly emptied: a new cycle from 50 %
        // 30 points at 2 an hour between 08:00 and 20:00: 24 tomorrow, 6 by 11:00 the day after: 39 h from 20:00.
        var hours = f.HoursToThreshold(clock.GetUtcNow());
        Assert.InRange(hours, 37.5, 40.5);
        var forecast = f.Predict(clock.GetUtcNow())!;
        Assert.Equal("own", forecast.Basis);
        Assert.True(forecast.FullAt > forecast.ThresholdAt);
    }

    [Fact]
    public void A_weekend_that_fills_faster_is_learned()
    {
        var clock = new FakeTimeProvider(Monday);
        var f = Forecaster();
        var level = 5.0;
        static double Rate(DateTime local) => local.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday ? 1.5 : 0.5;
        Run(f, clock, 26, Rate, ref level); // to Saturday 00:00 local, four weeks on
        f.Observe(clock.GetUtcNow(), 30, emptied: true);
        // 50 points at 1.5 an hour over the weekend: about 33 h; a flat weekly mean (0.79 an hour) would say 63 h.
        Assert.InRange(f.HoursToThreshold(clock.GetUtcNow()), 27, 40);
    }

    [Fact]
    public void A_compartment_without_history_starts_from_its_pool()
    {
        var pool = new RhythmPool("community c01 recyclable", new PredictionOptions());
        var clock = new FakeTimeProvider(Monday);
        var teacher = Forecaster(null, pool);
        var level = 10.0;
        Run(teacher, clock, 8, Daytime, ref level);
        var newcomer = Forecaster(null, pool);
        newcomer.Observe(clock.GetUtcNow(), 40, emptied: false);
        var forecast = newcomer.Predict(clock.GetUtcNow())!;
        Assert.Equal("community c01 recyclable", forecast.Basis);
        Assert.NotNull(forecast.ThresholdAt);
        Assert.InRange(pool.Daily, 20, 28); // 24 points a day
    }

    [Fact]
    public void The_band_learns_from_what_happened_and_holds_about_four_in_five()
    {
        var calibration = new ForecastCalibration();
        var random = new Random(11);
        var clock = new FakeTimeProvider(Monday);
        var f = Forecaster(calibration);
        var level = 5.0;
        var deadline = clock.GetUtcNow() + TimeSpan.FromDays(60);
        var made = new List<(DateTimeOffset At, DateTimeOffset? Low, DateTimeOffset? High)>();
        long inside = 0, scored = 0;
        while (clock.GetUtcNow() < deadline)
        {
            clock.Advance(TimeSpan.FromMinutes(10));
            // Poisson-like deposits: most steps nothing, some a bag of 1-3 points.
            if (random.NextDouble() < 0.12)
            {
                level += 1 + (random.NextDouble() * 2);
            }
            var now = clock.GetUtcNow();
            if (level >= 80)
            {
                f.Reached(now);
                if (now > Monday + TimeSpan.FromDays(20))
                {
                    foreach (var (at, low, high) in made)
                    {
                        scored++;
                        inside += low <= now && (high is null || now <= high) ? 1 : 0;
                    }
                }
                made.Clear();
                level = 2;
                f.Observe(now, level, emptied: true);
                continue;
            }
            f.Observe(now, level, emptied: false);
            var p = f.Predict(now)!;
            made.Add((now, p.ThresholdLow, p.ThresholdHigh));
        }
        Assert.True(calibration.Resolved > 500, $"{calibration.Resolved} predictions resolved");
        var coverage = 100.0 * inside / scored;
        Assert.InRange(coverage, 65, 92);
    }

    [Fact]
    public void A_compartment_already_at_the_threshold_is_due_now()
    {
        var f = Forecaster();
        f.Observe(Monday, 83, emptied: false);
        var p = f.Predict(Monday)!;
        Assert.Equal(Monday, p.ThresholdAt);
    }
}
