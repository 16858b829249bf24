using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Configuration;
using Telemetry.Api;
using Telemetry.Api.Access;
using Telemetry.Contracts.Configuration;
using Telemetry.Contracts.Time;
using Telemetry.Fleet;
using Telemetry.Host.Embedded;
using Telemetry.Host.Hosting;
using Telemetry.Scheduling.Hosting;
using Telemetry.Ingestion;
using Telemetry.Ingestion.Hosting;
using Telemetry.Messaging;
using Telemetry.Routing.Hosting;
using Telemetry.Simulator;
using Telemetry.Storage.Hosting;
using Telemetry.Storage.Sqlite;

namespace Telemetry.Host.Commands;

/// <summary>
/// <c>telemetry demo</c>: the system on one machine with the embedded defaults, in one host — the
/// in-process MQTT broker on 127.0.0.1:1883 (first to start, last to stop), ingestion into SQLite,
/// and the simulator driving the registry's bins — all on one accelerated clock, the project clock.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var speed = CommonOptions.Speed(60);
        var seed = CommonOptions.Seed();
        var history = CommonOptions.Duration("--history", "Start the shared clock this far in the past", TimeSpan.FromHours(12));
        var duration = CommonOptions.Duration("--duration", "Stop after this much simulated time, once everything published is stored (default: run until Ctrl+C)", null);
        var port = new Option<int>("--mqtt-port") { Description = "Port of the embedded MQTT broker on 127.0.0.1.", DefaultValueFactory = _ => MqttEndpoint.EmbeddedPort };

        var command = new Command("demo", """
            Run the whole system on one machine with embedded defaults (in-process MQTT broker, SQLite), the simulator
            driving the registry's bins on an accelerated clock. Settings as for run (--Key=value), e.g.
              --Storage:Sqlite:Path=/tmp/demo.db --Fleet:Registry=my-district.json --Logging:LogLevel:Default=Information
            """)
        {
            speed, seed, history, duration, port,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, ct) =>
        {
            CommandLineConfiguration.SettingTokens(parse.UnmatchedTokens, parse.CommandResult.Command.Options.Select(o => o.Name));
            var builder = TelemetryHost.CreateBuilder(parse.UnmatchedTokens, web: true, new Dictionary<string, string?>
            {
                // The demo's console belongs to the progress lines; warnings and errors still show.
                ["Logging:LogLevel:Default"] = "Warning",
                ["Bus:Transport"] = "inmemory",
            });
            // One key per role, made now, known to this process only, printed below (CONTRACT §6).
            var keys = ApiRoles.All.ToDictionary(r => r, _ => ApiKeys.NewKey());
            builder.Configuration.AddInMemoryCollection(keys.SelectMany(k => new[]
            {
                new KeyValuePair<string, string?>($"Api:Keys:demo-{k.Key}:Role", k.Key),
                new KeyValuePair<string, string?>($"Api:Keys:demo-{k.Key}:Sha256", ApiKeys.Hash(k.Value)),
            }));
            var solverTime = DemoSolverTime(builder.Configuration, parse.GetValue(speed));
            var mqttPort = parse.GetValue(port);
            EnsurePortFree(mqttPort, "--mqtt-port", "another broker or demo?; stop it or pick another port with --mqtt-port");
            if (Uri.TryCreate(builder.Configuration["Urls"]?.Split(';')[0], UriKind.Absolute, out var apiUrl) && apiUrl.IsLoopback)
            {
                EnsurePortFree(apiUrl.Port, "Urls", "another demo or api?; stop it or pick another address, e.g. --Urls=http://127.0.0.1:8081");
            }
            var start = TimeProvider.System.GetUtcNow() - parse.GetValue(history);
            var d = parse.GetValue(duration);
            var demo = new DemoSettings(start, parse.GetValue(speed), parse.GetValue(seed), d > TimeSpan.Zero ? start + d : null);
            var clock = new AcceleratedClock(TimeProvider.System, start, demo.Speed, catchUp: false);

            var services = builder.Services;
            // Everything the simulation drives runs on the accelerated clock; the framework's TimeProvider stays real.
            services.Replace(ServiceDescriptor.Singleton(new TelemetryClock(clock) { Rate = demo.Speed }));
            services.PostConfigure<MqttOptions>(o =>
            {
                o.Server = MqttEndpoint.EmbeddedName;
                o.EmbeddedPort = mqttPort;
                o.ClientId ??= "telemetry-demo-ingest";
            });
            services.AddHostedService<EmbeddedBrokerService>();
            builder.AddTelemetryStore();
            builder.AddTelemetryBus(bus =>
            {
                ApiHostingExtensions.AddApiConsumers(bus);
                SchedulerHosting.AddSchedulerConsumers(bus, withReadings: false);
                RoutingHosting.AddRoutingConsumers(bus);
                DemoTrucksConsumer.Register(bus);
            });
            builder.AddIngestion();
            builder.AddScheduler();
            builder.AddRouting();
            builder.AddApi();
            // The trucks drive the planned routes and empty what they visit (the simulator no longer empties bins by itself).
            services.AddSingleton<DemoTrucks>();
            services.AddSingleton(demo);
            services.AddSingleton(sp => new DemoSimulatorService(
                // Owned by the service (not the container): disposed when it stops, before the broker.
                new SimulatorRunner(new FleetSimulation(sp.GetRequiredService<FleetRegistry>(), demo.Seed, demo.Start, new SimulationOptions { SelfCollect = false }), clock,
                    new SimulatorConnectionOptions { Broker = new MqttEndpoint(false, "127.0.0.1", mqttPort, false) },
                    sp.GetRequiredService<ILoggerFactory>().CreateLogger("simulator"), sp.GetRequiredService<DemoTrucks>()),
                sp.GetRequiredService<IngestionService>(), sp.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>(), demo,
                sp.GetRequiredService<ILogger<DemoSimulatorService>>()));
            services.AddHostedService(sp => sp.GetRequiredService<DemoSimulatorService>());

            var host = TelemetryHost.Build(builder, api: true);
            var urls = builder.Configuration["Urls"];
            var registry = host.Services.GetRequiredService<FleetRegistry>();
            var store = host.Services.GetRequiredService<Telemetry.Storage.ITelemetryStore>();
            var ingestion = host.Services.GetRequiredService<IngestionSettings>();
            Console.WriteLine($"""
                Telemetry demo — {registry.District}, {registry.City}: {registry.Bins.Count} bins in {registry.Communities.Count} communities, {registry.AllCompartments().Count()} compartments
                  MQTT broker   embedded (MQTTnet), mqtt://127.0.0.1:{mqttPort}, persistent sessions on
                  simulator     {registry.Bins.Count} devices, one connection each (client id = username = bin id), seed {demo.Seed}
                  ingestion     {ingestion.ClientId} on {string.Join(" and ", ingestion.SubscriptionTopics)} → {store.Name}{(store is SqliteStore sqlite ? " " + sqlite.Path : "")}
                  clock         starts {start.UtcDateTime:yyyy-MM-dd HH:mm}Z, x{demo.Speed} (shared by every component){(demo.Until is { } until ? $", until {until.UtcDateTime:yyyy-MM-dd HH:mm}Z" : "")}
                  routing       each stream's shift planned {builder.Configuration["Routing:LeadTime"] ?? new RoutingOptions().LeadTime.ToString("c", CultureInfo.InvariantCulture)} (simulated) before it starts; the solver takes up to {solverTime.TotalSeconds:0.###} s (real) a plan
                  watch         mosquitto_sub -h 127.0.0.1 -p {mqttPort} -t 'bins/#' -v
                  dashboard     {urls}/   (sign in with a key below; keys are for this run only)
                  api           {urls}/api/bins   API docs {urls}/docs
                    analyst     {keys[ApiRoles.Analyst]}
                    dispatcher  {keys[ApiRoles.Dispatcher]}
                    admin       {keys[ApiRoles.Admin]}
                  try           curl -H 'Authorization: Bearer {keys[ApiRoles.Analyst]}' {urls}/api/bins
                Ctrl+C stops.
                """);
            var code = await TelemetryHost.RunAsync(host, ct, sp =>
            {
                var simulator = sp.GetRequiredService<DemoSimulatorService>();
                if (simulator.Progress is { } progress)
                {
                    Console.WriteLine(progress.Summary());
                }
                Console.WriteLine(ProgressReporter.Format(sp.GetRequiredService<IngestionService>().Snapshot(), json: false));
                var published = simulator.Runner.Stats.Published;
                var acknowledged = sp.GetRequiredService<IngestionService>().Metrics.MessagesAcknowledged;
                Console.WriteLine($"Demo stopped: {published:N0} messages published, {acknowledged:N0} stored and acknowledged.");
                if (sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<HostSettings>>().Value.Json)
                {
                    var snapshot = sp.GetRequiredService<IngestionService>().Snapshot();
                    Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(new { status = "demo", published, acknowledged, readingsStored = snapshot.ReadingsStored, deadLetters = snapshot.DeadLetters }));
                }
            });
            return code;
        });
        return command;
    }

    /// <summary>
    /// The solver's time limit is real time, the lead time simulated: at a high speed, four streams' plans of 5 s each would outlast
    /// the lead time and the shifts would start unplanned. Unless <c>Routing:SolverTime</c> is set, the demo gives each plan a quarter
    /// of the lead time in real time, from 100 ms to the usual 5 s; returns the limit in force.
    /// </summary>
    private static TimeSpan DemoSolverTime(IConfigurationManager configuration, double speed)
    {
        if (configuration["Routing:SolverTime"] is { } set && !string.IsNullOrWhiteSpace(set))
        {
            return TimeSpan.TryParse(set, CultureInfo.InvariantCulture, out var given) ? given : new RoutingOptions().SolverTime; // a bad value: the validator names it
        }
        var defaults = new RoutingOptions();
        var lead = TimeSpan.TryParse(configuration["Routing:LeadTime"], CultureInfo.InvariantCulture, out var l) ? l : defaults.LeadTime;
        var limit = TimeSpan.FromTicks(Math.Clamp((long)(lead.Ticks / speed / 4), TimeSpan.FromMilliseconds(100).Ticks, defaults.SolverTime.Ticks));
        configuration.AddInMemoryCollection([new KeyValuePair<string, string?>("Routing:SolverTime", limit.ToString("c", CultureInfo.InvariantCulture))]);
        return limit;
    }

    private static void EnsurePortFree(int port, string setting, string hint)
    {
        try
        {
            using var probe = new TcpListener(IPAddress.Loopback, port);
            probe.Start();
            probe.Stop();
        }
        catch (SocketException)
        {
            throw new ConfigurationException(setting, $"127.0.0.1:{port} is already in use ({hint})");
        }
    }
}
