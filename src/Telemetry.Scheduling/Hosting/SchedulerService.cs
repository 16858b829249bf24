using System.Threading.Channels;
using MassTransit;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Telemetry.Contracts.Messages;
using Telemetry.Contracts.Time;
using Telemetry.Fleet;
using Telemetry.Messaging;
using Telemetry.Scheduling.Alerts;
using Telemetry.Scheduling.Jobs;
using Telemetry.Scheduling.Signal;
using Telemetry.Storage;

namespace Telemetry.Scheduling.Hosting;

/// <summary>
/// The scheduler role: one loop owns the <see cref="SchedulerCore"/>. It takes every run of readings the fill signal makes
/// (from the history replayed at start, then live), ticks on the project's clock, and answers the api's commands. While it holds the
/// lease (<see cref="ISchedulerLease"/>) each decision is stored first (<c>alert_event</c>, <c>job_event</c>), then published
/// (<see cref="AlertChanged"/>, <see cref="CollectionJobRequested"/>, <see cref="CollectionJobClosed"/>; retried until the bus
/// takes it), and critical alerts go to the webhooks. Without the lease it derives the same alerts quietly (a warm standby).
/// On taking the lease (at start too) it adopts what the store says was decided: stored alerts win over derived ones, stored
/// jobs are the book, and only events the store does not have are news. So a restart or a takeover repeats no alert or job and
/// misses no reading (the signal rebuilt them from the store).
/// </summary>
public sealed class SchedulerService : BackgroundService, IFillSignalListener
{
    private const int MaxPending = 200_000;
    private readonly Channel<object> _work = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ITelemetryStore _store;
    private readonly FleetRegistry _registry;
    private readonly IServiceProvider _services;
    private FillIntelligence? _signalService;
    private readonly ISchedulerLease _lease;
    private readonly IBus _bus;
    private readonly AlertWebhooks _webhooks;
    private readonly TelemetryClock _clock;
    private readonly SchedulingOptions _options;
    private readonly BusOptions _busOptions;
    private readonly ILogger<SchedulerService> _logger;
    private readonly SchedulerCore _core;
    private readonly List<(AlertEvent Event, bool FromTick)> _pending = [];
    private readonly Queue<SchedulerCommand> _waiting = new();
    private readonly Queue<object> _outbox = new();
    private DateTimeOffset _nextTick = DateTimeOffset.MinValue;
    private long _nextActivationTry;
    private long _nextPublishTry;
    private bool _publishFailing;
    private SchedulerLock? _lock;

    public SchedulerService(
        ITelemetryStore store, FleetRegistry registry, IServiceProvider services, ISchedulerLease lease, IBus bus, AlertWebhooks webhooks, TelemetryClock clock,
        IOptions<SchedulingOptions> options, IOptions<AlertSettings> alerts, IOptions<BusOptions> busOptions, ILogger<SchedulerService> logger)
    {
        _store = store;
        _registry = registry;
        _services = services;
        _lease = lease;
        _bus = bus;
        _webhooks = webhooks;
        _clock = clock;
        _options = options.Value;
        _busOptions = busOptions.Value;
        _logger = logger;
        _core = new SchedulerCore(registry, alerts.Value.ToRules(_options.ThresholdPct), _options.MaxDwellByStream(), _options.PredictedFromPct, _options.CollectAheadByStream());
    }

    /// <summary>True while this process acts (holds the lease and adopted the stored state).</summary>
    public bool Active { get; private set; }

    /// <summary>Alert events stored and published by this process.</summary>
    public long AlertEventsEmitted { get; private set; }

    /// <summary>Jobs this process requested (scheduler and dispatchers).</summary>
    public long JobsRequested { get; private set; }

    public string? LastError { get; private set; }

    public int ActiveAlerts { get; private set; }

    public int OpenJobs { get; private set; }

    public string LeaseState => _lease.Describe();

    // The signal tells this service what it takes (it lists it among its listeners): resolved when first needed, not in the constructor.
    private FillIntelligence _signal => _signalService ??= (FillIntelligence)_services.GetService(typeof(FillIntelligence))!;

    public void Taken(FillSignalBatch batch) => _work.Writer.TryWrite(batch);

    /// <summary>An ingestion replica lost or regained the broker.</summary>
    public void IngestionConnectionChanged(string source, bool connected) => _work.Writer.TryWrite(new ConnectionChange(source, connected));

