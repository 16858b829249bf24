using System.Diagnostics.Metrics;
using System.Text.Json;
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
using Telemetry.Routing.Planning;
using Telemetry.Storage;

namespace Telemetry.Routing.Hosting;

/// <summary>The routing worker's metrics (meter <c>Telemetry.Routing</c>).</summary>
public sealed class RoutingMetrics
{
    public const string MeterName = "Telemetry.Routing";

    private readonly Counter<long> _rejected;
    private readonly Counter<long> _plans;
    private readonly Counter<long> _unserved;
    private readonly Counter<long> _waited;
    private readonly Histogram<double> _solve;

    public RoutingMetrics(IMeterFactory? factory = null)
    {
        var meter = factory?.Create(MeterName) ?? new Meter(MeterName);
        _rejected = meter.CreateCounter<long>("telemetry.routing.jobs_rejected", "{job}", "Collection jobs the worker cannot route (unknown bin or compartment): faulted");
        _plans = meter.CreateCounter<long>("telemetry.routing.plans", "{plan}", "Shift plans made, by stream");
        _unserved = meter.CreateCounter<long>("telemetry.routing.jobs_unserved", "{job}", "Jobs a plan could not serve, by stream");
        _solve = meter.CreateHistogram<double>("telemetry.routing.solve_duration", "s", "Time to plan one shift");
        _waited = meter.CreateCounter<long>("telemetry.routing.shifts_waited", "{shift}", "Shifts not driven, their jobs left for the following shift, by stream");
    }

    /// <summary>Shifts this process did not drive, their jobs waiting for the following shift.</summary>
    public long Waited { get; private set; }

    public void ShiftWaited(string stream)
    {
        Waited++;
        _waited.Add(1, new KeyValuePair<string, object?>("stream", stream));
    }

    /// <summary>Jobs rejected by this process.</summary>
    public long Rejected { get; private set; }

    public void JobRejected()
    {
        Rejected++;
        _rejected.Add(1);
    }

    public void Planned(string stream, int unserved, TimeSpan took)
    {
        var tag = new KeyValuePair<string, object?>("stream", stream);
        _plans.Add(1, tag);
        _unserved.Add(unserved, tag);
        _solve.Record(took.TotalSeconds, tag);
    }
}

/// <summary>
/// The routing role: while this worker holds its lease, it keeps the open jobs of its streams (rebuilt from the store when it takes
/// the lease), and on its clock plans each stream's vehicle shift at the lead time before it starts (and re-plans a running shift
/// when an urgent job arrives), with the OR-Tools planner; each plan is stored, then published as <see cref="RoutePlanned"/>
/// (through an outbox retried every 2 s while the bus is away).
/// </summary>
public sealed class RoutingService : BackgroundService
{
    private static readonly TimeSpan StoredJobsWindow = TimeSpan.FromDays(400);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly ITelemetryStore _store;
    private readonly FleetRegistry _registry;
    private readonly IShiftPlanner _planner;
    private readonly IRoutingLease _lease;
    private readonly IBus _bus;
    private readonly TelemetryClock _clock;
    private readonly RoutingOptions _options;
    private readonly BusOptions _busOptions;
    private readonly RoutingMetrics _metrics;
    private readonly ILogger<RoutingService> _logger;
    private readonly IReadOnlyList<WasteStream> _streams;
    private readonly Channel<object> _work = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Queue<RoutePlanned> _outbox = new();
    private readonly Queue<ShiftWaited> _waitedOutbox = new();
    private readonly Queue<object> _waiting = new();
    private const int MaxWaiting = 100_000;
    private RoutingCore? _core;
    private DateTimeOffset _nextTick = DateTimeOffset.MinValue;
    private long _nextActivationTry;
    private long _nextPublishTry;
    private bool _publishFailing;

