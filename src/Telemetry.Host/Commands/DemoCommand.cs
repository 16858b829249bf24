using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Telemetry.Contracts.Configuration;
using Telemetry.Host.Embedded;
using Telemetry.Host.Hosting;
using Telemetry.Simulator;

namespace Telemetry.Host.Commands;

/// <summary>
/// <c>telemetry demo</c>: the system on one machine with the embedded defaults — the in-process
/// MQTT broker on 127.0.0.1:1883 and the simulator driving the registry's bins on one accelerated
/// clock shared by every component.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var speed = CommonOptions.Speed(60);
        var seed = CommonOptions.Seed();
        var history = CommonOptions.Duration("--history", "Start the shared clock this far in the past", TimeSpan.FromHours(12));
        var duration = CommonOptions.Duration("--duration", "Stop after this much simulated time (default: run until Ctrl+C)", null);
        var port = new Option<int>("--mqtt-port") { Description = "Port of the embedded MQTT broker on 127.0.0.1.", DefaultValueFactory = _ => MqttEndpoint.EmbeddedPort };

        var command = new Command("demo", "Run the whole system on one machine with embedded defaults, the simulator driving the bins on an accelerated clock.")
        {
            speed, seed, history, duration, port,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, ct) =>
        {
            var config = CommandLineConfiguration.Build(parse.UnmatchedTokens);
            using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
            var registry = Settings.LoadRegistry(config);
            var mqttPort = parse.GetValue(port);
            EnsurePortFree(mqttPort);

            await using var broker = new EmbeddedBroker(mqttPort, loggers.CreateLogger("broker"));
            await broker.StartAsync(ct);

            var start = TimeProvider.System.GetUtcNow() - parse.GetValue(history);
            var clock = new AcceleratedClock(TimeProvider.System, start, parse.GetValue(speed), catchUp: false);

            // Ingestion on the embedded broker, into the configured store (SQLite by default), on the shared clock.
            var endpoint = new MqttEndpoint(true, "127.0.0.1", mqttPort, false);
            var ingestionSettings = Settings.Ingestion(config, endpoint) with { ClientId = config["Mqtt:ClientId"] ?? "telemetry-demo-ingest" };
            await using var store = Settings.CreateStore(config);
            var ingestion = IngestionRole.Create(registry, ingestionSettings, Settings.Decoder(config), store, clock, loggers);
            using var stopIngestion = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var ingestionTask = IngestionRole.RunAsync(ingestion, loggers.CreateLogger("ingestion"), stopIngestion.Token);
            var simulation = new FleetSimulation(registry, parse.GetValue(seed), start);
            await using var runner = new SimulatorRunner(simulation, clock, new SimulatorConnectionOptions
            {
                Broker = new MqttEndpoint(false, "127.0.0.1", mqttPort, false),
            }, loggers.CreateLogger("simulator"));

            Console.WriteLine($"""
                Telemetry demo — {registry.District}, {registry.City}: {registry.Bins.Count} bins in {registry.Communities.Count} communities, {registry.AllCompartments().Count()} compartments
                  MQTT broker   embedded (MQTTnet), mqtt://127.0.0.1:{mqttPort}, persistent sessions on
                  simulator     {registry.Bins.Count} devices, one connection each (client id = username = bin id), seed {parse.GetValue(seed)}
                  ingestion     {ingestionSettings.ClientId} on {ingestionSettings.SubscriptionTopic} → {store.Name}{(store is Telemetry.Storage.Sqlite.SqliteStore sqlite ? " " + sqlite.Path : "")}
                  clock         starts {start.UtcDateTime:yyyy-MM-dd HH:mm}Z, x{parse.GetValue(speed)} (shared by every component)
                  watch         mosquitto_sub -h 127.0.0.1 -p {mqttPort} -t 'bins/#' -v
                Ctrl+C stops.
                """);

            var progress = new SimulatorConsole(runner, Console.Out, TimeSpan.FromSeconds(2)) { Extra = () => IngestionRole.Progress(ingestion) };
            using var stopProgress = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var progressTask = progress.RunAsync(stopProgress.Token);
            var d = parse.GetValue(duration);
            await runner.RunAsync(d > TimeSpan.Zero ? start + d : null, ct);
            if (!ct.IsCancellationRequested)
            {
                // A run with --duration ends when ingestion has stored everything the devices sent.
                while (ingestion.Metrics.MessagesAcknowledged < runner.Stats.Published && !ct.IsCancellationRequested)
                {
                    await Task.Delay(100, ct).ContinueWith(_ => { }, TaskScheduler.Default);
                }
            }
            await stopProgress.CancelAsync();
            await progressTask;
            await stopIngestion.CancelAsync();
            try
            {
                await ingestionTask;
            }
            catch (OperationCanceledException)
            {
                // Stopped.
            }
            Console.WriteLine(progress.Summary());
            Console.WriteLine(IngestionRole.Progress(ingestion));
            Console.WriteLine("Demo stopped.");
            return 0;
        });
        return command;
    }

    private static void EnsurePortFree(int port)
    {
        try
        {
            using var probe = new TcpListener(IPAddress.Loopback, port);
            probe.Start();
            probe.Stop();
        }
        catch (SocketException)
        {
            throw new ConfigurationException("--mqtt-port", $"127.0.0.1:{port} is already in use (another broker or demo?); stop it or pick another port with --mqtt-port");
        }
    }
}
