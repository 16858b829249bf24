using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Telemetry.Contracts.Time;
using Telemetry.Fleet;
using Telemetry.Ingestion.Events;
using Telemetry.Ingestion.Decoding;
using Telemetry.Ingestion.Pipeline;
using Telemetry.Storage;

namespace Telemetry.Ingestion.Hosting;

public static class IngestionHostingExtensions
{
    /// <summary>Health-check tag of the checks <c>/readyz</c> runs.</summary>
    public const string ReadyTag = "ready";

    /// <summary>
    /// The ingestion role: <c>Mqtt:*</c> and <c>Ingestion:*</c> bound and validated at start, the
    /// decoder on the registry, the pipeline and MQTT source as one <see cref="IngestionWorker"/>,
    /// and its health check. With a bus in the container (<c>AddTelemetryBus</c>, called before this), each stored
    /// batch is published as a <c>ReadingsStored</c> event (<see cref="ReadingsStoredPublisher"/>). Needs a <see cref="FleetRegistry"/>, an <see cref="ITelemetryStore"/>
    /// and the project's <see cref="TelemetryClock"/> in the container.
    /// </summary>
    public static IHostApplicationBuilder AddIngestion(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<MqttOptions>().BindConfiguration(MqttOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<MqttOptions>, MqttOptionsValidator>();
        services.AddOptions<IngestionOptions>().BindConfiguration(IngestionOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<IngestionOptions>, IngestionOptionsValidator>();
        services.TryAddSingleton(sp => new IngestionMetrics(sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), sp.GetService<TimeProvider>()));
        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<IngestionOptions>>().Value.ToSettings(sp.GetRequiredService<IOptions<MqttOptions>>().Value));
        services.TryAddSingleton(sp => new DeviceMessageDecoder(sp.GetRequiredService<FleetRegistry>(), sp.GetRequiredService<IOptions<IngestionOptions>>().Value.ToDecoderSettings()));
        services.TryAddSingleton(sp =>
        {
            var service = new IngestionService(
                sp.GetRequiredService<IngestionSettings>(),
                sp.GetRequiredService<DeviceMessageDecoder>(),
                sp.GetRequiredService<ITelemetryStore>(),
                sp.GetRequiredService<IngestionMetrics>(),
                sp.GetRequiredService<TelemetryClock>(),
                sp.GetRequiredService<ILoggerFactory>());
            var publisher = sp.GetService<ReadingsStoredPublisher>();
            service.Pipeline.StoredObserver = publisher;
            if (publisher is not null)
            {
                // Until the first connection there is nothing to announce: a start is no outage.
                var everConnected = false;
                publisher.DisconnectedSince = () =>
                {
                    var since = service.Source.DisconnectedSince;
                    everConnected |= since is null;
                    return everConnected ? since : null;
                };
            }
            return service;
        });
        if (services.Any(d => d.ServiceType == typeof(MassTransit.IBus)))
        {
            // Before the worker: hosted services stop in reverse order, so the publisher outlives the drain and
            // publishes its last batches; the bus (registered before this) outlives both.
            services.AddSingleton<ReadingsStoredPublisher>();
            services.AddHostedService(sp => sp.GetRequiredService<ReadingsStoredPublisher>());
        }
        services.AddSingleton<IngestionWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<IngestionWorker>());
        services.AddHealthChecks().AddCheck<IngestionHealthCheck>("ingestion", HealthStatus.Unhealthy, [ReadyTag]);
        return builder;
    }
}