    public RoutingService(
        ITelemetryStore store, FleetRegistry registry, IShiftPlanner planner, IRoutingLease lease, IBus bus, TelemetryClock clock,
        IOptions<RoutingOptions> options, IOptions<BusOptions> busOptions, RoutingMetrics metrics, ILogger<RoutingService> logger)
    {
        _store = store;
        _registry = registry;
        _planner = planner;
        _lease = lease;
        _bus = bus;
        _clock = clock;
        _options = options.Value;
        _busOptions = busOptions.Value;
        _metrics = metrics;
        _logger = logger;
        _streams = _options.StreamList();
    }

    /// <summary>True while this worker plans (holds the lease and rebuilt its jobs from the store).</summary>
    public bool Active { get; private set; }

    /// <summary>The streams it plans.</summary>
    public IReadOnlyList<WasteStream> Streams => _streams;

    /// <summary>Ticks done while planning (on the project clock), for tests and health.</summary>
    public long Ticks { get; private set; }

    /// <summary>Messages dropped because too many waited for the takeover.</summary>
    public long WaitingDropped { get; private set; }

    /// <summary>Plans this process made and stored.</summary>
    public long PlansMade { get; private set; }

    /// <summary>Shifts that started without being driven, their jobs left for the following shift (since this process started).</summary>
    public long ShiftsWaited => _metrics.Waited;

    public int OpenJobs { get; private set; }

    public string? LastError { get; private set; }

    public string LeaseState => _lease.Describe();

    /// <summary>The latest plan of each shift not yet ended (for readiness and tests).</summary>
    public IReadOnlyList<RoutePlanned> CurrentPlans { get; private set; } = [];

    /// <summary>Whether this worker plans <paramref name="stream"/>.</summary>
    public bool Plans(string stream) => WasteStreams.TryParse(stream, out var s) && _streams.Contains(s);

    /// <summary>A job was requested (checked already: see <see cref="RoutingCore.Check"/>).</summary>
    public void Requested(CollectionJobInfo job) => _work.Writer.TryWrite(job);

