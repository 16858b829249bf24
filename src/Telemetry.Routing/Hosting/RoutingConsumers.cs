using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Telemetry.Contracts.Messages;
using Telemetry.Fleet;

namespace Telemetry.Routing.Hosting;

/// <summary>
/// The jobs and lease pings on this worker's queue (single active consumer on RabbitMQ: only the holder gets them). A job of a
/// stream this worker does not plan is left to the worker that does (every routing queue gets every job). A job it cannot route
/// (unknown bin, compartment or stream) faults alone: logged, counted (<c>telemetry.routing.jobs_rejected</c>) and moved by
/// MassTransit to the queue's <c>_error</c> queue without retries; other jobs proceed.
/// </summary>
public sealed class RoutingJobsConsumer(RoutingService routing, FleetRegistry registry, IRoutingLease lease, RoutingMetrics metrics, ILogger<RoutingJobsConsumer> logger) :
    IConsumer<CollectionJobRequested>, IConsumer<CollectionJobClosed>, IConsumer<RoutingLeasePing>
{
    public Task Consume(ConsumeContext<CollectionJobRequested> context)
    {
        var job = context.Message.Job;
        try
        {
            RoutingCore.Check(registry, job);
        }
        catch (RouteJobRejectedException ex)
        {
            metrics.JobRejected();
            logger.LogError("Routing: {Error}; the message goes to the error queue", ex.Message);
            throw;
        }
        if (routing.Plans(job.Stream))
        {
            routing.Requested(job);
        }
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<CollectionJobClosed> context)
    {
        if (routing.Plans(context.Message.Job.Stream))
        {
            routing.Closed(context.Message.Job.Id);
        }
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<RoutingLeasePing> context)
    {
        (lease as BrokerRoutingLease)?.Heard(context.Message.Instance, context.Message.SentAt);
        return Task.CompletedTask;
    }
}

/// <summary>The worker's queue: <see cref="RoutingHosting.QueueName"/> of its streams; single active consumer on RabbitMQ; durable.</summary>
public sealed class RoutingJobsConsumerDefinition : ConsumerDefinition<RoutingJobsConsumer>
{
    public RoutingJobsConsumerDefinition(IOptions<RoutingOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        EndpointName = RoutingHosting.QueueName(options.Value.StreamList());
        ConcurrentMessageLimit = 16;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<RoutingJobsConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.PrefetchCount = 32;
        endpointConfigurator.UseMessageRetry(r =>
        {
            r.Ignore<RouteJobRejectedException>();
            r.Interval(3, TimeSpan.FromSeconds(1));
        });
        if (endpointConfigurator is IRabbitMqReceiveEndpointConfigurator rabbit)
        {
            rabbit.SingleActiveConsumer = true;
        }
    }
}
