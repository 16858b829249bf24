using Telemetry.Benchmarks.Loop;
using Telemetry.Contracts.Readings;
using Telemetry.Fleet;
using Telemetry.Routing;

namespace Telemetry.UnitTests.Benchmarks;

/// <summary>The parts of <c>bench loop</c>: the fixed rounds of the baseline, and the fill signal fed without a store.</summary>
public class LoopBenchTests
{
    private static readonly FleetRegistry Registry = FleetRegistryLoader.LoadDefault();
    private static readonly RoutingCore Routing = new(Registry, RoutingPolicy.Default);

    private static DateTimeOffset Local(int day, int hour) => new(2026, 11, day, hour, 0, 0, TimeSpan.FromHours(8));

    [Theory]
    // Monday 2 November: every stream's first shift of the day runs; the second shifts (recyclables 13:00, residual 14:00) do not.
    [InlineData(WasteStream.Kitchen, 2, 5, true)]
    [InlineData(WasteStream.Residual, 2, 5, true)]
    [InlineData(WasteStream.Residual, 2, 14, false)]
    [InlineData(WasteStream.Recyclable, 2, 7, true)]
    [InlineData(WasteStream.Recyclable, 2, 13, false)]
    [InlineData(WasteStream.Hazardous, 2, 8, true)]
    // Tuesday: kitchen and residual only; Thursday: recyclables again, not hazardous.
    [InlineData(WasteStream.Kitchen, 3, 5, true)]
    [InlineData(WasteStream.Recyclable, 3, 7, false)]
    [InlineData(WasteStream.Hazardous, 3, 8, false)]
    [InlineData(WasteStream.Recyclable, 5, 7, true)]
    [InlineData(WasteStream.Hazardous, 5, 8, false)]
    public void The_fixed_rounds_run_each_streams_first_shift_on_its_days(WasteStream stream, int day, int hour, bool runs)
    {
        var shift = Routing.Shifts(stream, Local(day, hour), Local(day, hour)).Single(s => s.Start == Local(day, hour));
        Assert.Equal(runs, FixedSchedule.Runs(stream, shift, Routing, Registry.TimeZone));
    }

    [Fact]
    public void The_signal_without_a_store_cleans_predicts_and_detects_an_emptying_and_keeps_the_latest_weight()
    {
        var signal = new LoopSignal(Registry, 80, predict: true);
        var t = Local(2, 8);
        var readings = new List<Reading>();
        for (var i = 0; i < 12; i++)
        {
            readings.Add(new WeightReading("JY-001", "c01", "residual", "residual", t.AddMinutes(10 * i), 2 * i, 40 + i, 1));
            readings.Add(new FillReading("JY-001", "c01", "residual", "residual", t.AddMinutes((10 * i) + 1), (2 * i) + 1, 60 + i));
        }
        var rising = signal.Take(readings)!;
        Assert.Equal(24, rising.Observations.Count);
        Assert.Empty(rising.Collections);
        Assert.InRange(rising.Observations[^1].CleanedPct!.Value, 65, 72);
        Assert.Equal(51, signal.LatestKg("JY-001", "residual"));
        // The truck empties it: load and level fall together, an emptying at once.
        var at = t.AddHours(3);
        var emptied = signal.Take([
            new WeightReading("JY-001", "c01", "residual", "residual", at, 100, 0.1, null),
            new FillReading("JY-001", "c01", "residual", "residual", at, 101, 1),
        ])!;
        var collection = Assert.Single(emptied.Collections);
        Assert.Equal(("JY-001", "residual", at), (collection.BinId, collection.Compartment, collection.Time));
        Assert.Equal(0.1, signal.LatestKg("JY-001", "residual"));
        // Without prediction (the baseline) it keeps the weights only.
        var weights = new LoopSignal(Registry, 80, predict: false);
        Assert.Null(weights.Take(readings));
        Assert.Equal(51, weights.LatestKg("JY-001", "residual"));
        Assert.Null(weights.LatestKg("JY-001", "paper"));
    }
}
