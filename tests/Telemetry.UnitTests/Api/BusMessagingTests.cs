using Telemetry.Scheduling;
using Telemetry.Scheduling.Signal;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Telemetry.Api;
using Telemetry.Api.State;
using Telemetry.Contracts.Messages;
using Telemetry.Contracts.Readings;
using Telemetry.Fleet;
using Telemetry.Ingestion.Events;
using Telemetry.Messaging;
using Telemetry.Storage;

namespace Telemetry.UnitTests.Api;

/// <summary>The ReadingsStored event through MassTransit's test harness: published by ingestion, consumed by the api.</summary>
public sealed class BusMessagingTests : IAsyncDisposable
{
    private static readonly FleetRegistry Registry = FleetRegistryLoader.LoadDefault();
    private readonly ServiceProvider _provider;

    public BusMessagingTests()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(Registry);
        services.AddSingleton<ITelemetryStore, FakeStore>();
        services.AddSingleton(Options.Create(new ApiOptions()));
        services.AddSingleton<FleetState>();
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<FleetStateLoader>(sp, TimeProvider.System));
        services.AddSingleton(Options.Create(new SchedulingOptions()));
        services.AddSingleton(Telemetry.Contracts.Time.TelemetryClock.Real);
        services.AddSingleton<IFillSignalListener, FleetStateSignalListener>();
        services.AddSingleton<FillIntelligence>();
        services.AddSingleton<VehicleBoard>();
        services.AddMassTransitTestHarness(x => x.AddConsumer<ReadingsStoredConsumer>());
        _provider = services.BuildServiceProvider(true);
    }

    public async ValueTask DisposeAsync() => await _provider.DisposeAsync();

    [Fact]
    public async Task A_stored_batch_is_published_and_the_api_state_follows_it_without_faults()
    {
        var harness = _provider.GetRequiredService<ITestHarness>();
        await harness.Start();
        var publisher = new ReadingsStoredPublisher(harness.Bus, new BusOptions(), "ingest-test/1", TimeProvider.System, NullLogger<ReadingsStoredPublisher>.Instance);
        await publisher.StartAsync(CancellationToken.None);
        try
        {
            var bin = Registry.Bins[3];
            var c = bin.Compartments[0];
            var at = new DateTimeOffset(2026, 12, 2, 1, 0, 0, TimeSpan.Zero);
            publisher.OnStored([new FillReading(bin.Id, bin.Community, c.Id, c.Stream.Name(), at, 5, 42.5)]);
            // What the publisher's timer does every Bus:PublishInterval, done here so the harness sees it at once.
            await publisher.FlushAsync(CancellationToken.None);

            Assert.True(await harness.Published.Any<ReadingsStored>(m => m.Context.Message.Sequence == 1 && m.Context.Message.Source == "ingest-test/1"));
            var consumer = harness.GetConsumerHarness<ReadingsStoredConsumer>();
            Assert.True(await consumer.Consumed.Any<ReadingsStored>());
            Assert.False(await harness.Published.Any<Fault<ReadingsStored>>());
            Assert.Equal(42.5, _provider.GetRequiredService<FleetState>().Bin(bin.Id)!.Compartments[0].FillPct);
            Assert.Equal(1, publisher.Published);
        }
        finally
        {
            await publisher.StopAsync(CancellationToken.None);
            await harness.Stop();
        }
    }

    [Fact]
    public async Task An_empty_batch_publishes_nothing()
    {
        var harness = _provider.GetRequiredService<ITestHarness>();
        await harness.Start();
        var publisher = new ReadingsStoredPublisher(harness.Bus, new BusOptions(), "ingest-test/2", TimeProvider.System, NullLogger<ReadingsStoredPublisher>.Instance);
        await publisher.StartAsync(CancellationToken.None);
        publisher.OnStored([]);
        await publisher.FlushAsync(CancellationToken.None);
        await publisher.StopAsync(CancellationToken.None);
        Assert.False(await harness.Published.Any<ReadingsStored>());
        Assert.Equal(0, publisher.Published);
        await harness.Stop();
    }
}
