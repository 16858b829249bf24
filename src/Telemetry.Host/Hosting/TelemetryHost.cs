using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Telemetry.Api;
using Telemetry.Contracts.Configuration;
using Telemetry.Contracts.Time;
using Telemetry.Fleet;
using Telemetry.Ingestion.Hosting;

namespace Telemetry.Host.Hosting;

/// <summary>
/// Builds and runs the one Generic Host of <c>run</c> and <c>demo</c>. Configuration:
/// appsettings.json and appsettings.{DOTNET_ENVIRONMENT}.json beside the executable, environment
/// variables, then <c>--Key=value</c>, in that order; logging from the <c>Logging</c> section. Options
/// are bound once and validated at start; a bad setting ends the process with exit code 2 and one line
/// naming the key. A role that fails stops the host, and the process exits non-zero naming the role.
/// </summary>
internal static partial class TelemetryHost
{
    public const int ExitConfiguration = 2;
    public const int ExitRoleFailed = 1;

    /// <summary>
    /// A builder with the project's configuration and logging, the registry, the clock and the
    /// <c>Host</c>/<c>Health</c> settings. <paramref name="web"/>: a <see cref="WebApplication"/>
    /// builder (health on <c>Health:Url</c>, and the api role when it joins).
    /// </summary>
    public static IHostApplicationBuilder CreateBuilder(IReadOnlyList<string> settingTokens, bool web, IReadOnlyDictionary<string, string?>? defaults = null)
    {
        var args = CommandLineConfiguration.SettingTokens(settingTokens).ToArray();
        IHostApplicationBuilder builder = web
            ? WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory })
            : Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
        var baseDefaults = new Dictionary<string, string?>
        {
            // The host's own report of a failed start repeats what the one-line error says.
            ["Logging:LogLevel:Microsoft.Extensions.Hosting"] = "None",
            ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
            ["Logging:LogLevel:MassTransit"] = "Warning",
            // Where the api role listens (CONTRACT §4); a process without it serves health on Health:Url instead.
            ["Urls"] = "http://127.0.0.1:8080",
        };
        // Lowest precedence: every file, variable and switch overrides these.
        builder.Configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource { InitialData = baseDefaults });
        if (defaults is not null)
        {
            // A command's own defaults (demo's quieter console) win over the shipped appsettings files but
            // not over environment variables or switches.
            var sources = builder.Configuration.Sources;
            var afterFiles = sources.Select((s, i) => (s, i)).LastOrDefault(x => x.s is Microsoft.Extensions.Configuration.Json.JsonConfigurationSource).i + 1;
            sources.Insert(Math.Max(1, afterFiles), new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource { InitialData = defaults });
        }
        SettingsCatalogue.CheckKnownKeys(builder.Configuration);

        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });

        var services = builder.Services;
        services.AddOptions<HostSettings>().BindConfiguration(HostSettings.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<HostSettings>, HostSettingsValidator>();
        services.AddOptions<HealthSettings>().BindConfiguration(HealthSettings.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<HealthSettings>, HealthSettingsValidator>();
        services.AddOptions<HostOptions>().Configure<IOptions<HostSettings>>((host, settings) =>
        {
            host.ShutdownTimeout = settings.Value.ShutdownTimeout;
            host.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.StopHost;
        });
        services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        services.AddHealthChecks();

        var registryPath = builder.Configuration["Fleet:Registry"];
        try
        {
            services.AddSingleton(FleetRegistryLoader.Load(registryPath));
        }
        catch (RegistryException ex)
        {
            throw new ConfigurationException("Fleet:Registry", ex.Message);
        }
        services.AddSingleton(TelemetryClock.Real);
        return builder;
    }

    /// <summary>The <c>Health:Url</c> of this configuration, if set.</summary>
    public static string? HealthUrl(IConfiguration config) => string.IsNullOrWhiteSpace(config["Health:Url"]) ? null : config["Health:Url"];

    /// <summary>
    /// Builds the host; on a web builder, serves <c>/healthz</c> (alive) and <c>/readyz</c> (every role's readiness),
    /// and, with <paramref name="api"/>, the api role on <c>Urls</c>; without it, health and <c>/metrics</c> on
    /// <c>Health:Url</c>.
    /// </summary>
    public static IHost Build(IHostApplicationBuilder builder, bool api = false)
    {
        switch (builder)
        {
            case WebApplicationBuilder web:
                var url = HealthUrl(web.Configuration);
                if (!api && url is not null && HealthSettingsValidator.HealthUrlIsValid(url))
                {
                    web.WebHost.UseUrls(url);
                }
                if (!api)
                {
                    web.AddTelemetryMetrics();
                }
                var app = web.Build();
                if (api)
                {
                    app.MapApi();
                }
                else
                {
                    app.MapPrometheusScrapingEndpoint(TelemetryMetrics.Path);
                }
                app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteHealthAsync }).AllowAnonymous();
                app.MapHealthChecks("/readyz", new HealthCheckOptions
                {
                    Predicate = c => c.Tags.Contains(IngestionHostingExtensions.ReadyTag),
                    ResponseWriter = WriteHealthAsync,
                    ResultStatusCodes = { [HealthStatus.Degraded] = StatusCodes.Status200OK },
                }).AllowAnonymous();
                return app;
            case HostApplicationBuilder host:
                return host.Build();
            default:
                throw new ArgumentException($"unsupported builder {builder.GetType().Name}", nameof(builder));
        }
    }

    /// <summary>
    /// Runs the host until <paramref name="ct"/> (a signal) or a role stops it; returns the exit code:
    /// 0 after a clean stop, 2 for a setting that is wrong (one line naming the key on stderr), 1 when
    /// a role failed (naming the role and why).
    /// </summary>
    public static async Task<int> RunAsync(IHost host, CancellationToken ct, Action<IServiceProvider>? afterStop = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        try
        {
            try
            {
                await host.StartAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                await host.StopAsync(CancellationToken.None);
                return Faults(host) ?? 0;
            }
            var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
            var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await using (ct.Register(() => stopping.TrySetResult()))
            await using (lifetime.ApplicationStopping.Register(() => stopping.TrySetResult()))
            {
                await stopping.Task;
            }
            // A role that had already ended when the stop began is what caused it (cancelled counts too).
            var endedEarly = host.Services.GetServices<IHostedService>().OfType<BackgroundService>()
                .Where(s => s.ExecuteTask is { IsCompleted: true, IsCompletedSuccessfully: false }).ToList();
            await host.StopAsync(CancellationToken.None);
            afterStop?.Invoke(host.Services);
            return Faults(host, endedEarly) ?? 0;
        }
        catch (Exception ex) when (ConfigurationProblem(ex) is { } line)
        {
            await Console.Error.WriteLineAsync(line);
            return ExitConfiguration;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // A start or stop that failed (a port in use, a service that threw while stopping): say so, exit 1.
            await Console.Error.WriteLineAsync($"Telemetry failed: {ex.GetType().Name}: {ex.Message}");
            await Console.Error.WriteLineAsync(ex.ToString());
            try
            {
                await host.StopAsync(CancellationToken.None);
            }
            catch (Exception stopError) when (stopError is not OutOfMemoryException)
            {
                await Console.Error.WriteLineAsync($"Stopping after the failure failed too: {stopError.Message}");
            }
            return ExitRoleFailed;
        }
        finally
        {
            if (host is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync();
            }
            else
            {
                host.Dispose();
            }
        }
    }

    /// <summary>The exit code for a role that failed, after printing which and why; null when none did.</summary>
    private static int? Faults(IHost host, IReadOnlyCollection<BackgroundService>? endedEarly = null)
    {
        int? code = null;
        foreach (var service in host.Services.GetServices<IHostedService>().OfType<BackgroundService>())
        {
            if (service.ExecuteTask is { IsCanceled: true } && endedEarly?.Contains(service) == true)
            {
                Console.Error.WriteLine($"Role {RoleName(service)} failed: it ended (cancelled) before the process was asked to stop");
                code ??= ExitRoleFailed;
            }
            if (service.ExecuteTask is { IsFaulted: true } task)
            {
                var ex = task.Exception!.GetBaseException();
                var role = RoleName(service);
                if (ConfigurationProblem(ex) is { } line)
                {
                    Console.Error.WriteLine(line);
                    Console.Error.WriteLine($"Role {role} stopped: the setting above is wrong.");
                    code = ExitConfiguration;
                }
                else
                {
                    Console.Error.WriteLine($"Role {role} failed: {ex.GetType().Name}: {ex.Message}");
                    Console.Error.WriteLine(ex.ToString());
                    code ??= ExitRoleFailed;
                }
            }
        }
        return code;
    }

    private static string RoleName(BackgroundService service) =>
        service.GetType().Name.Replace("Worker", "", StringComparison.Ordinal).Replace("Service", "", StringComparison.Ordinal).ToLowerInvariant();

    /// <summary>The one line for an exception that is a wrong setting, or null.</summary>
    internal static string? ConfigurationProblem(Exception ex) => ex switch
    {
        ConfigurationException c => c.Message,
        OptionsValidationException o => $"Configuration error: {o.Failures.First()}",
        AggregateException { InnerExceptions.Count: 1 } a => ConfigurationProblem(a.InnerExceptions[0]),
        InvalidOperationException i when BinderFailure().Match(i.Message) is { Success: true } m =>
            $"Configuration error: {m.Groups["key"].Value}: '{m.Groups["value"].Value}' is not a valid {Friendly(m.Groups["type"].Value)}",
        _ => ex.InnerException is { } inner ? ConfigurationProblem(inner) : null,
    };

    private static string Friendly(string type) => type switch
    {
        "System.TimeSpan" => "TimeSpan such as 00:00:30 or 7.00:00:00",
        "System.Int32" => "whole number",
        "System.Double" => "number",
        "System.Boolean" => "boolean (true or false)",
        _ => type,
    };

    [GeneratedRegex(@"Failed to convert configuration value '(?<value>.*)' at '(?<key>[^']+)' to type '(?<type>[^']+)'", RegexOptions.Singleline)]
    private static partial Regex BinderFailure();

    private static Task WriteHealthAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description, data = e.Value.Data }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body));
    }
}
