using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Telemetry.Api;
using Telemetry.Contracts.Configuration;
using Telemetry.Host.Embedded;
using Telemetry.Host.Hosting;
using Telemetry.Ingestion;
using Telemetry.Ingestion.Hosting;
using Telemetry.Messaging;
using Telemetry.Routing.Hosting;
using Telemetry.Scheduling.Hosting;
using Telemetry.Storage.Hosting;

namespace Telemetry.Host.Commands;

/// <summary><c>telemetry run --roles …</c>: the production roles in one Generic Host, configured by CONTRACT §4.</summary>
internal static class RunCommand
{
    /// <summary>Roles this build can run. Routing joins when it is built.</summary>
    public static readonly string[] AvailableRoles = ["ingestion", "scheduler", "routing", "api"];


    public static Command Create()
    {
        var roles = new Option<string>("--roles") { Description = $"Comma-separated roles to run (available: {string.Join(", ", AvailableRoles)}; default all).", DefaultValueFactory = _ => string.Join(',', AvailableRoles) };
        var mqttPort = new Option<int>("--mqtt-port") { Description = "Port of the embedded MQTT broker on 127.0.0.1 (Mqtt:Server=embedded, with the ingestion role).", DefaultValueFactory = _ => MqttEndpoint.EmbeddedPort };
        var command = new Command("run", """
            Run production roles in one host. Settings come from appsettings.json, appsettings.{DOTNET_ENVIRONMENT}.json,
            environment variables (Mqtt__Server) and --Key=value switches, in that order, e.g.
              --Mqtt:Server=mqtt://127.0.0.1:1883 --Mqtt:Username=ingest-1 --Mqtt:Password=…
              --Storage:Backend=influxdb --Storage:InfluxDb:Url=http://127.0.0.1:8086 --Storage:InfluxDb:Token=… --Storage:InfluxDb:Org=…
              --Health:Url=http://0.0.0.0:8081 --Host:ProgressFormat=json --Host:ShutdownTimeout=00:00:30
            docs/configuration.md lists every key. Exit codes: 0 stopped, 1 a role failed, 2 a setting is wrong.
            """) { roles, mqttPort };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, ct) =>
        {
            var selected = ParseRoles(parse.GetValue(roles) ?? "");
            CommandLineConfiguration.SettingTokens(parse.UnmatchedTokens, parse.CommandResult.Command.Options.Select(o => o.Name));
            var api = selected.Contains("api", StringComparer.Ordinal);
            var ingestion = selected.Contains("ingestion", StringComparer.Ordinal);
            var scheduler = selected.Contains("scheduler", StringComparer.Ordinal);
            var routing = selected.Contains("routing", StringComparer.Ordinal);
            var probe = TelemetryHost.CreateBuilder(parse.UnmatchedTokens, web: false);
            var web = api || TelemetryHost.HealthUrl(probe.Configuration) is not null;
            var builder = web ? TelemetryHost.CreateBuilder(parse.UnmatchedTokens, web: true) : probe;

            if (ingestion && MqttEndpoint.TryParse(builder.Configuration["Mqtt:Server"], out var endpoint, out _) && endpoint.Embedded)
            {
                var port = parse.GetValue(mqttPort);
                builder.Services.PostConfigure<MqttOptions>(o => o.EmbeddedPort = port);
                builder.Services.AddHostedService<EmbeddedBrokerService>();
            }
            builder.AddTelemetryStore();
            // Before the roles: it starts before them and stops after them (their last events still go out). An
            // in-memory bus carries events between the roles of this process only: with nobody here to consume
            // them (ingestion alone), there is no bus and nothing is published.
            var rabbit = string.Equals(builder.Configuration["Bus:Transport"], "rabbitmq", StringComparison.Ordinal);
            if (api || scheduler || routing || rabbit || builder.Configuration["Bus:Transport"] is { } other && other != "inmemory")
            {
                builder.AddTelemetryBus(bus =>
                {
                    if (api)
                    {
                        ApiHostingExtensions.AddApiConsumers(bus);
                    }
                    if (scheduler)
                    {
                        SchedulerHosting.AddSchedulerConsumers(bus, withReadings: !api);
                    }
                    if (routing)
                    {
                        RoutingHosting.AddRoutingConsumers(bus);
                    }
                });
            }
            if (ingestion)
            {
                // Before the role, so the reporter stops after it and its last line shows the drained state.
                builder.Services.AddHostedService<ProgressReporter>();
                builder.AddIngestion();
            }
            if (scheduler)
            {
                builder.AddScheduler();
            }
            if (routing)
            {
                builder.AddRouting();
            }
            if (api)
            {
                builder.AddApi();
            }
            var host = TelemetryHost.Build(builder, api);
            if (api)
            {
                var urls = builder.Configuration["Urls"];
                Console.WriteLine($"Api on {urls}: /api/bins, /docs (API docs), /openapi/v1.json, /healthz, /readyz, /metrics");
            }
            var code = await TelemetryHost.RunAsync(host, ct);
            if (code != TelemetryHost.ExitConfiguration)
            {
                Console.WriteLine(code == 0 ? "Stopped." : "Stopped after a failure.");
            }
            return code;
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
            if (!AvailableRoles.Contains(role, StringComparer.Ordinal))
            {
                throw new ConfigurationException("--roles", $"unknown role '{role}'; available: {string.Join(", ", AvailableRoles)}");
            }
        }
        return roles;
    }
}
