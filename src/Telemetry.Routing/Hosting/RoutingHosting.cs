using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Telemetry.Fleet;
using Telemetry.Routing.Planning;
using Telemetry.Routing.Travel;

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
        var services = builder.Services;
        services.AddOptions<TravelOptions>().BindConfiguration(TravelOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TravelOptions>>(new ListValidator<TravelOptions>(o => o.Validate()));
        services.AddOptions<ShiftPlannerOptions>().BindConfiguration(ShiftPlannerOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ShiftPlannerOptions>>(new ListValidator<ShiftPlannerOptions>(o => o.Validate()));
        services.AddSingleton<ITravelCostProvider>(sp =>
        {
            var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
            return TravelCostProviders.Create(sp.GetRequiredService<IOptions<TravelOptions>>().Value, () => http);
        });
        services.AddSingleton<IShiftPlanner>(sp => new OrToolsShiftPlanner(
            sp.GetRequiredService<FleetRegistry>(), sp.GetRequiredService<ITravelCostProvider>(), TimeProvider.System,
            sp.GetRequiredService<IOptions<ShiftPlannerOptions>>().Value));
    }

    /// <summary>Settings whose record says what is wrong with them (each message names its key).</summary>
    private sealed class ListValidator<T>(Func<T, IReadOnlyList<string>> validate) : IValidateOptions<T>
        where T : class
    {
        public ValidateOptionsResult Validate(string? name, T options)
        {
            var problems = validate(options);
            return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems[0]);
        }
    }
}
