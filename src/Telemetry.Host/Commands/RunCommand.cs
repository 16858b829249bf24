using Telemetry.Contracts.Configuration;
using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Telemetry.Host.Embedded;
using Telemetry.Host.Hosting;

namespace Telemetry.Host.Commands;

/// <summary><c>telemetry run --roles …</c>: the production roles, configured by CONTRACT §4.</summary>
internal static class RunCommand
{
    /// <summary>Roles this build can run. Scheduler, routing and api join as they are built.</summary>
    public static readonly string[] AvailableRoles = ["ingestion"];

    private static readonly string[] PlannedRoles = ["scheduler", "routing", "api"];

    public static Command Create()
    {
        var roles = new Option<string>("--roles") { Description = $"Comma-separated roles to run (available: {string.Join(", ", AvailableRoles)}).", DefaultValueFactory = _ => string.Join(',', AvailableRoles) };
        var command = new Command("run", "Run production roles with the configuration of appsettings.json, environment variables and --Key=value switches.") { roles };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, ct) =>
        {
            var config = CommandLineConfiguration.Build(parse.UnmatchedTokens);
            var selected = ParseRoles(parse.GetValue(roles) ?? "");
            using var loggers = LoggerFactory.Create(b => b.AddConfiguration(config.GetSection("Logging")).AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; }));
            var logger = loggers.CreateLogger("telemetry");

            // Everything is checked before anything starts: a wrong setting stops here, naming its key.
            var registry = Settings.LoadRegistry(config);
            var ingestion = Settings.Ingestion(config);
            var decoder = Settings.Decoder(config);
            await using var store = Settings.CreateStore(config);

            await using var broker = ingestion.Broker.Embedded ? new EmbeddedBroker(ingestion.Broker.Port, loggers.CreateLogger("broker")) : null;
            if (broker is not null)
            {
                await broker.StartAsync(ct);
            }

            var service = IngestionRole.Create(registry, ingestion, decoder, store, TimeProvider.System, loggers);
            logger.LogInformation("Roles {Roles}: {Bins} bins of {District}; broker {Broker} as {ClientId} on {Topic}; store {Store}",
                string.Join(',', selected), registry.Bins.Count, registry.District, ingestion.Broker, ingestion.ClientId, ingestion.SubscriptionTopic, store.Name);
            using var progressStop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var progress = ReportAsync(() => IngestionRole.Progress(service), Settings.ProgressInterval(config), progressStop.Token);
            try
            {
                await IngestionRole.RunAsync(service, logger, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Stopped by a signal.
            }
            await progressStop.CancelAsync();
            await progress;
            Console.WriteLine(IngestionRole.Progress(service));
            Console.WriteLine("Stopped.");
            return 0;
        });
        return command;
    }

    internal static string[] ParseRoles(string text)
    {
        var roles = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal).ToArray();
        if (roles.Length == 0 || roles.Contains("all", StringComparer.Ordinal))
        {
            return AvailableRoles;
        }
        foreach (var role in roles)
        {
            if (PlannedRoles.Contains(role, StringComparer.Ordinal))
            {
                throw new ConfigurationException("--roles", $"role '{role}' is not part of this build yet; available: {string.Join(", ", AvailableRoles)}");
            }
            if (!AvailableRoles.Contains(role, StringComparer.Ordinal))
            {
                throw new ConfigurationException("--roles", $"unknown role '{role}'; available: {string.Join(", ", AvailableRoles)}");
            }
        }
        return roles;
    }

    internal static async Task ReportAsync(Func<string> line, TimeSpan every, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(every);
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                Console.WriteLine(line());
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }
}
