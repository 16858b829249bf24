using Telemetry.Api.State;
using Telemetry.Contracts.Messages;
using Telemetry.Contracts.Readings;
using Telemetry.Fleet;
using Telemetry.Ingestion.Events;
using Telemetry.Storage;

namespace Telemetry.UnitTests.Api;

public class FleetStateTests
{
    private static readonly FleetRegistry Registry = FleetRegistryLoader.LoadDefault();
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private static Bin Bin => Registry.Bins[0];

    private static string Compartment => Bin.Compartments[0].Id;

    private static ReadingsStored Event(long seq, DateTimeOffset fillTime, double pct) =>
        new("ingest-1/x", seq, fillTime, [new BinUpdate(Bin.Id, new BinStatusUpdate(fillTime, true, 90, 20, false, false), [new CompartmentUpdate(Compartment, fillTime, pct, null, null)])]);

    [Fact]
    public void Every_registry_bin_is_listed_before_any_reading()
    {
        var state = new FleetState(Registry);
        Assert.Equal(Registry.Bins.Select(b => b.Id), state.Bins.Select(b => b.Id));
        Assert.All(state.Bins, b => Assert.All(b.Compartments, c => Assert.Null(c.FillPct)));
    }

    [Fact]
    public void A_newer_value_wins_whatever_order_events_and_loads_arrive_in()
    {
        var state = new FleetState(Registry);
        state.Apply(Event(1, T0.AddMinutes(10), 55));
        state.Load([new LatestCompartment(Bin.Id, Bin.Community, Compartment, "x", T0, 40, T0, 3)], [new LatestStatus(Bin.Id, T0, false, 10, 5, true, true)], T0);
        var bin = state.Bin(Bin.Id)!;
        Assert.Equal(55, bin.Compartments[0].FillPct);
        Assert.Equal(3, bin.Compartments[0].NetKg);
        Assert.Equal(T0.AddMinutes(10), bin.LastSeen);
        Assert.True(bin.Online);
        Assert.Equal(90, bin.Battery);
        state.Apply(Event(2, T0.AddMinutes(20), 60));
        Assert.Equal(60, state.Bin(Bin.Id)!.Compartments[0].FillPct);
        Assert.Null(state.Bin(Bin.Id)!.Compartments[0].PredictedFullAt);
    }

    [Fact]
    public void Listeners_get_the_bins_that_changed_and_the_cached_json_follows_the_version()
    {
        var state = new FleetState(Registry);
        var seen = new List<IReadOnlyList<BinView>>();
        using var sub = state.Subscribe(seen.Add);
        var before = state.BinsJson(Telemetry.Api.ApiJson.Options);
        Assert.Same(before, state.BinsJson(Telemetry.Api.ApiJson.Options));
        state.Apply(Event(1, T0, 12.5));
        state.Apply(Event(2, T0, 12.5)); // nothing new
        var view = Assert.Single(Assert.Single(seen));
        Assert.Equal(Bin.Id, view.Id);
        var after = System.Text.Encoding.UTF8.GetString(state.BinsJson(Telemetry.Api.ApiJson.Options));
        Assert.Contains("\"fillPct\":12.5", after, StringComparison.Ordinal);
        Assert.Contains("\"predictedFullAt\":null", after, StringComparison.Ordinal);
        Assert.Contains("\"lastSeen\":\"2026-12-01T00:00:00Z\"", after, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_bins_and_compartments_are_ignored()
    {
        var state = new FleetState(Registry);
        var changed = state.Apply(new ReadingsStored("s", 1, T0, [
            new BinUpdate("NOT-A-BIN", null, []),
            new BinUpdate(Bin.Id, null, [new CompartmentUpdate("no-such", T0, 1, null, null)]),
        ]));
        Assert.Empty(changed);
    }

    [Fact]
    public void A_gap_in_a_publishers_sequence_is_reported()
    {
        var t = new SequenceTracker();
        Assert.Null(t.Observe("a", 1));
        Assert.Null(t.Observe("a", 2));
        Assert.Equal(2, t.Observe("a", 5));
        Assert.Null(t.Observe("a", 6));
        Assert.Null(t.Observe("a", 3)); // late duplicate: not a gap
        Assert.Equal(9, t.Observe("b", 10)); // first seen mid-way: what came before may be missing
        Assert.Null(t.Observe("c", 1));
    }

    [Fact]
    public void The_event_of_a_batch_holds_per_bin_the_newest_of_each_compartment_and_status()
    {
        var b = Bin;
        var c = b.Compartments[0];
        var readings = new Reading[]
        {
            new FillReading(b.Id, b.Community, c.Id, c.Stream.Name(), T0.AddMinutes(2), 2, 30),
            new FillReading(b.Id, b.Community, c.Id, c.Stream.Name(), T0.AddMinutes(1), 1, 20),
            new WeightReading(b.Id, b.Community, c.Id, c.Stream.Name(), T0, 1, 4.5, 0.5),
            new StatusReading(b.Id, b.Community, T0.AddMinutes(3), 3, true, true, 80, 21, false, false),
            new StatusReading(b.Id, b.Community, T0, 1, true, false, 81, 20, false, false),
        };
        var e = ReadingsStoredPublisher.Build("src", 7, T0, readings);
        Assert.Equal(("src", 7L), (e.Source, e.Sequence));
        var bin = Assert.Single(e.Bins);
        var comp = Assert.Single(bin.Compartments);
        Assert.Equal((T0.AddMinutes(2), 30.0, T0, 4.5), (comp.FillTime!.Value, comp.FillPct!.Value, comp.WeightTime!.Value, comp.NetKg!.Value));
        Assert.Equal(T0.AddMinutes(3), bin.Status!.Time);
        Assert.True(bin.Status.Online);
    }
}
