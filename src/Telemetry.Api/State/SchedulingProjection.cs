using MassTransit;
using Telemetry.Messaging;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Telemetry.Contracts.Messages;
using Telemetry.Contracts.Time;
using Telemetry.Scheduling;
using Telemetry.Storage;

namespace Telemetry.Api.State;

/// <summary>
/// Loads the alert and job projections from the store at start (the last 400 days), then every 30 s (real
/// time) and whenever the bus comes back reads the last two days again: what the bus did not bring (an event published while
/// this process was cut off) is taken from there. Store errors are retried; the endpoints answer 503 until the first load.
/// </summary>
public sealed class SchedulingProjection(
    ITelemetryStore store, AlertBoard alerts, JobBoard jobs, TelemetryClock clock, ILogger<SchedulingProjection> logger) : BackgroundService
{
    private static readonly TimeSpan Every = TimeSpan.FromSeconds(30);
    private readonly SemaphoreSlim _wake = new(0, 1);

    public string? LastError { get; private set; }

    /// <summary>Asks for a catch-up from the store now.</summary>
    public void RequestCatchUp()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // One is asked for already.
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var first = true;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (first)
                {
                    await store.InitializeAsync(stoppingToken);
                }
                var now = clock.GetUtcNow();
                // At start every alert and job of the last 400 days (a long-lived alert or an open job whatever its age); then the last two days.
                var from = first ? now - TimeSpan.FromDays(400) : now - TimeSpan.FromDays(2);
                var alertEvents = await store.GetAlertEventsAsync(from, now + TimeSpan.FromDays(1), 1_000_000, stoppingToken);
                var jobEvents = await store.GetJobEventsAsync(from, now + TimeSpan.FromDays(1), 1_000_000, stoppingToken);
                var news = alerts.Load(alertEvents, from);
                jobs.Load(jobEvents, from);
                if (first)
                {
                    logger.LogInformation("Api: {Alerts} alert event(s) and {Jobs} job event(s) loaded from {Store}", alertEvents.Count, jobEvents.Count, store.Name);
                }
                else if (news > 0)
                {
                    logger.LogInformation("Api: {News} alert event(s) the bus had not brought were taken from {Store}", news, store.Name);
                }
                first = false;
                LastError = null;
            }
            catch (Exception ex) when (StoreRetry.Retryable(ex, stoppingToken))
            {
                LastError = ex.Message;
                logger.LogWarning("Api: reading alerts and jobs from {Store} failed ({Error}); retrying", store.Name, ex.Message);
            }
            await _wake.WaitAsync(first ? TimeSpan.FromSeconds(5) : Every, stoppingToken);
        }
    }
}

/// <summary>Ready once the alerts and jobs are loaded.</summary>
public sealed class SchedulingProjectionHealthCheck(AlertBoard alerts, JobBoard jobs, SchedulingProjection projection) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!alerts.Loaded || !jobs.Loaded)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy($"alerts and jobs are not loaded yet{(projection.LastError is { } e ? $": {e}" : "")}"));
        }
        return Task.FromResult(projection.LastError is { } error
            ? HealthCheckResult.Degraded($"the store did not answer the last catch-up: {error}")
            : HealthCheckResult.Healthy($"{alerts.Taken} alert events taken"));
    }
}

/// <summary>The scheduler's events for the api's projections: a temporary queue per process (every replica sees every event).</summary>
public sealed class SchedulingEventsConsumer(AlertBoard alerts, JobBoard jobs) :
    IConsumer<AlertChanged>, IConsumer<CollectionJobRequested>, IConsumer<CollectionJobClosed>, IConsumer<CollectionJobPlanned>
{
    public Task Consume(ConsumeContext<CollectionJobPlanned> context)
    {
        jobs.Apply(context.Message.Job);
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<AlertChanged> context)
    {
        var m = context.Message;
        alerts.Apply(m.Type, m.At, m.Alert);
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<CollectionJobRequested> context)
    {
        jobs.Apply(context.Message.Job);
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<CollectionJobClosed> context)
    {
        jobs.Apply(context.Message.Job);
        return Task.CompletedTask;
    }
}

public sealed class SchedulingEventsConsumerDefinition() : TemporaryQueueDefinition<SchedulingEventsConsumer>("api-alerts");
