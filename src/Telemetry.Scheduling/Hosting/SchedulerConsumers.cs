using MassTransit;
using Telemetry.Contracts.Messages;
using Telemetry.Scheduling.Alerts;
using Telemetry.Scheduling.Signal;

namespace Telemetry.Scheduling.Hosting;

/// <summary>
/// The api's commands and the lease pings, on the queue <c>telemetry-scheduler</c>. On RabbitMQ that queue has a single active
/// consumer: only the process holding the lease gets them. A command waits (up to 15 s) until this process acts.
/// </summary>
public sealed class SchedulerCommandConsumer(SchedulerService scheduler, ISchedulerLease lease) :
    IConsumer<AcknowledgeAlert>, IConsumer<RequestCollectionJob>, IConsumer<CloseCollectionJob>, IConsumer<SchedulerLeasePing>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    public async Task Consume(ConsumeContext<AcknowledgeAlert> context)
    {
        var m = context.Message;
        var result = await RunAsync(context, (core, now) =>
        {
            var (ack, e) = core.Acknowledge(m.AlertId, m.By, now);
            var output = new SchedulerOutput();
            if (e is not null)
            {
                output.Alerts.Add(e);
            }
            var status = ack switch
            {
                AckResult.Acknowledged => "acknowledged",
                AckResult.AlreadyCleared => "already-cleared",
                _ => "not-found",
            };
            return (new AlertCommandResult(status, (e?.Alert ?? core.Alerts.Find(m.AlertId))?.Info()), output);
        });
        await context.RespondAsync(result);
    }

    public async Task Consume(ConsumeContext<RequestCollectionJob> context)
    {
        var m = context.Message;
        var result = await RunAsync(context, (core, now) =>
        {
            var (job, status, detail) = core.Request(m.Bin, m.Compartments ?? [], m.By, now);
            var output = new SchedulerOutput();
            if (job is not null)
            {
                output.Jobs.Add(new JobEvent(Jobs.JobStates.Requested, job, now, m.By));
                foreach (var c in job.Compartments)
                {
                    output.Alerts.AddRange(core.Alerts.Prediction(job.Bin, c, now, null, covered: true));
                }
            }
            return (new JobCommandResult(status, job?.Info(), detail), output);
        });
        await context.RespondAsync(result);
    }

    public async Task Consume(ConsumeContext<CloseCollectionJob> context)
    {
        var m = context.Message;
        var result = await RunAsync(context, (core, now) =>
        {
            var (job, status) = core.Close(m.JobId, m.Completed, now);
            var output = new SchedulerOutput();
            if (status == "ok")
            {
                output.Jobs.Add(new JobEvent(job!.State, job, now, m.By));
            }
            return (new JobCommandResult(status, job?.Info(), status == "conflict" ? $"job {m.JobId} is {job!.State}, not open" : null), output);
        });
        await context.RespondAsync(result);
    }

    public Task Consume(ConsumeContext<SchedulerLeasePing> context)
    {
        (lease as BrokerLease)?.Heard();
        return Task.CompletedTask;
    }

    private async Task<T> RunAsync<T>(ConsumeContext context, Func<SchedulerCore, DateTimeOffset, (T, SchedulerOutput)> command)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        timeout.CancelAfter(Wait);
        try
        {
            return await scheduler.RunAsync(command, timeout.Token);
        }
        catch (OperationCanceledException) when (!context.CancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"the scheduler did not act within {Wait.TotalSeconds:0} s (lease: {lease.Describe()})");
        }
    }
}

/// <summary>The queue <c>telemetry-scheduler</c>: single active consumer on RabbitMQ, commands in parallel with the pings (a waiting command must not hold up the lease).</summary>
public sealed class SchedulerCommandConsumerDefinition : ConsumerDefinition<SchedulerCommandConsumer>
{
    public SchedulerCommandConsumerDefinition()
    {
        EndpointName = SchedulerHosting.QueueName;
        ConcurrentMessageLimit = 16;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<SchedulerCommandConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.PrefetchCount = 32;
        if (endpointConfigurator is IRabbitMqReceiveEndpointConfigurator rabbit)
        {
            rabbit.SingleActiveConsumer = true;
        }
    }
}

/// <summary>
/// <c>ReadingsStored</c> for the scheduler: tells the fill signal which bins changed. Every scheduler has its own temporary queue
/// (a standby stays warm); in a process that also runs the api, the api's consumer does it.
/// </summary>
public sealed class SchedulerReadingsConsumer(FillIntelligence signal) : IConsumer<ReadingsStored>
{
    public Task Consume(ConsumeContext<ReadingsStored> context)
    {
        signal.Notify(context.Message.Bins.Select(b => b.BinId));
        return Task.CompletedTask;
    }
}

public sealed class SchedulerReadingsConsumerDefinition : ConsumerDefinition<SchedulerReadingsConsumer>
{
    public SchedulerReadingsConsumerDefinition()
    {
        Endpoint(e =>
        {
            e.Name = $"telemetry-scheduler-{Environment.MachineName.ToLowerInvariant()}-{Guid.NewGuid():N}";
            e.Temporary = true;
            e.ConcurrentMessageLimit = 1;
            e.PrefetchCount = 64;
        });
    }
}

/// <summary>Whether ingestion has the broker (for the offline rule): a temporary queue per scheduler process.</summary>
public sealed class IngestionConnectionConsumer(SchedulerService scheduler) : IConsumer<IngestionConnection>
{
    public Task Consume(ConsumeContext<IngestionConnection> context)
    {
        scheduler.IngestionConnectionChanged(context.Message.Source, context.Message.Connected);
        return Task.CompletedTask;
    }
}

public sealed class IngestionConnectionConsumerDefinition : ConsumerDefinition<IngestionConnectionConsumer>
{
    public IngestionConnectionConsumerDefinition()
    {
        Endpoint(e =>
        {
            e.Name = $"telemetry-scheduler-ingestion-{Environment.MachineName.ToLowerInvariant()}-{Guid.NewGuid():N}";
            e.Temporary = true;
            e.ConcurrentMessageLimit = 1;
        });
    }
}

/// <summary>
/// The jobs the acting scheduler decided, for a standby: it keeps its book of open jobs current, so the alerts it derives
/// (a <c>fill</c> alert is not raised for a covered compartment) are the acting one's. A temporary queue per scheduler process.
/// </summary>
public sealed class StandbyJobsConsumer(SchedulerService scheduler) : IConsumer<CollectionJobRequested>, IConsumer<CollectionJobClosed>
{
    public Task Consume(ConsumeContext<CollectionJobRequested> context)
    {
        scheduler.JobSeen(context.Message.Job);
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<CollectionJobClosed> context)
    {
        scheduler.JobSeen(context.Message.Job);
        return Task.CompletedTask;
    }
}

public sealed class StandbyJobsConsumerDefinition : ConsumerDefinition<StandbyJobsConsumer>
{
    public StandbyJobsConsumerDefinition()
    {
        Endpoint(e =>
        {
            e.Name = $"telemetry-scheduler-jobs-{Environment.MachineName.ToLowerInvariant()}-{Guid.NewGuid():N}";
            e.Temporary = true;
            e.ConcurrentMessageLimit = 1;
        });
    }
}
