using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Telemetry.Contracts.Readings;
using Telemetry.Contracts.Time;
using Telemetry.Fleet;
using Telemetry.Fleet.Signal;
using Telemetry.Storage;

namespace Telemetry.Scheduling.Signal;

/// <summary>
/// The fleet's fill signal, kept by the api and scheduler roles (one instance per process): at start it rebuilds every compartment's cleaner and forecaster from the last
/// <c>Scheduling:HistoryDays</c> of stored readings (a day at a time), then keeps them current: each <c>ReadingsStored</c> event
/// names the bins that changed, and their readings newer than the last one taken of each compartment and measurement are
/// read back from the store (so every reading counts, not only the newest of a batch); every 30 s a pass over every bin takes
/// what no event announced. What it makes of each reading, the cleaned levels, predictions and emptyings go to every
/// <see cref="IFillSignalListener"/> (the api's fleet state, the scheduler's alert rules and jobs), in order; emptyings
/// and device events are written to the store (measurements <c>collection</c> and <c>device_event</c>). Every api replica
/// derives the same events from the same readings, and an event's identity (bin, compartment or kind, time) makes the
/// replicas' writes one point. A reading older than the last one taken of its compartment and measurement (a late delivery)
/// is stored but not cleaned until the next start.
/// </summary>
public sealed class FillIntelligence : BackgroundService
{
    private readonly object _gate = new();
    private readonly ITelemetryStore _store;
    private readonly IFillSignalListener[] _listeners;
    private readonly FleetRegistry _registry;
    private readonly SchedulingOptions _options;
    private readonly TelemetryClock _clock;
    private readonly ILogger<FillIntelligence> _logger;
    private readonly FleetSignals _signals;
    private readonly SignalFeed _feed;
    // The newest reading taken per (bin, measurement, compartment): a reading at or before its key's mark was taken already
    // (identity: the same key and time is the same reading) or comes late. Reads look back Overlap before the oldest mark of
    // their bins, so a batch stored in parts (one instant's fill and weight in two writes) is still taken whole.
    private readonly Dictionary<string, DateTimeOffset> _binMarks = new(StringComparer.Ordinal);
    private static readonly TimeSpan Overlap = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan ReconcileEvery = TimeSpan.FromSeconds(30);
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly TaskCompletionSource _rebuilt = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<CollectionEvent> _unwrittenCollections = [];
    private readonly List<DeviceEvent> _unwrittenDevices = [];
    private DateTimeOffset _rebuiltFrom;
    private long _passes;

    public FillIntelligence(ITelemetryStore store, IEnumerable<IFillSignalListener> listeners, FleetRegistry registry, IOptions<SchedulingOptions> options, TelemetryClock clock, ILogger<FillIntelligence> logger)
    {
        _store = store;
        _listeners = [.. listeners];
        _registry = registry;
        _options = options.Value;
        _clock = clock;
        _logger = logger;
        _signals = new FleetSignals(registry, new CleaningOptions(), new PredictionOptions { ThresholdPct = _options.ThresholdPct });
        _feed = new SignalFeed(_signals);
    }

    /// <summary>Done when the state has been rebuilt from the store.</summary>
    public Task Rebuilt => _rebuilt.Task;

    /// <summary>Readings taken so far (rebuild and live).</summary>
    public long ReadingsTaken { get; private set; }

    /// <summary>Events detected so far (collections, device events).</summary>
    public long EventsDetected { get; private set; }

    public string? LastError { get; private set; }

    /// <summary>Passes over the store done since the rebuild (one per wake-up that had bins to read).</summary>
    public long Passes => Interlocked.Read(ref _passes);

    /// <summary>Bins whose readings changed (from a <c>ReadingsStored</c> event); returns at once.</summary>
    public void Notify(IEnumerable<string> binIds)
    {
        lock (_dirty)
        {
            foreach (var id in binIds)
            {
                _dirty.Add(id);
            }
        }
        Wake();
    }

    /// <summary>A compartment's forecast curve from now (its expected level and band), empty when it has no readings.</summary>
    public IReadOnlyList<ForecastPoint> Curve(string binId, string compartment, TimeSpan step)
    {
        lock (_gate)
        {
            var signal = _signals.Compartment(binId, compartment);
            if (signal?.Forecast is null)
            {
                return [];
            }
            var now = _clock.GetUtcNow();
            now = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
            return signal.Forecaster.Curve(now > signal.Forecast.MadeAt ? now : signal.Forecast.MadeAt, step);
        }
    }

