using MassTransit;
using Telemetry.Messaging;
using Telemetry.Contracts.Messages;
using Telemetry.Scheduling.Alerts;
using Telemetry.Scheduling.Signal;

namespace Telemetry.Scheduling.Hosting;

/// <summary>
/// The api's commands and the lease pings, on the queue <c>telemetry-scheduler</c>. On RabbitMQ that queue has a single active
/// consumer: only the process holding the lease gets them. A process that does not act (yet) answers "unavailable" at once.
/// </summary>
public sealed class SchedulerCommandConsumer(SchedulerService scheduler, ISchedulerLease lease) :
    IConsumer<AcknowledgeAlert>, IConsumer<RequestCollectionJob>, IConsumer<CloseCollectionJob>, IConsumer<SchedulerLeasePing>, IConsumer<RoutePlanned>
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
        await context.RespondAsync(result ?? new AlertCommandResult("unavailable", null));
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
        await context.RespondAsync(result ?? new JobCommandResult("unavailable", null, Unavailable()));
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
        await context.RespondAsync(result ?? new JobCommandResult("unavailable", null, Unavailable()));
    }

    /// <summary>
    /// A route plan: its jobs become <c>planned</c>. Only the acting scheduler may store that; one that does not act yet (taking
    /// over) throws, and the message is retried (every second, for half a minute) until it does.
    /// </summary>
    public async Task Consume(ConsumeContext<RoutePlanned> context)
    {
        var plan = context.Message;
        var result = await RunAsync(context, (core, now) => ((object)plan.PlanId, core.Planned(plan)));
        if (result is null)
        {
            throw new SchedulerUnavailableException($"route plan {plan.PlanId} revision {plan.Revision}: {Unavailable()}");
        }
    }

    public Task Consume(ConsumeContext<SchedulerLeasePing> context)
    {
        (lease as BrokerLease)?.Heard(context.Message);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Runs a command in the scheduler's loop; null when this process does not act now (standing by, taking over) or the loop
    /// did not take it within 15 s (the store is away): the caller answers "unavailable" at once, and the consumer slot is free
    /// again (the lease pings share this queue).
    /// </summary>
    private async Task<T?> RunAsync<T>(ConsumeContext context, Func<SchedulerCore, DateTimeOffset, (T, SchedulerOutput)> command)
        where T : class
    {
        if (!scheduler.Active)
        {
            return null;
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        timeout.CancelAfter(Wait);
        try
        {
            return await scheduler.RunAsync(command, timeout.Token);
        }
        catch (OperationCanceledException) when (!context.CancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private string Unavailable() => $"the scheduler cannot act now ({(scheduler.Active ? "its store does not answer" : "it stands by or is taking over")}; lease: {lease.Describe()}); try again in a few seconds";
}

/// <summary>The queue <c>telemetry-scheduler</c>: single active consumer on RabbitMQ; commands in parallel with the pings (a command waits at most 15 s for the loop, so slots come free).</summary>
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
        // Only route plans throw (the scheduler does not act yet); commands answer "unavailable" instead.
        endpointConfigurator.UseMessageRetry(r =>
        {
            r.Handle<SchedulerUnavailableException>();
            r.Interval(30, TimeSpan.FromSeconds(1));
        });
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

public sealed class SchedulerReadingsConsumerDefinition() : TemporaryQueueDefinition<SchedulerReadingsConsumer>("scheduler");

/// <summary>Whether ingestion has the broker (for the offline rule): a temporary queue per scheduler process.</summary>
public sealed class IngestionConnectionConsumer(SchedulerService scheduler) : IConsumer<IngestionConnection>
{
    public Task Consume(ConsumeContext<IngestionConnection> context)
    {
        scheduler.IngestionConnectionChanged(context.Message.Source, context.Message.Connected);
        return Task.CompletedTask;
    }
}

public sealed class IngestionConnectionConsumerDefinition() : TemporaryQueueDefinition<IngestionConnectionConsumer>("scheduler-ingestion");

/// <summary>
/// The jobs the acting scheduler decided, for a standby: it keeps its book of open jobs current, so the alerts it derives
/// (a <c>fill</c> alert is not raised for a covered compartment) are the acting one's. A temporary queue per scheduler process.
/// </summary>
public sealed class StandbyJobsConsumer(SchedulerService scheduler) : IConsumer<CollectionJobRequested>, IConsumer<CollectionJobClosed>, IConsumer<CollectionJobPlanned>
{
    public Task Consume(ConsumeContext<CollectionJobPlanned> context)
    {
        scheduler.JobSeen(context.Message.Job);
        return Task.CompletedTask;
    }

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

public sealed class StandbyJobsConsumerDefinition() : TemporaryQueueDefinition<StandbyJobsConsumer>("scheduler-jobs");

/// <summary>The scheduler does not act now (standing by, taking over, or its store is away): the message is retried.</summary>
public sealed class SchedulerUnavailableException(string message) : Exception(message);
