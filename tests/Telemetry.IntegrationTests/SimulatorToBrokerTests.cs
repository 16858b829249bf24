using Microsoft.Extensions.Logging.Abstractions;
using Telemetry.Contracts.Configuration;
using Telemetry.Contracts.Readings;
using Telemetry.Fleet;
using Telemetry.Host.Embedded;
using Telemetry.Ingestion.Decoding;
using Telemetry.Simulator;
using Xunit.Abstractions;

namespace Telemetry.IntegrationTests;

/// <summary>The simulator publishes a simulated day at high speed to a real broker; a subscriber sees all of it.</summary>
public class SimulatorToBrokerTests(ITestOutputHelper output)
{
    private static readonly FleetRegistry Registry = FleetRegistryLoader.LoadDefault();

    [Fact]
    public Task Simulated_day_reaches_Mosquitto_from_every_bin_and_compartment_and_decodes() =>
        SimulatedDayReachesSubscriber(TestServices.Mosquitto);

    [Fact]
    public async Task Simulated_day_reaches_the_embedded_broker_from_every_bin_and_compartment_and_decodes()
    {
        var port = TestServices.FreePort();
        await using var broker = new EmbeddedBroker(port, NullLogger.Instance);
        await broker.StartAsync(CancellationToken.None);
        await SimulatedDayReachesSubscriber(new MqttEndpoint(false, "127.0.0.1", port, false));
    }

    [Fact]
    public async Task Devices_with_their_own_passwords_publish_through_the_ACL_listener()
    {
        var broker = TestServices.MosquittoWithAcl;
        var clock = new AcceleratedClock(TimeProvider.System, TimeProvider.System.GetUtcNow().AddHours(-1), 3600, catchUp: true);
        await using var subscriber = await RecordingSubscriber.StartAsync(broker, clock, "telemetry-ingest", "test-ingest");
        var registry = FleetSynthesizer.Resize(Registry, 5);
        var simulation = new FleetSimulation(registry, 9, clock.GetUtcNow());
        await using (var runner = new SimulatorRunner(simulation, clock, new SimulatorConnectionOptions { Broker = broker, DevicePasswordFormat = "test-{id}" }))
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await runner.RunAsync(simulation.Now.AddMinutes(50), timeout.Token);
            Assert.Equal(0, runner.Stats.Refused);
            Assert.True(runner.Stats.Published > 5 * 5, $"published {runner.Stats.Published}");
            await subscriber.WaitForAsync(n => n >= runner.Stats.Published, TimeSpan.FromSeconds(10));
        }
        Assert.Equal(registry.Bins.Select(b => b.Id).ToHashSet(), subscriber.Messages.Select(m => m.Topic.Split('/')[1]).ToHashSet());
    }

    private async Task SimulatedDayReachesSubscriber(MqttEndpoint broker)
    {
        var realNow = TimeProvider.System.GetUtcNow();
        var start = realNow.AddDays(-1);
        var clock = new AcceleratedClock(TimeProvider.System, start, 20_000, catchUp: true);
        await using var subscriber = await RecordingSubscriber.StartAsync(broker, clock);
        var simulation = new FleetSimulation(Registry, 42, start);

        long published;
        await using (var runner = new SimulatorRunner(simulation, clock, new SimulatorConnectionOptions { Broker = broker }))
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            await runner.RunAsync(start.AddDays(1), timeout.Token);
            Assert.False(timeout.IsCancellationRequested, "the simulated day did not finish in 3 minutes");
            published = runner.Stats.Published;
            output.WriteLine($"{broker}: published {published} messages, republished {runner.Stats.Republished}, refused {runner.Stats.Refused}");
            Assert.Equal(0, runner.Stats.Refused);
            Assert.Equal(0, runner.Unacknowledged);
            await subscriber.WaitForAsync(n => n >= published, TimeSpan.FromSeconds(15));
        }

        var messages = subscriber.Messages.ToList();
        // Every acknowledged message arrives (plus the Last Wills of devices that went silent).
        Assert.True(messages.Count >= published, $"received {messages.Count} of {published}");
        Assert.True(published > 55 * 200, $"only {published} messages in a simulated day");

        var decoder = new DeviceMessageDecoder(Registry, new DecoderSettings());
        var fills = new HashSet<(string, string)>();
        var weights = new HashSet<(string, string)>();
        foreach (var m in messages)
        {
            var r = decoder.Decode(m.Topic, m.Payload, m.ReceivedAt);
            Assert.True(r.IsAccepted, $"{m.Topic} {System.Text.Encoding.UTF8.GetString(m.Payload)}: {r}");
            foreach (var reading in r.Readings)
            {
                switch (reading)
                {
                    case FillReading f: fills.Add((f.BinId, f.Compartment)); break;
                    case WeightReading w: weights.Add((w.BinId, w.Compartment)); break;
                }
            }
        }
        var all = Registry.AllCompartments().Select(x => (x.Bin.Id, x.Compartment.Id)).ToHashSet();
        Assert.Equal(all, fills);
        Assert.True(weights.Count > all.Count * 0.8, $"weights from {weights.Count} of {all.Count} compartments");
        Assert.Equal(55, messages.Select(m => m.Topic.Split('/')[1]).Distinct().Count());
        var onlineStatuses = messages.Count(m => m.Topic.EndsWith("/status", StringComparison.Ordinal)
            && System.Text.Encoding.UTF8.GetString(m.Payload).Contains("\"online\":true", StringComparison.Ordinal));
        Assert.True(onlineStatuses >= 55, $"{onlineStatuses} online statuses");

        // seq increases on the wire per device; it only falls when the device rebooted (to 0, usually after its Last Will).
        foreach (var bin in messages.GroupBy(m => m.Topic.Split('/')[1]))
        {
            long last = -1;
            var rebooted = false;
            foreach (var m in bin)
            {
                using var doc = System.Text.Json.JsonDocument.Parse(m.Payload);
                if (!doc.RootElement.TryGetProperty("seq", out var seqElement))
                {
                    rebooted = true; // the Last Will carries no seq
                    continue;
                }
                var seq = seqElement.GetInt64();
                // A reboot restarts the counter at exactly 0 (even one that happened while offline, with no Last Will seen).
                Assert.True(seq > last || rebooted || seq == 0, $"{bin.Key}: seq {seq} after {last} without a reboot");
                last = seq;
                rebooted = false;
            }
        }
    }
}
