using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Telemetry.Contracts.Configuration;
using Telemetry.Fleet;
using Telemetry.Host.Hosting;
using Telemetry.Simulator;

namespace Telemetry.Host.Commands;

/// <summary><c>telemetry simulate</c>: the bin-fleet simulator alone, publishing to a broker.</summary>
internal static class SimulateCommand
{
    public static Command Create()
    {
        var broker = new Option<string?>("--broker") { Description = "Broker to publish to: mqtt://host:port or mqtts://host:port (default: Mqtt:Server if external, else mqtt://127.0.0.1:1883)." };
        var speed = CommonOptions.Speed(1, "Simulated seconds per real second while the clock catches up with real time; above 1 needs --history.");
        var seed = CommonOptions.Seed();
        var history = CommonOptions.Duration("--history", "Start the simulated clock this far in the past; it runs --speed times faster until it reaches real time, then in real time", TimeSpan.Zero);
        var duration = CommonOptions.Duration("--duration", "Stop after this much simulated time, once the broker has acknowledged everything (default: run until Ctrl+C)", null);
        var bins = new Option<int?>("--bins") { Description = "Simulate N bins: the registry's, then synthesized copies (JY-056, …) for load tests." };
        var connections = new Option<int>("--connections") { Description = "Let the bins share N connections (load tests); 0 = one connection per bin, as real devices.", DefaultValueFactory = _ => 0 };
        var devicePassword = new Option<string?>("--device-password") { Description = "Device password; {id} is replaced by the bin id (brokers with per-device passwords)." };
        var noFaults = new Option<bool>("--no-faults") { Description = "No simulated faults (tilt, temperature spikes, devices going silent)." };
        var retryUnrouted = new Option<bool>("--retry-unrouted") { Description = "Publish again what the broker acknowledged with reason 16 (no matching subscribers)." };

        var command = new Command("simulate", "Run the bin-fleet simulator alone: every bin of the registry publishes fill, weight and status over MQTT.")
        {
            broker, speed, seed, history, duration, bins, connections, devicePassword, noFaults, retryUnrouted,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.Validators.Add(r =>
        {
            if (SpeedNeedsHistory(r.GetValue(speed), r.GetValue(history)) is { } error)
            {
                r.AddError(error);
            }
        });
        CommonOptions.DescribeSettings(command,
            ("Fleet:Registry", "Fleet registry file (default: the shipped Jiyang registry)."),
            ("Mqtt:Server", "Broker when --broker is not given: mqtt://host:port or mqtts://host:port (embedded, the default, means mqtt://127.0.0.1:1883)."),
            ("Mqtt:Username", "Username of the shared connections of --connections N (devices log in as their bin id, see --device-password)."),
            ("Mqtt:Password", "Password of the shared connections."));
        command.SetAction(async (parse, ct) =>
        {
            var config = CommandLineConfiguration.Build(parse.UnmatchedTokens, parse.CommandResult.Command.Options.Select(o => o.Name));
            using var loggers = CommandLogging.Create(config, ("simulator", LogLevel.Warning));
            var registry = Settings.LoadRegistry(config);
            if (parse.GetValue(bins) is { } n)
            {
                if (n < 1)
                {
                    throw new ConfigurationException("--bins", "must be at least 1");
                }
                registry = FleetSynthesizer.Resize(registry, n);
            }
            var endpoint = ResolveBroker(parse.GetValue(broker), config);

            var realNow = TimeProvider.System.GetUtcNow();
            var start = realNow - parse.GetValue(history);
            var clock = new AcceleratedClock(TimeProvider.System, start, parse.GetValue(speed), catchUp: true);
            var simulation = new FleetSimulation(registry, parse.GetValue(seed), start, new SimulationOptions { Faults = !parse.GetValue(noFaults) });
            await using var runner = new SimulatorRunner(simulation, clock, new SimulatorConnectionOptions
            {
                Broker = endpoint,
                Connections = parse.GetValue(connections),
                DevicePasswordFormat = parse.GetValue(devicePassword),
                RetryUnrouted = parse.GetValue(retryUnrouted),
                Username = config["Mqtt:Username"],
                Password = config["Mqtt:Password"],
            }, loggers.CreateLogger("simulator"));

            Console.WriteLine($"Simulating {registry.Bins.Count} bins ({registry.AllCompartments().Count()} compartments) of {registry.District} " +
                $"over {runner.ConnectionCount} connection(s) to {endpoint}; seed {parse.GetValue(seed)}. {DescribeClock(clock, start, parse.GetValue(history))} Ctrl+C stops.");
            var progress = new SimulatorConsole(runner, Console.Out, TimeSpan.FromSeconds(2));
            using var stopProgress = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var progressTask = progress.RunAsync(stopProgress.Token);
            var duration_ = parse.GetValue(duration);
            await runner.RunAsync(duration_ > TimeSpan.Zero ? start + duration_ : null, ct);
            await stopProgress.CancelAsync();
            await progressTask;
            Console.WriteLine(progress.Summary());
            return 0;
        });
        return command;
    }

    /// <summary>
    /// The simulated clock starts at real time without --history and cannot pass it (ingestion refuses
    /// readings from the future), so a speed above 1 alone would change nothing: refused, saying what to add.
    /// </summary>
    internal static string? SpeedNeedsHistory(double speed, TimeSpan history)
    {
        if (speed <= 1 || history > TimeSpan.Zero)
        {
            return null;
        }
        var example = TimeSpan.FromHours(6);
        var catchUp = TimeSpan.FromSeconds(example.TotalSeconds / (speed - 1));
        return string.Create(CultureInfo.InvariantCulture,
            $"--speed {speed} needs --history: the simulated clock starts at real time and never runs ahead of it, so without a start in the past the speed has no effect. " +
            $"Add e.g. --history 6h to replay the last 6 hours at x{speed} (caught up after {Durations.Format(catchUp)}), then continue in real time.");
    }

    internal static string DescribeClock(AcceleratedClock clock, DateTimeOffset start, TimeSpan history)
    {
        var from = string.Create(CultureInfo.InvariantCulture, $"Simulated clock starts {start.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z");
        if (history <= TimeSpan.Zero)
        {
            return from + " (now) and runs in real time.";
        }
        return clock.UntilCaughtUp is { } catchUp
            ? string.Create(CultureInfo.InvariantCulture, $"{from} ({Durations.Format(history)} ago), runs x{clock.Speed} until it reaches real time (in {Durations.Format(catchUp)}), then in real time.")
            : $"{from} and stays {Durations.Format(history)} behind real time (give --speed above 1 to catch up).";
    }

    private static MqttEndpoint ResolveBroker(string? option, Microsoft.Extensions.Configuration.IConfiguration config)
    {
        if (option is not null)
        {
            if (!MqttEndpoint.TryParse(option, out var e, out var error) || e.Embedded)
            {
                throw new ConfigurationException("--broker", e?.Embedded == true ? "simulate publishes to a running broker: give mqtt://host:port" : error);
            }
            return e;
        }
        var configured = Settings.MqttServer(config);
        return configured.Embedded ? new MqttEndpoint(false, "127.0.0.1", MqttEndpoint.EmbeddedPort, false) : configured;
    }
}
