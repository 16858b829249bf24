using Telemetry.Scheduling;
using Telemetry.Scheduling.Signal;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Telemetry.Api;
using Telemetry.Api.State;
using Telemetry.Contracts.Readings;
using Telemetry.Contracts.Time;
using Telemetry.Fleet;

namespace Telemetry.UnitTests.Api;

/// <summary>The api's fill signal on a fake store and a fake project clock: rebuilt at start, kept current by events.</summary>
public sealed class FillIntelligenceTests : IAsyncDisposable
{
    private static readonly FleetRegistry Registry = FleetRegistryLoader.LoadDefault();
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 20, 0, 0, 0, TimeSpan.Zero));
    private readonly FakeStore _store = new();
    private readonly FleetState _state = new(Registry);

    public ValueTask DisposeAsync() => _store.DisposeAsync();

    private FillIntelligence Create() => new(_store, [new FleetStateSignalListener(_state)], Registry, Options.Create(new SchedulingOptions { HistoryDays = 2 }), new TelemetryClock(_clock), NullLogger<FillIntelligence>.Instance);

    private static FillReading Fill(string bin, DateTimeOffset t, long seq, double pct)
    {
        var b = Registry.FindBin(bin)!;
        return new FillReading(bin, b.Community, "paper", "recyclable", t, seq, pct);
    }

    private static WeightReading Weight(string bin, DateTimeOffset t, long seq, double kg)
    {
        var b = Registry.FindBin(bin)!;
        return new WeightReading(bin, b.Community, "paper", "recyclable", t, seq, kg, null);
    }

    [Fact]
    public async Task It_rebuilds_from_the_store_then_follows_the_events_and_stores_what_it_finds()
    {
        var now = _clock.GetUtcNow();
        var t0 = now.AddHours(-20);
        var seed = new List<Reading>();
        for (var i = 0; i < 60; i++)
        {
            seed.Add(Weight("JY-001", t0.AddMinutes(10 * i), (2 * i) + 1, 5 + (i * 0.25)));
            seed.Add(Fill("JY-001", t0.AddMinutes((10 * i) + 1), (2 * i) + 2, 20 + (i * 1.0)));
        }
        await _store.WriteAsync(seed, [], CancellationToken.None);
        var intelligence = Create();
        await intelligence.StartAsync(CancellationToken.None);
        try
        {
            await intelligence.Rebuilt.WaitAsync(TimeSpan.FromSeconds(10));
            var paper = _state.Bin("JY-001")!.Compartments.Single(c => c.Id == "paper");
            Assert.InRange(paper.FillPct!.Value, 77, 80); // 20 + 59 = 79, smoothed
            Assert.NotNull(paper.Prediction);
            Assert.Equal(paper.Prediction!.FullAt, paper.PredictedFullAt);

            // A truck: the weight falls, the level with it; then a reboot (seq from 0). Stored, then announced.
            var truck = t0.AddMinutes(600);
            await _store.WriteAsync([Weight("JY-001", truck, 200, 0.2), Fill("JY-001", truck.AddSeconds(1), 201, 3), Fill("JY-001", truck.AddMinutes(10), 0, 3.5)], [], CancellationToken.None);
            intelligence.Notify(["JY-001"]);
            await WaitUntil(() => Collections().Count == 1 && DeviceEvents().Count == 1, "the collection and the reboot stored");
            var collection = Collections().Single();
            Assert.Equal((truck, "paper"), (collection.Time, collection.Compartment));
            Assert.Equal(19.55, collection.KgCollected, 6); // 19.75 kg before, 0.2 after
            Assert.Equal(("reboot", truck.AddMinutes(10)), (DeviceEvents().Single().Kind, DeviceEvents().Single().Time));
            await WaitUntil(() => _state.Bin("JY-001")!.Compartments.Single(c => c.Id == "paper").FillPct < 10, "the cleaned level after the emptying");
        }
        finally
        {
            await intelligence.StopAsync(CancellationToken.None);
        }
        // A second process over the same store finds the same events, and they are the same points.
        var again = Create();
        await again.StartAsync(CancellationToken.None);
        try
        {
            await again.Rebuilt.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(2, again.EventsDetected); // found again from the readings...
            Assert.Single(Collections()); // ...and written as the same points
            Assert.Single(DeviceEvents());
        }
        finally
        {
            await again.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Readings_stored_in_parts_or_out_of_order_across_compartments_are_all_taken()
    {
        var intelligence = Create();
        await intelligence.StartAsync(CancellationToken.None);
        try
        {
            await intelligence.Rebuilt.WaitAsync(TimeSpan.FromSeconds(10));
            var t = _clock.GetUtcNow().AddMinutes(-30);
            var b = Registry.FindBin("JY-002")!;
            FillReading GlassFill(DateTimeOffset at, long seq, double pct) => new("JY-002", b.Community, "glass", "recyclable", at, seq, pct);
            // Paper first, then (another write) glass from ten minutes earlier, then the weight of the paper's instant.
            await _store.WriteAsync([Fill("JY-002", t.AddMinutes(10), 3, 30)], [], CancellationToken.None);
            intelligence.Notify(["JY-002"]);
            await WaitUntil(() => intelligence.ReadingsTaken == 1, "the paper reading");
            await _store.WriteAsync([GlassFill(t, 1, 12)], [], CancellationToken.None);
            intelligence.Notify(["JY-002"]);
            await WaitUntil(() => intelligence.ReadingsTaken == 2, "the older glass reading");
            await _store.WriteAsync([Weight("JY-002", t.AddMinutes(10), 2, 4)], [], CancellationToken.None);
            intelligence.Notify(["JY-002"]);
            await WaitUntil(() => intelligence.ReadingsTaken == 3, "the weight of the paper's instant");
            Assert.Equal(12, _state.Bin("JY-002")!.Compartments.Single(c => c.Id == "glass").FillPct);
            // Taken once each, however often the reads overlap.
            var passes = intelligence.Passes;
            intelligence.Notify(["JY-002"]);
            await WaitUntil(() => intelligence.Passes > passes, "a pass over the same readings");
            passes = intelligence.Passes;
            intelligence.Notify(["JY-002"]);
            await WaitUntil(() => intelligence.Passes > passes, "another pass over them");
            Assert.Equal(3, intelligence.ReadingsTaken);
        }
        finally
        {
            await intelligence.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task A_store_that_fails_a_read_is_retried_and_nothing_is_lost()
    {
        var intelligence = Create();
        await intelligence.StartAsync(CancellationToken.None);
        try
        {
            await intelligence.Rebuilt.WaitAsync(TimeSpan.FromSeconds(10));
            await _store.WriteAsync([Fill("JY-003", _clock.GetUtcNow().AddMinutes(-1), 1, 44)], [], CancellationToken.None);
            _store.ReadFault = new InvalidOperationException("the store answered something unreadable");
            intelligence.Notify(["JY-003"]);
            await WaitUntil(() => intelligence.LastError is not null, "the failed read reported");
            _store.ReadFault = null;
            await WaitUntil(() => _state.Bin("JY-003")!.Compartments.Single(c => c.Id == "paper").FillPct == 44, "the reading taken on the retry");
            await WaitUntil(() => intelligence.LastError is null, "the error cleared");
        }
        finally
        {
            await intelligence.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Events_the_store_refuses_are_dropped_not_retried_forever()
    {
        var t = _clock.GetUtcNow().AddHours(-1);
        await _store.WriteAsync([Fill("JY-004", t, 1, 60), Fill("JY-004", t.AddMinutes(10), 2, 60.5), Fill("JY-004", t.AddMinutes(20), 3, 61),
            Fill("JY-004", t.AddMinutes(30), 4, 2), Fill("JY-004", t.AddMinutes(40), 5, 2.5)], [], CancellationToken.None);
        _store.RefuseEverything = true;
        var intelligence = Create();
        await intelligence.StartAsync(CancellationToken.None);
        try
        {
            // The rebuild finds the emptying; its write is refused; the signal is ready all the same.
            await intelligence.Rebuilt.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(1, intelligence.EventsDetected);
            Assert.Empty(Collections());
        }
        finally
        {
            await intelligence.StopAsync(CancellationToken.None);
        }
    }

    private IReadOnlyList<Telemetry.Storage.CollectionEvent> Collections() => _store.GetCollectionsAsync(null, DateTimeOffset.MinValue, DateTimeOffset.MaxValue, CancellationToken.None).Result;

    private IReadOnlyList<Telemetry.Storage.DeviceEvent> DeviceEvents() => _store.GetDeviceEventsAsync(null, DateTimeOffset.MinValue, DateTimeOffset.MaxValue, CancellationToken.None).Result;

    private static async Task WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not within 10 s: {what}");
            await Task.Delay(20);
        }
    }
}