    private sealed record ConnectionChange(string Source, bool Connected);

    /// <summary>A job the acting scheduler decided (a standby keeps its book from these).</summary>
    public void JobSeen(Telemetry.Contracts.Messages.CollectionJobInfo job) => _work.Writer.TryWrite(job);

    private readonly HashSet<string> _ingestionAway = new(StringComparer.Ordinal);
    private volatile int _ingestionAwayCount;

    /// <summary>Ingestion replicas that said they lost the broker and have not said they are back.</summary>
    public int IngestionAway => _ingestionAwayCount;

    /// <summary>Runs a command in the loop once this process acts; the result is known after its events are stored.</summary>
    public async Task<T> RunAsync<T>(Func<SchedulerCore, DateTimeOffset, (T Result, SchedulerOutput Output)> command, CancellationToken ct)
    {
        var work = new SchedulerCommand((core, now) =>
        {
            var (result, output) = command(core, now);
            return (result!, output);
        }, ct);
        _work.Writer.TryWrite(work);
        using var registration = ct.Register(() => work.Done.TrySetCanceled(ct));
        return (T)await work.Done.Task;
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (_lease is InProcessLease)
        {
            _lock = SchedulerLock.Acquire(_options.LockPath ?? Path.Combine(Path.GetTempPath(), "telemetry-scheduler.lock"));
        }
        return base.StartAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _lock?.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _logger.LogInformation("Scheduler: waiting for the fill signal's rebuild; lease: {Lease}", _lease.Describe());
        var lastState = TimeProvider.System.GetTimestamp();
        while (!stoppingToken.IsCancellationRequested)
        {
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
            {
                wait.CancelAfter(TimeSpan.FromMilliseconds(250));
                try
                {
                    await _work.Reader.WaitToReadAsync(wait.Token);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    // Nothing came: look at the lease, the tick and the outbox.
                }
            }
            var taken = 0;
            while (taken++ < 1000 && _work.Reader.TryRead(out var item))
            {
                LeaseLost();
                try
                {
                    await TakeAsync(item, stoppingToken);
                }
                catch (Exception ex) when (ex is not (OperationCanceledException or OutOfMemoryException))
                {
                    // One bad input must not stop the role: said loudly, and the next one is taken.
                    _logger.LogError(ex, "Scheduler: taking {Item} failed; it is skipped", item.GetType().Name);
                }
            }
            LeaseLost();
            await LeaseAsync(stoppingToken);
            var now = _clock.GetUtcNow();
            if (_signal.Rebuilt.IsCompleted && now >= _nextTick)
            {
                _nextTick = now + _options.TickInterval;
                var ticked = _core.Tick(now, plan: Active);
                Ticks++;
                await EmitAsync(ticked, stoppingToken, fromTick: true);
                _core.Jobs.Prune(now - TimeSpan.FromDays(7));
            }
            await FlushOutboxAsync(stoppingToken);
            if (TimeProvider.System.GetElapsedTime(lastState) > TimeSpan.FromSeconds(1))
            {
                lastState = TimeProvider.System.GetTimestamp();
                ActiveAlerts = _core.Alerts.Active.Count;
                OpenJobs = _core.Jobs.OpenCount;
            }
        }
    }

    /// <summary>Ticks done (on the project clock), for tests and health.</summary>
    public long Ticks { get; private set; }

    /// <summary>Stops acting at once when the lease is gone (checked before every item and every write).</summary>
    private bool LeaseLost()
    {
        if (Active && !_lease.Acting)
        {
            Active = false;
            _logger.LogWarning("Scheduler: lost the lease ({Lease}); it stops acting and keeps its state warm until it holds the lease again", _lease.Describe());
        }
        return !Active;
    }