    /// <summary>A job closed: it is routed no more.</summary>
    public void Closed(string jobId) => _work.Writer.TryWrite(new JobClosed(jobId));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _logger.LogInformation("Routing: plans {Streams}; lease: {Lease}", string.Join(", ", _streams.Select(s => s.Name())), _lease.Describe());
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
            LeaseLost();
            await LeaseAsync(stoppingToken);
            var now = _clock.GetUtcNow();
            while (_work.Reader.TryRead(out var item))
            {
                Take(item, now);
            }
            if (_core is { } core && now >= _nextTick)
            {
                _nextTick = now + _options.TickInterval;
                await PlanDueAsync(core, now, stoppingToken);
                Ticks++;
                core.Prune(now - TimeSpan.FromDays(2));
                CurrentPlans = [.. core.Current(now)];
                OpenJobs = core.OpenJobs;
            }
            await FlushOutboxAsync(stoppingToken);
        }
    }

    private void Take(object item, DateTimeOffset now)
    {
        if (_core is not { } core)
        {
            // Not planning yet: the queue gave it to this worker (it holds the lease, and acts once it has held it long enough,
            // or has just lost it). Kept for the takeover: a job the store does not have yet (the queue kept it while no worker
            // ran) is not lost. Dropped if another worker takes the lease (that one reads the store).
            if (_waiting.Count < MaxWaiting)
            {
                _waiting.Enqueue(item);
            }
            else
            {
                WaitingDropped++;
                _logger.LogWarning("Routing: {Count} message(s) wait for the takeover already; {Item} is dropped (the store has the jobs the scheduler stored)", MaxWaiting, item.GetType().Name);
            }
            return;
        }
        switch (item)
        {
            case CollectionJobInfo job:
                try
                {
                    if (core.Add(job, now))
                    {
                        _logger.LogInformation("Routing: urgent job {Job} ({Bin}) during a {Stream} shift: re-planning it", job.Id, job.Bin, job.Stream);
                        _nextTick = now; // re-plan at once
                    }
                }
                catch (RouteJobRejectedException ex)
                {
                    _metrics.JobRejected();
                    _logger.LogError("Routing: {Error}; the job is not routed", ex.Message);
                }
                break;
            case JobClosed closed:
                core.Remove(closed.JobId);
                break;
            default:
                break;
        }
    }

    private async Task PlanDueAsync(RoutingCore core, DateTimeOffset now, CancellationToken ct)
    {
        var due = core.Due(now, _streams.Contains);
        foreach (var waited in core.TakeWaited(now))
        {
            _metrics.ShiftWaited(waited.Shift.Stream.Name());
            _logger.LogInformation(
                "Routing: {Plan} is not driven: its {Jobs} open job(s) wait for the shift at {Following:yyyy-MM-dd HH:mm}Z, which leaves them " +
                "{Hours:0.#} h at 100 % in all by their predictions (Routing:WaitOverflowHours: {Limit})",
                waited.Shift.PlanId, waited.Jobs, waited.FollowingStart.UtcDateTime, waited.OverflowHours, _options.WaitOverflowHours);
            _waitedOutbox.Enqueue(new ShiftWaited(waited.Shift.PlanId, waited.Shift.Stream.Name(), waited.Shift.Start, waited.Shift.End, waited.Jobs,
                Math.Round(waited.OverflowHours, 2), waited.FollowingStart, _options.WaitOverflowHours, now));
        }
        if (due.Count == 0)
        {
            return;
        }
        IReadOnlyList<LatestCompartment> latest;
        try
        {
            latest = await _store.GetLatestAsync(ct);
        }
        catch (Exception ex) when (StoreRetry.Retryable(ex, ct))
        {
            LastError = ex.Message;
            _logger.LogWarning("Routing: reading the latest weights from {Store} failed ({Error}); planning again at the next tick", _store.Name, ex.Message);
            return;
        }
        var weights = latest.Where(l => l.NetKg is not null).ToDictionary(l => (l.BinId, l.Compartment), l => l.NetKg!.Value);
        foreach (var plan in due)
        {
            if (!_lease.Acting)
            {
                return;
            }
            var request = plan.Request with
            {
                Jobs = [.. plan.Request.Jobs.Select(j => j with { Kg = Kg(j, weights) })],
            };
            ShiftPlan result;
            try
            {
                result = await _planner.PlanAsync(request, ct);
            }
            catch (Exception ex) when (ex is not (OperationCanceledException or OutOfMemoryException))
            {
                LastError = ex.Message;
                _logger.LogError(ex, "Routing: planning {Plan} failed ({Error}); trying again at the next tick", plan.Shift.PlanId, ex.Message);
                continue;
            }
            var message = core.Accept(plan, result, _clock.GetUtcNow());
            if (!await StoreAsync(message, ct))
            {
                return;
            }
            PlansMade++;
            _metrics.Planned(message.Stream, message.Unserved.Count, result.SolveTime);
            _logger.LogInformation(
                "Routing: {Plan} revision {Revision}: {Routes} route(s), {Stops} stop(s), {Km:0.0} km, {Trips} trip(s), {Unserved} job(s) unserved ({Status}, {Seconds:0.0} s)",
                message.PlanId, message.Revision, message.Routes.Count, message.Routes.Sum(r => r.Stops.Count(s => s.Kind == "bin")),
                message.Routes.Sum(r => r.DistanceKm), message.Routes.Sum(r => r.Trips), message.Unserved.Count, message.SolverStatus, result.SolveTime.TotalSeconds);
            foreach (var u in message.Unserved)
            {
                _logger.LogWarning("Routing: {Plan} does not serve job {Job} ({Bin}): {Reason}", message.PlanId, u.JobId, u.Bin, u.Reason);
            }
            _outbox.Enqueue(message);
        }
    }

    /// <summary>A job's load: the latest net weights of its compartments where known, else what the core estimated (their maximum).</summary>
    private double Kg(RouteJob job, Dictionary<(string, string), double> weights)
    {
        var bin = _registry.FindBin(job.Bin)!;
        return job.Compartments.Sum(c => weights.TryGetValue((job.Bin, c), out var kg) && kg >= 0 ? kg : bin.FindCompartment(c)!.MaxKg);
    }

    private async Task<bool> StoreAsync(RoutePlanned message, CancellationToken ct)
    {
        var stored = new StoredRoutePlan(message.PlanId, message.Revision, message.Stream, message.ShiftStart, message.ShiftEnd, message.PlannedAt,
            JsonSerializer.Serialize(message, Json));
        var delay = TimeSpan.FromMilliseconds(200);
        while (true)
        {
            if (!_lease.Acting)
            {
                _logger.LogWarning("Routing: lost the lease while storing {Plan}; the next holder plans it", message.PlanId);
                return false;
            }
            try
            {
                await _store.WriteRoutePlanAsync(stored, ct);
                LastError = null;
                return true;
            }
            catch (Exception ex) when (StoreRetry.Retryable(ex, ct))
            {
                LastError = ex.Message;
                _logger.LogWarning("Routing: storing {Plan} failed ({Error}); retrying in {Delay:0.#} s (nothing is published before it is stored)", message.PlanId, ex.Message, delay.TotalSeconds);
                await Task.Delay(delay, TimeProvider.System, ct);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }
    }

    /// <summary>Stops planning at once when the lease is gone.</summary>
    private void LeaseLost()
    {
        if (Active && !_lease.Acting)
        {
            Active = false;
            _core = null;
            _waiting.Clear(); // another worker takes the lease and reads the store
            _logger.LogWarning("Routing: lost the lease ({Lease}); it stops planning", _lease.Describe());
        }
    }

    private async Task LeaseAsync(CancellationToken ct)
    {
        if (Active || !_lease.Acting || TimeProvider.System.GetTimestamp() < _nextActivationTry)
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
            _logger.LogWarning("Routing: reading the open jobs and plans from {Store} failed ({Error}); it plans once the store answers (retrying in 5 s)", _store.Name, ex.Message);
            _nextActivationTry = TimeProvider.System.GetTimestamp() + (5 * TimeProvider.System.TimestampFrequency);
        }
    }

    /// <summary>Takes the lease: the open jobs of its streams and the plans of the shifts around now, as stored.</summary>
    private async Task ActivateAsync(CancellationToken ct)
    {
        var now = _clock.GetUtcNow();
        var events = await _store.GetJobEventsAsync(now - StoredJobsWindow, now + TimeSpan.FromDays(1), 1_000_000, ct);
        var plans = await _store.GetRoutePlansAsync(now - TimeSpan.FromDays(1), now + TimeSpan.FromDays(2), ct);
        if (!_lease.Acting)
        {
            return;
        }
        var core = new RoutingCore(_registry, new RoutingPolicy(_options.LeadTime, _options.SolverTime, _options.WaitOverflowHours));
        foreach (var stored in plans)
        {
            if (Plans(stored.Stream) && JsonSerializer.Deserialize<RoutePlanned>(stored.Body, Json) is { } plan)
            {
                core.Restore(plan);
            }
        }
        var open = events.GroupBy(e => e.JobId, StringComparer.Ordinal).Select(g => g.Last()).Where(e => e.State is "requested" or "planned" && Plans(e.Stream));
        foreach (var e in open.OrderBy(e => e.RequestedAt))
        {
            try
            {
                core.Add(new CollectionJobInfo(e.JobId, e.BinId, e.Compartments, e.Stream, e.Reason, e.Priority, e.PredictedFullAt, e.Deadline, e.State,
                    e.Vehicle, e.RequestedAt, e.RequestedBy, e.PlannedAt, e.CompletedAt, e.CancelledAt), now);
            }
            catch (RouteJobRejectedException ex)
            {
                _metrics.JobRejected();
                _logger.LogError("Routing: stored {Error}; the job is not routed", ex.Message);
            }
        }
        _core = core;
        Active = true;
        // The last holder may have stored these and died before publishing them (consumers deduplicate by plan id and revision).
        foreach (var plan in core.Current(now))
        {
            _outbox.Enqueue(plan);
        }
        while (_waiting.TryDequeue(out var waiting))
        {
            Take(waiting, now);
        }
        _nextTick = now;
        OpenJobs = core.OpenJobs;
        CurrentPlans = [.. core.Current(now)];
        _logger.LogInformation("Routing: planning {Streams} ({Lease}): {Jobs} open job(s), {Plans} current plan(s)",
            string.Join(", ", _streams.Select(s => s.Name())), _lease.Describe(), core.OpenJobs, CurrentPlans.Count);
    }

    private async Task FlushOutboxAsync(CancellationToken ct)
    {
        if ((_outbox.Count == 0 && _waitedOutbox.Count == 0) || TimeProvider.System.GetTimestamp() < _nextPublishTry)
        {
            return;
        }
        while (_outbox.TryPeek(out var message))
        {
            if (!await TryPublishAsync(message, $"{message.PlanId} ({_outbox.Count} plan(s) wait)", ct))
            {
                return;
            }
            _outbox.Dequeue();
        }
        // The notices of shifts not driven, after the plans. One that no longer holds is dropped: its following shift has started,
        // or the shift got a plan meanwhile (an urgent job drove it after all).
        var now = _clock.GetUtcNow();
        while (_waitedOutbox.TryPeek(out var notice))
        {
            var stale = now >= notice.FollowingStart || _core?.Current(now).Any(p => p.PlanId == notice.PlanId) == true;
            if (!stale && !await TryPublishAsync(notice, $"that {notice.PlanId} is not driven", ct))
            {
                return;
            }
            _waitedOutbox.Dequeue();
        }
    }

    /// <summary>
    /// Publishes one message of the outbox within <c>Bus:PublishTimeout</c>. False when the bus refused it: logged once until the bus
    /// takes messages again, and the outbox is tried again in 2 s.
    /// </summary>
    private async Task<bool> TryPublishAsync<T>(T message, string what, CancellationToken ct) where T : class
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(_busOptions.PublishTimeout);
            await _bus.Publish(message, timeout.Token);
            if (_publishFailing)
            {
                _publishFailing = false;
                _logger.LogInformation("Routing: the bus takes plans again");
            }
            return true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException && !ct.IsCancellationRequested)
        {
            if (!_publishFailing)
            {
                _logger.LogWarning("Routing: publishing {What} failed ({Error}); retried every 2 s", what, ex.Message);
                _publishFailing = true;
            }
            _nextPublishTry = TimeProvider.System.GetTimestamp() + (2 * TimeProvider.System.TimestampFrequency);
            return false;
        }
    }

    private sealed record JobClosed(string JobId);
}

/// <summary>Readiness check <c>routing</c>: healthy while it plans or stands by; degraded while its store does not answer.</summary>
public sealed class RoutingHealthCheck(RoutingService routing) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>
        {
            ["active"] = routing.Active,
            ["streams"] = string.Join(",", routing.Streams.Select(s => s.Name())),
            ["openJobs"] = routing.OpenJobs,
            ["plansMade"] = routing.PlansMade,
            ["shiftsWaited"] = routing.ShiftsWaited,
            ["ticks"] = routing.Ticks,
            ["currentPlans"] = routing.CurrentPlans.Count,
            ["lease"] = routing.LeaseState,
        };
        return Task.FromResult(routing.LastError is { } error
            ? HealthCheckResult.Degraded($"routing: {error}", data: data)
            : HealthCheckResult.Healthy(routing.Active ? "routing: planning" : "routing: standing by", data));
    }
}
