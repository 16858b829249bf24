using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Telemetry.Messaging;

public static class MessagingHostingExtensions
{
    /// <summary>Health-check name of the bus in <c>/readyz</c>.</summary>
    public const string HealthCheckName = "bus";

    /// <summary>
    /// The message bus of the process (MassTransit): in memory between the roles of one process, RabbitMQ between
    /// processes (<c>Bus:*</c>, bound and validated at start). Called once by the composition root, after the
    /// roles, with the consumers the roles bring. The bus starts in the background: a role never waits for it
    /// (with RabbitMQ down, ingestion still stores and acknowledges); its health check reports it as Degraded
    /// while it is not connected.
    /// </summary>
    public static IHostApplicationBuilder AddTelemetryBus(this IHostApplicationBuilder builder, Action<IBusRegistrationConfigurator>? consumers = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<BusOptions>().BindConfiguration(BusOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<BusOptions>, BusOptionsValidator>();
        // The transport is chosen here, at composition; a wrong value is reported by the validator at start.
        var rabbit = string.Equals(builder.Configuration["Bus:Transport"], "rabbitmq", StringComparison.Ordinal);
        services.AddMassTransit(x =>
        {
            x.SetKebabCaseEndpointNameFormatter();
            x.ConfigureHealthCheckOptions(o =>
            {
                o.Name = HealthCheckName;
                o.MinimalFailureStatus = HealthStatus.Degraded;
            });
            consumers?.Invoke(x);
            if (rabbit)
            {
                x.UsingRabbitMq((context, cfg) =>
                {
                    var r = context.GetRequiredService<IOptions<BusOptions>>().Value.RabbitMq;
                    cfg.Host(r.Host, (ushort)r.Port, r.VirtualHost, h =>
                    {
                        h.Username(r.Username);
                        h.Password(r.Password);
                        h.RequestedConnectionTimeout(TimeSpan.FromSeconds(5));
                        // A dead peer is found within about two heartbeats: the scheduler's lease moves on that.
                        h.Heartbeat(TimeSpan.FromSeconds(5));
                    });
                    cfg.ConfigureEndpoints(context);
                });
            }
            else
            {
                x.UsingInMemory((context, cfg) => cfg.ConfigureEndpoints(context));
            }
        });
        services.AddOptions<MassTransitHostOptions>().Configure(o =>
        {
            o.WaitUntilStarted = false;
            o.StopTimeout = TimeSpan.FromSeconds(10);
        });
        return builder;
    }
}