    private async Task TakeAsync(object item, CancellationToken stoppingToken)
    {
                switch (item)
                {
                    case FillSignalBatch batch:
                        await EmitAsync(_core.Observe(batch), stoppingToken);
                        break;
                    case Telemetry.Contracts.Messages.CollectionJobInfo job:
                        if (!Active)
                        {
                            _core.Jobs.Restore(new CollectionJob(job.Id, job.Bin, job.Compartments, job.Stream, job.Reason, job.Priority, job.PredictedFullAt,
                                job.Deadline, job.State, job.Vehicle, job.RequestedAt, job.RequestedBy, job.PlannedAt, job.CompletedAt, job.CancelledAt));
                        }
                        break;
                    case ConnectionChange change:
                        var wasAway = _ingestionAway.Count > 0;
                        if (change.Connected)
                        {
                            _ingestionAway.Remove(change.Source);
                        }
                        else
                        {
                            _ingestionAway.Add(change.Source);
                        }
                        _ingestionAwayCount = _ingestionAway.Count;
                        if (!wasAway && _ingestionAway.Count > 0)
                        {
                            _logger.LogWarning("Scheduler: ingestion {Source} lost the broker; no offline alerts while it is away, nor for 3 reporting intervals after", change.Source);
                            _core.Alerts.IngestionDisconnected(_clock.GetUtcNow());
                        }
                        else if (wasAway && _ingestionAway.Count == 0)
                        {
                            _logger.LogInformation("Scheduler: ingestion has the broker again");
                            _core.Alerts.IngestionReconnected(_clock.GetUtcNow());
                        }
                        break;
                    case SchedulerCommand command when !command.Done.Task.IsCompleted:
                        if (Active)
                        {
                            await RunCommandAsync(command, stoppingToken);
                        }
                        else
                        {
                            _waiting.Enqueue(command);
                        }
                        break;
                    default:
                        break; // a command whose caller gave up
                }
    }

    private async Task LeaseAsync(CancellationToken ct)
    {
        var acting = _lease.Acting;
        if (Active || !acting || !_signal.Rebuilt.IsCompleted || TimeProvider.System.GetTimestamp() < _nextActivationTry)
        {
            return;
        }
        try
        {
            await ActivateAsync(ct);
            LastError = null;
        }
        catch (Exception ex) when (StoreRetry.Retryable(ex, ct))
        {
            LastError = ex.Message;
            _logger.LogWarning("Scheduler: reading what was decided from {Store} failed ({Error}); it acts once the store answers (retrying in 5 s)", _store.Name, ex.Message);
            _nextActivationTry = TimeProvider.System.GetTimestamp() + (5 * TimeProvider.System.TimestampFrequency);
        }
    }

    /// <summary>How far back the stored alert and job events are read at a takeover: a long-lived alert (a dead bin, a stuck sensor) or an open job is kept whatever its age.</summary>
    private static readonly TimeSpan StoredStateWindow = TimeSpan.FromDays(400);

    /// <summary>Events stored this recently are published again at a takeover: the last holder may have died between storing and publishing them (consumers deduplicate).</summary>
    private static readonly TimeSpan RepublishWindow = TimeSpan.FromMinutes(10);

    private async Task ActivateAsync(CancellationToken ct)
    {
        var now = _clock.GetUtcNow();
        var from = now - StoredStateWindow;
        var storedAlerts = StoreOrderOf(await _store.GetAlertEventsAsync(from, now + TimeSpan.FromDays(1), 1_000_000, ct));
        var storedJobs = await _store.GetJobEventsAsync(from, now + TimeSpan.FromDays(1), 1_000_000, ct);
        var open = storedJobs.GroupBy(j => j.JobId, StringComparer.Ordinal).Select(g => g.Last()).Where(j => j.State is JobStates.Requested or JobStates.Planned).ToList();
        var collections = open.Count == 0 ? [] : await _store.GetCollectionsAsync(null, open.Min(j => j.RequestedAt), now + TimeSpan.FromDays(1), ct);
        if (!_lease.Acting)
        {
            return; // lost it while reading
        }
        // What this process derived while it stood by is news only where the store knows nothing of that alert, and only for
        // what readings decided: events the tick decided (offline by silence, re-fire, escalation, predicted-full at a tick)
        // depend on when each process ticked, so they are left to this process's own ticks from now on, and alerts only
        // such a tick raised are forgotten (the next tick raises them again if they still hold).
        var storedIds = storedAlerts.Select(e => e.AlertId).ToHashSet(StringComparer.Ordinal);
        var tickRaised = _pending.Where(p => p.FromTick && p.Event.Type == AlertEvent.Raised && !storedIds.Contains(p.Event.Alert.Id)).Select(p => p.Event.Alert.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var id in tickRaised)
        {
            _core.Alerts.Forget(id);
        }
        var (replaced, restored) = _core.Restore(storedAlerts, storedJobs, collections);
        var news = new SchedulerOutput();
        news.Alerts.AddRange(_pending.Where(p => !p.FromTick && !storedIds.Contains(p.Event.Alert.Id) && !replaced.Contains(p.Event.Alert.Id) && !tickRaised.Contains(p.Event.Alert.Id)).Select(p => p.Event));
        news.Add(restored);
        var derived = _pending.Count;
        _pending.Clear();
        Active = true;
        _nextTick = now;
        // The last holder may have stored these and died before publishing them.
        foreach (var e in storedAlerts.Where(e => e.At >= now - RepublishWindow))
        {
            _outbox.Enqueue(new AlertChanged(e.Type, e.At, e.Info()));
        }
        foreach (var e in storedJobs.Where(e => e.At >= now - RepublishWindow))
        {
            _outbox.Enqueue(e.Type switch
            {
                JobStates.Requested => new CollectionJobRequested(e.Info()),
                JobStates.Planned => new CollectionJobPlanned(e.Info()),
                _ => new CollectionJobClosed(e.Info(), e.By ?? "scheduler"),
            });
        }
        _logger.LogInformation(
            "Scheduler: acting ({Lease}): {Alerts} alert(s) active, {Jobs} open job(s); of {Derived} alert event(s) derived before, {News} are news",
            _lease.Describe(), _core.Alerts.Active.Count, _core.Jobs.OpenCount, derived, news.Alerts.Count);
        await EmitAsync(news, ct);
        while (_waiting.TryDequeue(out var command))
        {
            if (!command.Done.Task.IsCompleted)
            {
                await RunCommandAsync(command, ct);
            }
        }
    }

