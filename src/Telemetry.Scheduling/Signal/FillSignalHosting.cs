using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Telemetry.Scheduling.Signal;

public static class FillSignalHosting
{
    /// <summary>Health-check tag of the checks <c>/readyz</c> runs.</summary>
    public const string ReadyTag = "ready";

    /// <summary>
    /// The fill signal of the process (<see cref="FillIntelligence"/>), once, whichever roles need it (api, scheduler): the
    /// <c>Scheduling</c> settings, the service and its readiness check <c>fill-signal</c>. The roles add their listeners.
    /// </summary>
    public static IHostApplicationBuilder AddFillSignal(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(FillIntelligence)))
        {
            return builder;
        }
        services.AddOptions<SchedulingOptions>().BindConfiguration(SchedulingOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SchedulingOptions>, SchedulingOptionsValidator>();
        services.AddSingleton<FillIntelligence>();
        services.AddHostedService(sp => sp.GetRequiredService<FillIntelligence>());
        services.AddHealthChecks().AddCheck<FillIntelligenceHealthCheck>("fill-signal", HealthStatus.Unhealthy, [ReadyTag]);
        return builder;
    }
}
