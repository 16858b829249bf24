using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Telemetry.Contracts.Devices;
using Telemetry.Contracts.Messages;
using Telemetry.Contracts.Readings;
using Telemetry.Storage;
using Telemetry.Storage.Sqlite;

namespace Telemetry.IntegrationTests.Ingestion;

/// <summary>
/// Trucks' positions (<c>vehicles/{id}/position</c>) through a real ingestion process between real Mosquitto, a SQLite file and
/// real RabbitMQ: published, stored, announced in <see cref="ReadingsStored.Vehicles"/>; a hostile position is a dead letter.
/// In the fault collection, which runs alone: every plain subscriber of the shared test broker gets these positions, and other
/// tests' stores must not.
/// </summary>
[Collection("faults")]
public sealed class VehiclePositionIngestionTests : IAsyncLifetime
{
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..8];
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "telemetry-positions-" + Guid.NewGuid().ToString("N"));
    private readonly ConcurrentQueue<ReadingsStored> _events = new();
    private IHost? _bus;

    private string DbPath => Path.Combine(_dir, "telemetry.db");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Services.AddSingleton(_events);
        builder.Services.Configure<MassTransitHostOptions>(o => o.WaitUntilStarted = true);
        builder.Services.AddMassTransit(x => x.UsingRabbitMq((context, cfg) =>
        {
            cfg.Host(TestServices.RabbitMqHost, TestServices.RabbitMqPort, "/", h =>
            {
                h.Username("guest");
                h.Password("guest");
            });
            cfg.ReceiveEndpoint("positions-test-" + _suffix, e =>
            {
                e.AutoDelete = true;
                e.Durable = false;
                e.Consumer(() => new RecordingConsumer(_events));
            });
        }));
        _bus = builder.Build();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await _bus.StartAsync(timeout.Token);
    }

    public async Task DisposeAsync()
    {
        if (_bus is not null)
        {
            await _bus.StopAsync(CancellationToken.None);
            _bus.Dispose();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Theory]
    [InlineData(false)] // a plain subscription: vehicles/+/position
    [InlineData(true)] // a shared one: $share/{group}/vehicles/+/position
    public async Task Positions_published_are_stored_and_announced_and_a_hostile_one_is_a_dead_letter(bool shared)
    {
        await using var ingestion = await IngestionProcess.StartAsync(new Dictionary<string, string>
        {
            ["Mqtt:Server"] = TestServices.Mosquitto.ToString(),
            ["Mqtt:ClientId"] = "positions-" + _suffix,
            ["Mqtt:SharedGroup"] = shared ? "g" + _suffix : "",
            ["Storage:Backend"] = "sqlite",
            ["Storage:Sqlite:Path"] = DbPath,
            ["Bus:Transport"] = "rabbitmq",
            ["Bus:RabbitMq:Host"] = TestServices.RabbitMqHost,
            ["Bus:RabbitMq:Port"] = TestServices.RabbitMqPort.ToString(CultureInfo.InvariantCulture),
        });
        Assert.Contains("vehicles/+/position", ingestion.Output, StringComparison.Ordinal);

        using var truck = new MqttClientFactory().CreateMqttClient();
        await truck.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(TestServices.Mosquitto.Host, TestServices.Mosquitto.Port)
            .WithClientId("truck-" + _suffix).WithProtocolVersion(MqttProtocolVersion.V500).Build());
        async Task PublishAsync(string topic, string payload)
        {
            var result = await truck.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(Encoding.UTF8.GetBytes(payload))
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
            Assert.True(result.ReasonCode == MqttClientPublishReasonCode.Success, $"{topic}: {result.ReasonCode}");
        }

        var now = DateTimeOffset.FromUnixTimeMilliseconds(TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds());
        string Position(DateTimeOffset t, double lat, double lon, double speed) => string.Create(CultureInfo.InvariantCulture,
            $$"""{"v":1,"ts":"{{t.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'}}","lat":{{lat}},"lon":{{lon}},"speedKmh":{{speed}}}""");
        await PublishAsync(DeviceTopics.Position("REC-01"), Position(now.AddSeconds(-30), 36.95, 117.15, 20));
        await PublishAsync(DeviceTopics.Position("REC-01"), Position(now.AddSeconds(-10), 36.97, 117.18, 32.5));
        await PublishAsync(DeviceTopics.Position("KIT-02"), Position(now.AddSeconds(-20), 37.01, 117.2, 0));
        // Late: an older position after the newer one does not move the truck back.
        await PublishAsync(DeviceTopics.Position("REC-01"), Position(now.AddSeconds(-40), 36.90, 117.10, 15));
        await PublishAsync(DeviceTopics.Position("REC-99"), Position(now.AddSeconds(-10), 36.97, 117.18, 32.5));
        await PublishAsync(DeviceTopics.Position("REC-02"), Position(now.AddSeconds(-10), 31.23, 121.47, 32.5)); // Shanghai: outside the district

        VehiclePositionReading[] expected =
        [
            new("KIT-02", "kitchen", now.AddSeconds(-20), 37.01, 117.2, 0),
            new("REC-01", "recyclable", now.AddSeconds(-10), 36.97, 117.18, 32.5),
        ];
        await using var store = new SqliteStore(DbPath);
        await store.InitializeAsync(CancellationToken.None);
        IReadOnlyList<VehiclePositionReading> latest = [];
        IReadOnlyList<DeadLetter> letters = [];
        await WaitAsync(async () =>
        {
            latest = await store.GetLatestVehiclePositionsAsync(CancellationToken.None);
            letters = await store.GetDeadLettersAsync(now.AddMinutes(-5), now.AddMinutes(5), 10, DeadLetterFilter.None, CancellationToken.None);
            return latest.Count == 2 && latest[1].Time == expected[1].Time && letters.Count == 2;
        }, () => $"stored positions {string.Join(", ", latest)}; dead letters {string.Join(", ", letters)}\n{ingestion.Output}");
        Assert.Equal(expected, latest);

        Assert.Equal(
            [("out-of-range", "REC-02", "vehicles/REC-02/position"), ("unknown-vehicle", DeadLetters.UnknownBin, "vehicles/REC-99/position")],
            letters.Select(l => (l.Reason, l.BinId, l.Topic)).Order());
        Assert.All(letters, l => Assert.Equal("positions-" + _suffix, l.Ingester));

        // Announced on the bus after they were stored: across the events, each truck's newest position is there, and no event
        // moves a truck back to the late, older one.
        await WaitAsync(() => Task.FromResult(Announced().Contains(expected[1].VehicleId) && Announced().Contains(expected[0].VehicleId)),
            () => $"events: {string.Join("; ", _events.Select(e => string.Join(", ", e.Vehicles)))}");
        var updates = _events.Where(e => e.Source.StartsWith("positions-" + _suffix, StringComparison.Ordinal)).SelectMany(e => e.Vehicles).ToList();
        Assert.Contains(new VehiclePositionUpdate("REC-01", now.AddSeconds(-10), 36.97, 117.18, 32.5), updates);
        Assert.Contains(new VehiclePositionUpdate("KIT-02", now.AddSeconds(-20), 37.01, 117.2, 0), updates);
        Assert.DoesNotContain(updates, u => u.VehicleId is "REC-99" or "REC-02");
        Assert.All(_events.Where(e => e.Source.StartsWith("positions-" + _suffix, StringComparison.Ordinal)), e => Assert.Empty(e.Bins));
        Assert.False(ingestion.HasExited);

        HashSet<DateTimeOffset?> Times(string vehicle) => [.. updates.Where(u => u.VehicleId == vehicle).Select(u => (DateTimeOffset?)u.Time)];
        Assert.DoesNotContain(now.AddSeconds(-40), Times("REC-01"));

        IReadOnlyCollection<string> Announced() =>
            [.. _events.Where(e => e.Source.StartsWith("positions-" + _suffix, StringComparison.Ordinal)).SelectMany(e => e.Vehicles)
                .Where(v => expected.Any(x => x.VehicleId == v.VehicleId && x.Time == v.Time)).Select(v => v.VehicleId)];
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, Func<string> what)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"not within 30 s: {what()}");
            }
            await Task.Delay(100);
        }
    }

    private sealed class RecordingConsumer(ConcurrentQueue<ReadingsStored> events) : IConsumer<ReadingsStored>
    {
        public Task Consume(ConsumeContext<ReadingsStored> context)
        {
            events.Enqueue(context.Message);
            return Task.CompletedTask;
        }
    }
}