    /// <summary>Stored events in the order they happened: by time, and at one instant in the order the rules make them.</summary>
    internal static List<StoredAlertEvent> StoreOrderOf(IEnumerable<StoredAlertEvent> events) =>
        [.. events.OrderBy(e => e.At).ThenBy(e => TypeRank(e.Type))];

    internal static int TypeRank(string type) => type switch
    {
        AlertEvent.Raised => 0,
        AlertEvent.Acknowledged => 1,
        AlertEvent.Refired => 2,
        AlertEvent.Escalated => 3,
        _ => 4,
    };

    private async Task RunCommandAsync(SchedulerCommand command, CancellationToken ct)
    {
        object result;
        SchedulerOutput output;
        try
        {
            (result, output) = command.Run(_core, _clock.GetUtcNow());
        }
        catch (Exception ex) when (ex is not (OperationCanceledException or OutOfMemoryException))
        {
            _logger.LogError(ex, "Scheduler: a command failed");
            command.Done.TrySetException(ex);
            return;
        }
        await EmitAsync(output, ct);
        command.Done.TrySetResult(result);
    }

    /// <summary>Events older than this are history (a first start derives weeks of it): stored and shown, never sent to a webhook.</summary>
    private static readonly TimeSpan WebhookFreshness = TimeSpan.FromHours(1);

