using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Telemetry.Contracts.Readings;
using Telemetry.Contracts.Time;
using Telemetry.Fleet;
using Telemetry.Fleet.Signal;
using Telemetry.Storage;

namespace Telemetry.Api.State;

/// <summary>
/// The fleet's fill signal, kept by the api role: at start it rebuilds every compartment's cleaner and forecaster from the last
/// <c>Scheduling:HistoryDays</c> of stored readings (a day at a time), then keeps them current: each <c>ReadingsStored</c> event
/// names the bins that changed, and their readings newer than the last one taken are read back from the store (so every
/// reading counts, not only the newest of a batch). Cleaned levels and predictions go to <see cref="FleetState"/>; emptyings
/// and device events are written to the store (measurements <c>collection</c> and <c>device_event</c>). Every api replica
/// derives the same events from the same readings, and an event's identity (bin, compartment or kind, time) makes the
/// replicas' writes one point. A reading older than its bin's last one taken (a late delivery) is stored but not cleaned
/// until the next start.
/// </summary>
public sealed class FillIntelligence : BackgroundService
{
    private readonly object _gate = new();
    private readonly ITelemetryStore _store;
    private readonly FleetState _state;
    private readonly FleetRegistry _registry;
    private readonly SchedulingThresholdOptions _options;
    private readonly TelemetryClock _clock;
    private readonly ILogger<FillIntelligence> _logger;
    private readonly FleetSignals _signals;
    private readonly Dictionary<string, DateTimeOffset> _watermarks = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly TaskCompletionSource _rebuilt = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<CollectionEvent> _unwrittenCollections = [];
    private readonly List<DeviceEvent> _unwrittenDevices = [];
    private DateTimeOffset _rebuiltUpTo;

    public FillIntelligence(ITelemetryStore store, FleetState state, FleetRegistry registry, IOptions<SchedulingThresholdOptions> options, TelemetryClock clock, ILogger<FillIntelligence> logger)
    {
        _store = store;
        _state = state;
        _registry = registry;
        _options = options.Value;
        _clock = clock;
        _logger = logger;
        _signals = new FleetSignals(registry, new CleaningOptions(), new PredictionOptions { ThresholdPct = _options.ThresholdPct });
    }

    /// <summary>Done when the state has been rebuilt from the store.</summary>
    public Task Rebuilt => _rebuilt.Task;

    /// <summary>Readings taken so far (rebuild and live).</summary>
    public long ReadingsTaken { get; private set; }

    /// <summary>Events detected so far (collections, device events).</summary>
    public long EventsDetected { get; private set; }

    public string? LastError { get; private set; }

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
        while (!stoppingToken.IsCancellationRequested)
        {
            // Real time between reconciliations: the store is polled for anything an event did not announce.
            await _wake.WaitAsync(TimeSpan.FromSeconds(30), stoppingToken);
            await RetryAsync(CatchUpAsync, "reading new readings", stoppingToken);
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
            catch (Exception ex) when (!ct.IsCancellationRequested && ex is StoreUnavailableException or StoreRejectedException or HttpRequestException or TimeoutException)
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
            Take(chunk, publish: false);
        }
        _rebuiltUpTo = now;
        // What the rebuild found goes to the state and the store at once.
        Publish([.. _registry.Bins.SelectMany(b => b.Compartments.Select(c => (b.Id, c.Id)))]);
        await FlushEventsAsync(ct);
        _logger.LogInformation("Fill signal rebuilt from {Store}: {Readings} readings of the last {Days} days, {Events} events", _store.Name, readings, _options.HistoryDays, EventsDetected);
    }

    private async Task CatchUpAsync(CancellationToken ct)
    {
        List<string> bins;
        lock (_dirty)
        {
            bins = [.. _dirty];
            _dirty.Clear();
        }
        var reconcile = bins.Count == 0;
        if (reconcile)
        {
            bins = [.. _registry.Bins.Select(b => b.Id)]; // every bin
        }
        var now = _clock.GetUtcNow();
        // From the oldest watermark of the bins named (a bin without readings: from when the rebuild ended); a reconciliation
        // looks back an hour at most, so a bin silent for days does not make every pass read days.
        var oldest = bins.Select(b => _watermarks.TryGetValue(b, out var w) ? w : _rebuiltUpTo).Min();
        if (reconcile && oldest < now - TimeSpan.FromHours(1))
        {
            oldest = now - TimeSpan.FromHours(1);
        }
        try
        {
            for (var i = 0; i < bins.Count; i += 100)
            {
                var group = bins.GetRange(i, Math.Min(100, bins.Count - i));
                var readings = await _store.GetReadingsAsync(group, oldest, now + TimeSpan.FromMinutes(6), ct);
                var changed = Take(readings, publish: true);
                Publish(changed);
            }
        }
        catch
        {
            // Not read: mark them again so the retry takes them.
            Notify(bins);
            throw;
        }
        await FlushEventsAsync(ct);
    }

    /// <summary>Feeds readings newer than each bin's watermark; returns the compartments whose clean level moved.</summary>
    private List<(string BinId, string Compartment)> Take(IReadOnlyList<Reading> readings, bool publish)
    {
        var output = new SignalOutput();
        lock (_gate)
        {
            foreach (var r in readings)
            {
                if (_watermarks.TryGetValue(r.BinId, out var mark) && r.Time <= mark)
                {
                    continue; // taken already (the query overlaps), or late
                }
                switch (r)
                {
                    case FillReading f:
                        _signals.Fill(f.BinId, f.Compartment, f.Time, f.Seq, f.Pct, output);
                        break;
                    case WeightReading w:
                        _signals.Weight(w.BinId, w.Compartment, w.Time, w.Seq, w.NetKg, output);
                        break;
                    case StatusReading s:
                        _signals.Status(s.BinId, s.Time, s.Seq, s.TimeFromDevice, s.Online, output);
                        break;
                }
                ReadingsTaken++;
            }
            // Watermarks move after the batch: readings of one bin at one instant (fill and weight together) are all taken.
            foreach (var r in readings)
            {
                if (!_watermarks.TryGetValue(r.BinId, out var mark) || r.Time > mark)
                {
                    _watermarks[r.BinId] = r.Time;
                }
            }
            foreach (var (binId, c, e) in output.Collections)
            {
                var bin = _registry.FindBin(binId)!;
                _unwrittenCollections.Add(new CollectionEvent(binId, bin.Community, c.Id, c.Stream.Name(), e.Time, e.KgCollected, e.FillBeforePct, e.FillAfterPct));
                EventsDetected++;
            }
            foreach (var (binId, d) in output.DeviceChanges)
            {
                var bin = _registry.FindBin(binId)!;
                _unwrittenDevices.Add(new DeviceEvent(binId, bin.Community, d.Time, d.Kind, d.Seq, d.Detail));
                EventsDetected++;
            }
        }
        return publish ? [.. output.Changed] : [];
    }

    private void Publish(List<(string BinId, string Compartment)> compartments)
    {
        if (compartments.Count == 0)
        {
            return;
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
                    f.MadeAt, f.ThresholdPct, f.ThresholdAt, f.ThresholdLow, f.ThresholdHigh, f.FullAt, f.FullLow, f.FullHigh, f.RatePctPerHour, f.Basis)));
            }
        }
        _state.ApplyCleaned(cleaned);
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
        await _store.WriteEventsAsync(collections, devices, ct);
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
