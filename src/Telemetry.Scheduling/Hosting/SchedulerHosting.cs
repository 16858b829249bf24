using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Telemetry.Scheduling.Signal;

namespace Telemetry.Scheduling.Hosting;

public static class SchedulerHosting
{
    /// <summary>The scheduler's command and lease queue.</summary>
    public const string QueueName = "telemetry-scheduler";

    /// <summary>
    /// Where commands and pings are sent: the queue's exchange (the receive endpoint binds its queue to it). Not the queue itself:
    /// a sender would declare the queue without the single-active-consumer argument, and RabbitMQ refuses a second declaration
    /// with other arguments.
    /// </summary>
    public static readonly Uri Address = new($"exchange:{QueueName}");

    /// <summary>
    /// The scheduler role: <c>Scheduling</c> and <c>Alerts</c> settings validated at start, the fill signal (shared with the api
    /// role in one process), the scheduler's loop, its lease (RabbitMQ's single active consumer, or the process itself on the
    /// in-memory bus, with a lock file refusing a second one), the webhooks and the readiness check <c>scheduler</c>. Its consumers
    /// join the bus through <see cref="AddSchedulerConsumers"/>.
    /// </summary>
    public static IHostApplicationBuilder AddScheduler(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        builder.AddFillSignal();
        services.AddOptions<AlertSettings>().BindConfiguration(AlertSettings.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AlertSettings>, AlertSettingsValidator>();
        var rabbit = IsRabbit(builder);
        if (!rabbit)
        {
            var sqlite = !string.Equals(builder.Configuration["Storage:Backend"], "influxdb", StringComparison.Ordinal);
            var beside = sqlite ? (builder.Configuration["Storage:Sqlite:Path"] ?? "data/telemetry.db") + ".scheduler.lock" : null;
            services.PostConfigure<SchedulingOptions>(o => o.LockPath ??= beside);
            services.AddSingleton<ISchedulerLease, InProcessLease>();
        }
        else
        {
            services.AddSingleton(sp => new BrokerLease(sp.GetRequiredService<IOptions<SchedulingOptions>>(), TimeProvider.System));
            services.AddSingleton<ISchedulerLease>(sp => sp.GetRequiredService<BrokerLease>());
            services.AddHostedService<LeasePinger>();
        }
        services.AddSingleton<AlertWebhooks>();
        services.AddHostedService(sp => sp.GetRequiredService<AlertWebhooks>());
        services.AddSingleton<SchedulerService>();
        services.AddSingleton<IFillSignalListener>(sp => sp.GetRequiredService<SchedulerService>());
        services.AddHostedService(sp => sp.GetRequiredService<SchedulerService>());
        services.AddHealthChecks().AddCheck<SchedulerHealthCheck>("scheduler", HealthStatus.Unhealthy, [FillSignalHosting.ReadyTag]);
        return builder;
    }

    /// <summary>The scheduler's consumers, for <c>AddTelemetryBus</c>; <paramref name="withReadings"/>: also its own <c>ReadingsStored</c> queue (not when the api role, in the same process, has one).</summary>
    public static void AddSchedulerConsumers(IBusRegistrationConfigurator bus, bool withReadings)
    {
        ArgumentNullException.ThrowIfNull(bus);
        bus.AddConsumer<SchedulerCommandConsumer, SchedulerCommandConsumerDefinition>();
        bus.AddConsumer<IngestionConnectionConsumer, IngestionConnectionConsumerDefinition>();
        bus.AddConsumer<StandbyJobsConsumer, StandbyJobsConsumerDefinition>();
        if (withReadings)
        {
            bus.AddConsumer<SchedulerReadingsConsumer, SchedulerReadingsConsumerDefinition>();
        }
    }

    private static bool IsRabbit(IHostApplicationBuilder builder) =>
        string.Equals(builder.Configuration["Bus:Transport"], "rabbitmq", StringComparison.Ordinal);
}