    /// <summary>
    /// Stores, then publishes what was decided; without the lease (or once it is lost, even while a write is retried), keeps the
    /// alert events to compare with the store at the next takeover, and drops the job decisions (the holder makes its own).
    /// </summary>
    private async Task EmitAsync(SchedulerOutput output, CancellationToken ct, bool fromTick = false)
    {
        if (output.IsEmpty)
        {
            return;
        }
        if (LeaseLost())
        {
            _pending.AddRange(output.Alerts.Select(e => (e, fromTick)));
            if (_pending.Count > MaxPending)
            {
                _pending.RemoveRange(0, _pending.Count - MaxPending);
            }
            return;
        }
        var alerts = output.Alerts.Select(e => e.Stored(_registry)).ToList();
        var jobs = output.Jobs.Select(e => e.Stored(_registry)).ToList();
        var alertsStored = alerts.Count == 0;
        var jobsStored = jobs.Count == 0;
        var delay = TimeSpan.FromMilliseconds(200);
        while (!alertsStored || !jobsStored)
        {
            if (LeaseLost())
            {
                // Lost while the store was away: not ours to store any more.
                _pending.AddRange(output.Alerts.Select(e => (e, fromTick)));
                return;
            }
            try
            {
                if (!alertsStored)
                {
                    try
                    {
                        await _store.WriteAlertEventsAsync(alerts, ct);
                    }
                    catch (StoreRejectedException ex) when (!ex.IsStoreWide)
                    {
                        _logger.LogError("Scheduler: the store refused {Count} alert event(s) ({Error}); they are dropped (not published either)", alerts.Count, ex.Message);
                        output.Alerts.Clear();
                    }
                    alertsStored = true;
                }
                if (!jobsStored)
                {
                    try
                    {
                        await _store.WriteJobEventsAsync(jobs, ct);
                    }
                    catch (StoreRejectedException ex) when (!ex.IsStoreWide)
                    {
                        _logger.LogError("Scheduler: the store refused {Count} job event(s) ({Error}); they are dropped (not published either)", jobs.Count, ex.Message);
                        output.Jobs.Clear();
                    }
                    jobsStored = true;
                }
                LastError = null;
            }
            catch (Exception ex) when (StoreRetry.Retryable(ex, ct))
            {
                LastError = ex.Message;
                _logger.LogWarning("Scheduler: storing {Count} decision(s) failed ({Error}); retrying in {Delay:0.#} s (nothing is published before it is stored)", alerts.Count + jobs.Count, ex.Message, delay.TotalSeconds);
                await Task.Delay(delay, TimeProvider.System, ct);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }
        var now = _clock.GetUtcNow();
        foreach (var e in output.Alerts)
        {
            _outbox.Enqueue(new AlertChanged(e.Type, e.At, e.Alert.Info()));
            AlertEventsEmitted++;
            if (e.Alert.Severity == Severities.Critical && e.Type is AlertEvent.Raised or AlertEvent.Escalated or AlertEvent.Refired && e.At >= now - WebhookFreshness)
            {
                _webhooks.Send(e);
            }
        }
        foreach (var e in output.Jobs)
        {
            if (e.Type == JobStates.Requested)
            {
                JobsRequested++;
                _outbox.Enqueue(new CollectionJobRequested(e.Job.Info()));
            }
            else if (e.Type is JobStates.Completed or JobStates.Cancelled)
            {
                _outbox.Enqueue(new CollectionJobClosed(e.Job.Info(), e.By));
            }
            else if (e.Type == JobStates.Planned)
            {
                _outbox.Enqueue(new CollectionJobPlanned(e.Job.Info()));
            }
        }
        await FlushOutboxAsync(ct);
    }

    private async Task FlushOutboxAsync(CancellationToken ct)
    {
        if (_outbox.Count == 0 || TimeProvider.System.GetTimestamp() < _nextPublishTry)
        {
            return;
        }
        while (_outbox.TryPeek(out var message))
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(_busOptions.PublishTimeout);
                await _bus.Publish(message, message.GetType(), timeout.Token);
                _outbox.Dequeue();
                if (_publishFailing)
                {
                    _publishFailing = false;
                    _logger.LogInformation("Scheduler: the bus takes events again");
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException && !ct.IsCancellationRequested)
            {
                if (!_publishFailing)
                {
                    _logger.LogWarning("Scheduler: publishing failed ({Error}); {Count} event(s) wait (they are stored) and are retried every 2 s", ex.Message, _outbox.Count);
                    _publishFailing = true;
                }
                _nextPublishTry = TimeProvider.System.GetTimestamp() + (2 * TimeProvider.System.TimestampFrequency);
                return;
            }
        }
    }

    private sealed class SchedulerCommand(Func<SchedulerCore, DateTimeOffset, (object Result, SchedulerOutput Output)> run, CancellationToken ct)
    {
        public Func<SchedulerCore, DateTimeOffset, (object Result, SchedulerOutput Output)> Run { get; } = run;

        public TaskCompletionSource<object> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationToken Cancellation { get; } = ct;
    }
}

/// <summary>Ready once the scheduler runs; says whether it acts or stands by, with the lease's state.</summary>
public sealed class SchedulerHealthCheck(SchedulerService scheduler, FillIntelligence signal) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>
        {
            ["active"] = scheduler.Active,
            ["activeAlerts"] = scheduler.ActiveAlerts,
            ["openJobs"] = scheduler.OpenJobs,
            ["alertEvents"] = scheduler.AlertEventsEmitted,
            ["jobsRequested"] = scheduler.JobsRequested,
            ["ticks"] = scheduler.Ticks,
        };
        if (!signal.Rebuilt.IsCompleted)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("waiting for the fill signal's rebuild", data: data));
        }
        var state = scheduler.Active ? "acting" : "standing by";
        return Task.FromResult(scheduler.LastError is { } error
            ? HealthCheckResult.Degraded($"{state}; the store did not answer: {error}", data: data)
            : HealthCheckResult.Healthy($"{state}; lease: {scheduler.LeaseState}", data));
    }
}
