using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
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
        // 50 simulated minutes at an odd instant of their own: the ACL listener shares its topics with the other listener, where
        // other tests publish too; only this run's messages fall in this window.
        var start = new DateTimeOffset(2026, 10, 5, 0, 0, 0, TimeSpan.Zero).AddMilliseconds(Random.Shared.Next(1, 86_400_000));
        var clock = new AcceleratedClock(TimeProvider.System, start, 3600, catchUp: true);
        await using var subscriber = await RecordingSubscriber.StartAsync(broker, clock, "telemetry-ingest", "test-ingest");
        var registry = FleetSynthesizer.Resize(Registry, 5);
        var simulation = new FleetSimulation(registry, 9, clock.GetUtcNow());
        var from = simulation.Now;
        bool Ours((string Topic, byte[] Payload, DateTimeOffset ReceivedAt, bool Retained) m) =>
            Timestamp(m.Payload) is { } ts && ts >= from && ts <= from.AddMinutes(51);
        await using (var runner = new SimulatorRunner(simulation, clock, new SimulatorConnectionOptions { Broker = broker, DevicePasswordFormat = "test-{id}" }))
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await runner.RunAsync(simulation.Now.AddMinutes(50), timeout.Token);
            Assert.Equal(0, runner.Stats.Refused);
            Assert.True(runner.Stats.Published > 5 * 5, $"published {runner.Stats.Published}");
            Assert.True(await subscriber.WaitUntilAsync(m => m.Count(Ours) >= runner.Stats.Published, TimeSpan.FromSeconds(10)),
                $"received {subscriber.Messages.Count(Ours)} of {runner.Stats.Published} within 10 s");
        }
        Assert.Equal(registry.Bins.Select(b => b.Id).ToHashSet(), subscriber.Messages.Where(Ours).Select(m => m.Topic.Split('/')[1]).ToHashSet());
    }

    [Fact]
    public async Task All_devices_connect_and_announce_themselves_at_start_before_any_reading_is_due()
    {
        var broker = TestServices.Mosquitto;
        // A clock that stands still: no reading ever falls due, so whatever the devices publish they
        // publish because they connected. Its odd instant tells this run's statuses from any other
        // test's on the shared broker.
        var at = new DateTimeOffset(2026, 11, 23, 16, 0, 0, TimeSpan.Zero).AddMilliseconds(Random.Shared.Next(1, 86_400_000));
        var clock = new FrozenClock(at);
        var stamp = $"\"ts\":\"{at.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'}\"";
        await using var subscriber = await RecordingSubscriber.StartAsync(broker, TimeProvider.System);
        var simulation = new FleetSimulation(Registry, 5, at);

        var started = TimeProvider.System.GetTimestamp();
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var runner = new SimulatorRunner(simulation, clock, new SimulatorConnectionOptions { Broker = broker });
        await using (runner)
        {
            var run = runner.RunAsync(null, stop.Token);
            var ours = (IReadOnlyCollection<(string Topic, byte[] Payload, DateTimeOffset ReceivedAt, bool Retained)> m) =>
                m.Where(x => Encoding.UTF8.GetString(x.Payload).Contains(stamp, StringComparison.Ordinal)).ToList();
            var allOnline = await subscriber.WaitUntilAsync(m => ours(m).Select(x => x.Topic).Distinct().Count() >= 55, TimeSpan.FromSeconds(10));
            var elapsed = TimeProvider.System.GetElapsedTime(started);
            output.WriteLine($"{ours(subscriber.Messages).Count} online statuses after {elapsed.TotalSeconds:0.0} s; connected {runner.Stats.ConnectedClients}");
            Assert.True(allOnline, $"only {ours(subscriber.Messages).Select(x => x.Topic).Distinct().Count()} of 55 devices announced themselves within 10 s");
            Assert.Equal(55, runner.Stats.ConnectedClients);

            // Each device: its own status topic, online, with the clock's time; nothing else was produced.
            var statuses = ours(subscriber.Messages);
            Assert.Equal(Registry.Bins.Select(b => $"bins/{b.Id}/status").ToHashSet(), statuses.Select(x => x.Topic).ToHashSet());
            Assert.All(statuses, x => Assert.True(JsonDocument.Parse(x.Payload).RootElement.GetProperty("online").GetBoolean()));
            Assert.Equal(55, runner.Stats.Produced);

            // Retained: a subscriber arriving now is told every device is online.
            await using var late = await RecordingSubscriber.StartAsync(broker, TimeProvider.System, retained: true);
            Assert.True(await late.WaitUntilAsync(m => ours(m).Count(x => x.Retained) >= 55, TimeSpan.FromSeconds(10)),
                $"{ours(late.Messages).Count(x => x.Retained)} retained online statuses of this run");

            await stop.CancelAsync();
            await run;
        }
    }

    [Fact]
    public async Task A_refused_connection_shows_its_reason_once_and_repeats_are_summarized()
    {
        var broker = TestServices.MosquittoWithAcl;
        var logger = new ListLogger();
        var simulation = new FleetSimulation(Registry, 6, new DateTimeOffset(2026, 11, 23, 16, 0, 0, TimeSpan.Zero));
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var runner = new SimulatorRunner(simulation, new FrozenClock(simulation.Now),
            new SimulatorConnectionOptions { Broker = broker, DevicePasswordFormat = "wrong-{id}" }, logger);
        var run = runner.RunAsync(null, stop.Token);

        // The first refusal at once, with the device and the broker's reason; then one summary for the rest of the fleet.
        var refused = new Regex(@"^JY-\d{3}: connection refused: (BadUserNameOrPassword|NotAuthorized)");
        var summary = new Regex(@"^connection refused: (BadUserNameOrPassword|NotAuthorized)[^:]*: (\d+) more failed attempt\(s\) by (\d+) client\(s\)");
        var deadline = Task.Delay(TimeSpan.FromSeconds(20), stop.Token);
        while (true)
        {
            // Taken before the check: a line logged during it completes this signal, so none is missed.
            var next = logger.NextLine;
            if (logger.Lines.Any(summary.IsMatch) || deadline.IsCompleted)
            {
                break;
            }
            await Task.WhenAny(next, deadline);
        }
        await stop.CancelAsync();
        await run;

        var lines = logger.Lines.ToList();
        foreach (var line in lines)
        {
            output.WriteLine(line);
        }
        Assert.Single(lines, refused.IsMatch);
        var clients = int.Parse(summary.Match(Assert.Single(lines, summary.IsMatch)).Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(clients, 54, 55);
        // Far fewer lines than attempts: no line per device and retry.
        Assert.True(runner.Stats.ConnectFailures >= 55, $"{runner.Stats.ConnectFailures} failed attempts");
        Assert.True(lines.Count <= 3, $"{lines.Count} log lines for {runner.Stats.ConnectFailures} failed attempts");
        Assert.Equal(0, runner.Stats.ConnectedClients);
        Assert.Equal(0, runner.Stats.Published);
    }

    /// <summary>A clock that stands still (timers are the system's; the runner does not use the clock's).</summary>
    private sealed class FrozenClock(DateTimeOffset at) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => at;
    }

    /// <summary>Records log lines as formatted; a test waits for the next one instead of sleeping.</summary>
    private sealed class ListLogger : ILogger
    {
        private readonly ConcurrentQueue<string> _lines = new();
        private TaskCompletionSource _added = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IReadOnlyCollection<string> Lines => _lines;

        /// <summary>Completes when the next line is logged.</summary>
        public Task NextLine => Volatile.Read(ref _added).Task;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                _lines.Enqueue(formatter(state, exception));
                Interlocked.Exchange(ref _added, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            }
        }
    }

    /// <summary>A device message's <c>ts</c>; null without one (a Last Will) or when it is not JSON with a time.</summary>
    private static DateTimeOffset? Timestamp(byte[] payload)
    {
        try
        {
            using var doc = JsonDocument.Parse(payload);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("ts", out var ts) && ts.ValueKind == JsonValueKind.String
                && DateTimeOffset.TryParse(ts.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;
        }
        catch (JsonException)
        {
            return null; // not JSON: the decoder's check below names it
        }
    }

    private async Task SimulatedDayReachesSubscriber(MqttEndpoint broker)
    {
        // A simulated day at an odd instant of its own: other tests publish on the shared broker's bins/# too (with the real
        // clock's time, or simulated days of their own), and only this run's messages fall in this day.
        var start = new DateTimeOffset(2026, 11, 2, 0, 0, 0, TimeSpan.Zero).AddMilliseconds(Random.Shared.Next(1, 86_400_000));
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
            Assert.True(await subscriber.WaitUntilAsync(m => m.Count >= published, TimeSpan.FromSeconds(15)),
                $"received {subscriber.Messages.Count} of {published} within 15 s");
        }

        var received = subscriber.Messages.ToList();
        var messages = received.Where(m => Timestamp(m.Payload) is not { } ts || (ts >= start - TimeSpan.FromMinutes(1) && ts <= start.AddDays(1).AddMinutes(1))).ToList();
        output.WriteLine($"{received.Count - messages.Count} message(s) of other tests on the broker left out");
        // Every acknowledged message arrives (plus the Last Wills of devices that went silent, which carry no seq): those with a
        // seq alone must count them all (other tests' Last Wills on the same topics cannot make up for a lost one).
        var sequenced = messages.Count(m => m.Payload.AsSpan().IndexOf("\"seq\":"u8) >= 0);
        Assert.True(sequenced >= published, $"received {sequenced} of {published} with a seq ({messages.Count} in all)");
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