    private void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already woken: the next pass takes every bin marked so far.
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await RetryAsync(RebuildAsync, "rebuilding the fill signal", stoppingToken);
        _rebuilt.TrySetResult();
        var lastReconcile = TimeProvider.System.GetTimestamp();
        while (!stoppingToken.IsCancellationRequested)
        {
            // Events wake it; every 30 s of real time, whatever the events do, a pass over every bin takes what no event
            // announced (an event lost with the bus, a batch stored after its event).
            await _wake.WaitAsync(ReconcileEvery, stoppingToken);
            var reconcile = TimeProvider.System.GetElapsedTime(lastReconcile) >= ReconcileEvery;
            if (reconcile)
            {
                lastReconcile = TimeProvider.System.GetTimestamp();
            }
            await RetryAsync(ct => CatchUpAsync(reconcile, ct), "reading new readings", stoppingToken);
        }
    }

    private async Task RetryAsync(Func<CancellationToken, Task> work, string what, CancellationToken ct)
    {
        var delay = TimeSpan.FromMilliseconds(500);
        while (true)
        {
            try
            {
                await work(ct);
                LastError = null;
                return;
            }
            catch (Exception ex) when (StoreRetry.Retryable(ex, ct)) // the same policy as the fleet state's loads
            {
                LastError = ex.Message;
                _logger.LogWarning("Fill signal: {What} failed ({Error}); retrying in {Delay:0.#} s", what, ex.Message, delay.TotalSeconds);
                await Task.Delay(delay, TimeProvider.System, ct);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }
    }

    private async Task RebuildAsync(CancellationToken ct)
    {
        await _store.InitializeAsync(ct);
        var now = _clock.GetUtcNow();
        var from = now - TimeSpan.FromDays(_options.HistoryDays);
        var readings = 0L;
        for (var day = from; day < now + TimeSpan.FromMinutes(5); day += TimeSpan.FromDays(1))
        {
            var end = day + TimeSpan.FromDays(1);
            var chunk = await _store.GetReadingsAsync(null, day, end, ct);
            readings += chunk.Count;
            Deliver(Take(chunk, publish: false), rebuild: true);
        }
        _rebuiltFrom = from;
        // What the rebuild found goes to the state and the store at once.
        Deliver(new TakeResult([.. _registry.Bins.SelectMany(b => b.Compartments.Select(c => (b.Id, c.Id)))], [], []), rebuild: false);
        await FlushEventsAsync(ct);
        _logger.LogInformation("Fill signal rebuilt from {Store}: {Readings} readings of the last {Days} days, {Events} events", _store.Name, readings, _options.HistoryDays, EventsDetected);
    }

    private async Task CatchUpAsync(bool reconcile, CancellationToken ct)
    {
        HashSet<string> named;
        lock (_dirty)
        {
            named = [.. _dirty];
            _dirty.Clear();
        }
        if (reconcile)
        {
            named.UnionWith(_registry.Bins.Select(b => b.Id));
        }
        if (named.Count == 0)
        {
            return;
        }
        var now = _clock.GetUtcNow();
        // Bins in order of their oldest mark, read 100 at a time from that group's oldest mark: a bin silent for days only
        // makes its own group (of other silent bins) look back that far.
        // A bin without any reading yet is read from where the rebuild began (what it stores first may be old).
        var bins = named.Select(b => (Bin: b, From: _binMarks.TryGetValue(b, out var m) ? m - Overlap : _rebuiltFrom)).OrderBy(b => b.From).ToList();
        try
        {
            for (var i = 0; i < bins.Count; i += 100)
            {
                var group = bins.GetRange(i, Math.Min(100, bins.Count - i));
                var readings = await _store.GetReadingsAsync([.. group.Select(g => g.Bin)], group[0].From, now + TimeSpan.FromMinutes(6), ct);
                Deliver(Take(readings, publish: true), rebuild: false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Not read: mark them again so the retry takes them.
            Notify(named);
            throw;
        }
        await FlushEventsAsync(ct);
        Interlocked.Increment(ref _passes);
    }

    /// <summary>What one run of readings gave: the compartments whose level moved (to publish), each reading taken with what it made, the emptyings.</summary>
    private sealed record TakeResult(List<(string BinId, string Compartment)> Changed, List<SignalObservation> Observations, List<CollectionEvent> Collections);

    /// <summary>Feeds the readings not taken yet (each newer than its compartment's and measurement's mark).</summary>
    private TakeResult Take(IReadOnlyList<Reading> readings, bool publish)
    {
        var output = new SignalOutput();
        var observations = new List<SignalObservation>(readings.Count);
        var collections = new List<CollectionEvent>();
        lock (_gate)
        {
            foreach (var r in readings)
            {
                if (!_feed.Take(r, output, observations))
                {
                    continue; // taken already (reads overlap), or late
                }
                ReadingsTaken++;
            }
            // A bin's read starts from the oldest of its marks (less the overlap): a compartment that stopped reporting must
            // not hold the others back for long, so the bin mark follows its newest reading; readings of a silent
            // compartment newer than that are still found, as its own mark is older.
            foreach (var r in readings)
            {
                if (!_binMarks.TryGetValue(r.BinId, out var mark) || r.Time > mark)
                {
                    _binMarks[r.BinId] = r.Time;
                }
            }
            foreach (var (binId, c, e) in output.Collections)
            {
                var bin = _registry.FindBin(binId)!;
                var collection = new CollectionEvent(binId, bin.Community, c.Id, c.Stream.Name(), e.Time, e.KgCollected, e.FillBeforePct, e.FillAfterPct);
                _unwrittenCollections.Add(collection);
                collections.Add(collection);
                EventsDetected++;
            }
            foreach (var (binId, d) in output.DeviceChanges)
            {
                var bin = _registry.FindBin(binId)!;
                _unwrittenDevices.Add(new DeviceEvent(binId, bin.Community, d.Time, d.Kind, d.Seq, d.Detail));
                EventsDetected++;
            }
        }
        return new TakeResult(publish ? [.. output.Changed] : [], observations, collections);
    }

    /// <summary>Gives every listener what a run of readings made (from this one loop: listeners see runs in order).</summary>
    private void Deliver(TakeResult taken, bool rebuild)
    {
        var cleaned = Cleaned(taken.Changed);
        if (cleaned.Count == 0 && taken.Observations.Count == 0 && taken.Collections.Count == 0)
        {
            return;
        }
        var batch = new FillSignalBatch(rebuild, taken.Observations, cleaned, taken.Collections);
        foreach (var listener in _listeners)
        {
            listener.Taken(batch);
        }
    }

    private List<CleanedCompartment> Cleaned(List<(string BinId, string Compartment)> compartments)
    {
        if (compartments.Count == 0)
        {
            return [];
        }
        var cleaned = new List<CleanedCompartment>(compartments.Count);
        lock (_gate)
        {
            foreach (var (binId, compartment) in compartments)
            {
                var signal = _signals.Compartment(binId, compartment);
                if (signal is null || !signal.Cleaner.HasLevel)
                {
                    continue;
                }
                var f = signal.Forecast;
                cleaned.Add(new CleanedCompartment(binId, compartment, Math.Round(signal.Cleaner.Level, 2), signal.Cleaner.Time, f is null ? null : new CompartmentPrediction(
                    f.MadeAt, f.ThresholdPct, f.ThresholdAt, f.ThresholdLow, f.ThresholdHigh, f.FullAt, f.FullLow, f.FullHigh, f.RatePctPerHour, f.Basis),
                    signal.Raw?.Time));
            }
        }
        return cleaned;
    }

    private async Task FlushEventsAsync(CancellationToken ct)
    {
        List<CollectionEvent> collections;
        List<DeviceEvent> devices;
        lock (_gate)
        {
            if (_unwrittenCollections.Count == 0 && _unwrittenDevices.Count == 0)
            {
                return;
            }
            collections = [.. _unwrittenCollections];
            devices = [.. _unwrittenDevices];
        }
        try
        {
            await _store.WriteEventsAsync(collections, devices, ct);
        }
        catch (StoreRejectedException ex) when (!ex.IsStoreWide)
        {
            // The store refuses these events as they are: retrying cannot help. They are dropped, loudly.
            _logger.LogError("Fill signal: the store refused {Collections} collection(s) and {Devices} device event(s) ({Error}); they are dropped", collections.Count, devices.Count, ex.Message);
        }
        lock (_gate)
        {
            _unwrittenCollections.RemoveRange(0, collections.Count);
            _unwrittenDevices.RemoveRange(0, devices.Count);
        }
    }
}

/// <summary>Ready when the fill signal has been rebuilt from the store.</summary>
public sealed class FillIntelligenceHealthCheck(FillIntelligence intelligence) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object> { ["readings"] = intelligence.ReadingsTaken, ["events"] = intelligence.EventsDetected };
        if (!intelligence.Rebuilt.IsCompleted)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy($"the fill signal is not rebuilt yet{(intelligence.LastError is { } e ? $": {e}" : "")}", data: data));
        }
        return Task.FromResult(intelligence.LastError is { } error
            ? HealthCheckResult.Degraded($"the store did not answer the last read: {error}", data: data)
            : HealthCheckResult.Healthy($"{intelligence.ReadingsTaken} readings taken", data));
    }
}
