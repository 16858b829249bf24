using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Telemetry.Storage;

namespace Telemetry.Api.State;

/// <summary>
/// Fills <see cref="FleetState"/> from the store: at start (the api is not ready until then), when a consumer saw a
/// gap in the events, and every <c>Api:ReconcileInterval</c> in case the last event before a quiet spell was lost.
/// The store may be down at start: that is retried and reported, not fatal.
/// </summary>
/// <remarks>On real time (<paramref name="time"/>): retries and their warnings are the network's business (docs/architecture.md, clock policy).</remarks>
public sealed class FleetStateLoader(ITelemetryStore store, FleetState state, IOptions<ApiOptions> options, TimeProvider time, ILogger<FleetStateLoader> logger) : BackgroundService
{
    private readonly SemaphoreSlim _catchUp = new(0, 1);
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public SequenceTracker Sequences { get; } = new();

    /// <summary>Loads done (start, catch-ups, reconciliations).</summary>
    public long Loads { get; private set; }

    public Task Loaded => _loaded.Task;

    public string? LastError { get; private set; }

    public void RequestCatchUp()
    {
        try
        {
            _catchUp.Release();
        }
        catch (SemaphoreFullException)
        {
            // One catch-up is already asked for; it will see this event's store state too.
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromMilliseconds(500);
        var since = time.GetUtcNow();
        var warned = false;
        while (true)
        {
            try
            {
                await store.InitializeAsync(stoppingToken);
                break;
            }
            catch (Exception ex) when (Retryable(ex, stoppingToken))
            {
                LastError = ex.Message;
                if (!warned || time.GetUtcNow() - since > TimeSpan.FromMinutes(1))
                {
                    logger.LogWarning("Api: the store {Store} does not answer ({Error}); /api/bins waits for it, retrying", store.Name, ex.Message);
                    warned = true;
                    since = time.GetUtcNow();
                }
                await Task.Delay(delay, time, stoppingToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await LoadAsync(stoppingToken);
            }
            catch (Exception ex) when (Retryable(ex, stoppingToken))
            {
                LastError = ex.Message;
                logger.LogWarning("Api: loading the fleet's state from {Store} failed ({Error}); retrying in 5 s", store.Name, ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(5), time, stoppingToken);
                continue;
            }
            await _catchUp.WaitAsync(options.Value.ReconcileInterval, stoppingToken);
        }
    }

    internal static bool Retryable(Exception ex, CancellationToken stopping) => StoreRetry.Retryable(ex, stopping);

    private async Task LoadAsync(CancellationToken ct)
    {
        var started = time.GetUtcNow();
        var compartments = await store.GetLatestAsync(ct);
        var statuses = await store.GetLatestStatusAsync(ct);
        var changed = state.Load(compartments, statuses, started);
        Loads++;
        LastError = null;
        if (_loaded.TrySetResult())
        {
            logger.LogInformation("Api: fleet state loaded from {Store}: {Bins} bins with readings", store.Name, statuses.Count);
        }
        else if (changed.Count > 0)
        {
            logger.LogInformation("Api: caught up from {Store}: {Count} bin(s) had changes the events had not brought", store.Name, changed.Count);
        }
    }
}

/// <summary>Ready when the fleet's state has been loaded and the store answered the last load.</summary>
public sealed class FleetStateHealthCheck(FleetStateLoader loader, FleetState state) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object> { ["loads"] = loader.Loads, ["version"] = state.Version };
        if (!loader.Loaded.IsCompleted)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy($"the fleet's state is not loaded yet{(loader.LastError is { } e ? $": {e}" : "")}", data: data));
        }
        return Task.FromResult(loader.LastError is { } error
            ? HealthCheckResult.Degraded($"the store did not answer the last load: {error}", data: data)
            : HealthCheckResult.Healthy($"loaded {state.LoadedAt:O}", data));
    }
}
