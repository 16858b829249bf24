using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Telemetry.Fleet;
using Telemetry.Routing.Planning;

namespace Telemetry.Routing.Hosting;

public static class RoutingHosting
{
    /// <summary>Readiness tag of the routing role's check.</summary>
    public const string ReadyTag = "ready";

    /// <summary>The queue of a worker of <paramref name="streams"/>: <c>telemetry-routing</c> for all four, else <c>telemetry-routing-{streams}</c>.</summary>
    public static string QueueName(IReadOnlyList<WasteStream> streams)
    {
        ArgumentNullException.ThrowIfNull(streams);
        return streams.Count == WasteStreams.All.Count ? "telemetry-routing" : "telemetry-routing-" + string.Join("-", streams.Order().Select(s => s.Name()));
    }

    /// <summary>
    /// The routing role: <c>Routing</c> settings validated at start, the planner, the worker's loop, its lease (RabbitMQ's single
    /// active consumer of its queue, or the process itself on the in-memory bus) and the readiness check <c>routing</c>. Its
    /// consumer joins the bus through <see cref="AddRoutingConsumers"/>.
    /// </summary>
    public static IHostApplicationBuilder AddRouting(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<RoutingOptions>().BindConfiguration(RoutingOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RoutingOptions>, RoutingOptionsValidator>();
        services.AddSingleton(sp => new RoutingMetrics(sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        if (string.Equals(builder.Configuration["Bus:Transport"], "rabbitmq", StringComparison.Ordinal))
        {
            services.AddSingleton(sp =>
            {
                var o = sp.GetRequiredService<IOptions<RoutingOptions>>().Value;
                return new BrokerRoutingLease(QueueName(o.StreamList()), o.LeaseTimeout, TimeProvider.System);
            });
            services.AddSingleton<IRoutingLease>(sp => sp.GetRequiredService<BrokerRoutingLease>());
            services.AddHostedService<RoutingLeasePinger>();
        }
        else
        {
            services.AddSingleton<IRoutingLease, InProcessRoutingLease>();
        }
        builder.AddShiftPlanner();
        services.AddSingleton<RoutingService>();
        services.AddHostedService(sp => sp.GetRequiredService<RoutingService>());
        services.AddHealthChecks().AddCheck<RoutingHealthCheck>("routing", HealthStatus.Unhealthy, [ReadyTag]);
        return builder;
    }

    /// <summary>The routing worker's consumer, for <c>AddTelemetryBus</c>.</summary>
    public static void AddRoutingConsumers(IBusRegistrationConfigurator bus)
    {
        ArgumentNullException.ThrowIfNull(bus);
        bus.AddConsumer<RoutingJobsConsumer, RoutingJobsConsumerDefinition>();
    }

    /// <summary>The OR-Tools planner and its travel costs (the <c>Routing:Travel</c> and <c>Routing:Planner</c> settings).</summary>
    private static void AddShiftPlanner(this IHostApplicationBuilder builder)
    {
        // Filled in with the planner's settings.
        _ = builder;
    }
}
