using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Telemetry.Contracts.Messages;
using Telemetry.Contracts.Readings;
using Telemetry.Ingestion.Events;
using Telemetry.Messaging;

namespace Telemetry.UnitTests;

/// <summary><see cref="ReadingsStored.Vehicles"/>: the newest position of each vehicle in what was stored.</summary>
public sealed class ReadingsStoredPositionsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 2, 1, 0, 0, TimeSpan.Zero);

    private static VehiclePositionReading Position(string vehicle, DateTimeOffset t, double lat, double speed = 30) =>
        new(vehicle, "recyclable", t, lat, 117.18, speed);

    [Fact]
    public void The_event_of_a_batch_holds_the_newest_position_of_each_vehicle_and_no_bin_for_them()
    {
        Reading[] readings =
        [
            Position("REC-02", T0.AddSeconds(10), 36.98),
            Position("REC-01", T0.AddSeconds(20), 36.97, 12.5),
            Position("REC-01", T0, 36.90), // older, arrived later: does not move the truck back
            new FillReading("JY-001", "c01", "paper", "recyclable", T0, 1, 40),
        ];
        var e = ReadingsStoredPublisher.Build("src", 3, T0, readings);
        Assert.Equal("JY-001", Assert.Single(e.Bins).BinId);
        Assert.Equal(
            [new VehiclePositionUpdate("REC-01", T0.AddSeconds(20), 36.97, 117.18, 12.5), new VehiclePositionUpdate("REC-02", T0.AddSeconds(10), 36.98, 117.18, 30)],
            e.Vehicles);
        Assert.Empty(ReadingsStoredPublisher.Build("src", 4, T0, [new FillReading("JY-001", "c01", "paper", "recyclable", T0, 1, 40)]).Vehicles);
    }

    [Fact]
    public async Task Batches_of_positions_alone_are_published_and_large_ones_split_like_bins()
    {
        await using var provider = new ServiceCollection().AddMassTransitTestHarness().BuildServiceProvider(true);
        var harness = provider.GetRequiredService<ITestHarness>();
        await harness.Start();
        try
        {
            var publisher = new ReadingsStoredPublisher(harness.Bus, new BusOptions(), "ingest-test/v", TimeProvider.System, NullLogger<ReadingsStoredPublisher>.Instance);
            publisher.OnStored([Position("HAZ-01", T0, 36.95)]);
            await publisher.FlushAsync(CancellationToken.None);
            Assert.True(await harness.Published.Any<ReadingsStored>(m => m.Context.Message.Sequence == 1));
            var first = harness.Published.Select<ReadingsStored>().Single().Context.Message;
            Assert.Empty(first.Bins);
            Assert.Equal("HAZ-01", Assert.Single(first.Vehicles).VehicleId);

            // 130 vehicles and 120 bins: two events, each within the per-event limit, every vehicle once.
            var many = new List<Reading>();
            many.AddRange(Enumerable.Range(0, 130).Select(i => (Reading)Position($"V-{i:000}", T0.AddSeconds(i), 36.9)));
            many.AddRange(Enumerable.Range(0, 120).Select(i => (Reading)new FillReading($"B-{i:000}", "c01", "paper", "recyclable", T0, 1, 10)));
            publisher.OnStored(many);
            await publisher.FlushAsync(CancellationToken.None);
            Assert.True(await harness.Published.Any<ReadingsStored>(m => m.Context.Message.Sequence == 3));
            var split = harness.Published.Select<ReadingsStored>().Select(m => m.Context.Message).Where(m => m.Sequence > 1).OrderBy(m => m.Sequence).ToList();
            Assert.Equal(2, split.Count);
            Assert.All(split, m => Assert.InRange(m.Vehicles.Count, 1, ReadingsStoredPublisher.MaxBinsPerEvent));
            Assert.Equal(130, split.SelectMany(m => m.Vehicles).Select(v => v.VehicleId).Distinct().Count());
            Assert.Equal(120, split.SelectMany(m => m.Bins).Count());
            Assert.Equal(3, publisher.Published);
        }
        finally
        {
            await harness.Stop();
        }
    }
}
