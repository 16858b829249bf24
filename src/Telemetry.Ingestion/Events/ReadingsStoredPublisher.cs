using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Telemetry.Contracts.Messages;
using Telemetry.Contracts.Readings;
using Telemetry.Messaging;

namespace Telemetry.Ingestion.Events;

/// <summary>Told of every batch once it is durably stored; must return at once.</summary>
public interface IStoredReadingsObserver
{
    void OnStored(IReadOnlyList<Reading> readings);
}

/// <summary>
/// Publishes what stored batches changed as <see cref="ReadingsStored"/> events, on a loop of its own: ingestion never
/// waits on the bus. Stored readings are merged per bin (the newest fill and weight of each compartment, the newest
/// status) and per vehicle (its newest position), and sent every <c>Bus:PublishInterval</c>, at most
/// <see cref="MaxBinsPerEvent"/> bins and as many vehicles an event, so what
/// waits is bounded by the fleet's size however long the bus is away, and under full load the events stay few and
/// small. Each publish waits at most <c>Bus:PublishTimeout</c>; an event that fails is dropped, and since every event
/// carries the next number of this process's sequence, consumers see the gap and catch up from the store.
/// </summary>
public sealed class ReadingsStoredPublisher : BackgroundService, IStoredReadingsObserver
{
    /// <summary>Bins per event: keeps a message well below the large-object threshold of 85,000 bytes.</summary>
    public const int MaxBinsPerEvent = 100;

    private readonly object _gate = new();
    private readonly IBus _bus;
    private readonly BusOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ReadingsStoredPublisher> _logger;
    private Dictionary<string, PendingBin> _pending = new(StringComparer.Ordinal);
    private Dictionary<string, VehiclePositionReading> _pendingVehicles = new(StringComparer.Ordinal);
    private long _sequence;
    private long _published;
    private long _dropped;
    private DateTimeOffset _lastWarning = DateTimeOffset.MinValue;

    public ReadingsStoredPublisher(IBus bus, IOptions<BusOptions> options, IngestionSettings settings, ILogger<ReadingsStoredPublisher> logger)
        : this(bus, options.Value, $"{settings.ClientId}/{Guid.NewGuid():N}", TimeProvider.System, logger)
    {
    }

    internal ReadingsStoredPublisher(IBus bus, BusOptions options, string source, TimeProvider time, ILogger<ReadingsStoredPublisher> logger)
    {
        _bus = bus;
        _options = options;
        Source = source;
        _time = time;
        _logger = logger;
    }

    /// <summary>This process's name in its events.</summary>
    public string Source { get; }

    /// <summary>Since when ingestion has been without the broker (null while connected); set by the composition.</summary>
    public Func<DateTimeOffset?>? DisconnectedSince { get; set; }

    private bool? _announcedConnected;
    private long _lastAnnounced;

    public long Published => Interlocked.Read(ref _published);

    public long Dropped => Interlocked.Read(ref _dropped);

    public void OnStored(IReadOnlyList<Reading> readings)
    {
        ArgumentNullException.ThrowIfNull(readings);
        if (readings.Count == 0)
        {
            return;
        }
        lock (_gate)
        {
            Merge(_pending, _pendingVehicles, readings);
        }
        // After a quiet spell the first batch goes out at once (a lone reading that raises an alert is not held for an
        // interval); under load, events go out once an interval with what was merged meanwhile.
        if (_time.GetElapsedTime(Interlocked.Read(ref _lastFlush)) >= _options.PublishInterval)
        {
            try
            {
                _kick.Release();
            }
            catch (SemaphoreFullException)
            {
                // A flush is asked for already.
            }
        }
    }

    private readonly SemaphoreSlim _kick = new(0, 1);
    private long _lastFlush;

    /// <summary>
    /// One event of <paramref name="readings"/>: per bin the newest of each compartment and the newest status, per vehicle
    /// its newest position.
    /// </summary>
    internal static ReadingsStored Build(string source, long sequence, DateTimeOffset storedAt, IReadOnlyList<Reading> readings)
    {
        var pending = new Dictionary<string, PendingBin>(StringComparer.Ordinal);
        var vehicles = new Dictionary<string, VehiclePositionReading>(StringComparer.Ordinal);
        Merge(pending, vehicles, readings);
        return Event(source, sequence, storedAt, pending.OrderBy(b => b.Key, StringComparer.Ordinal).ToList(), Ordered(vehicles));
    }

    private static List<VehiclePositionReading> Ordered(Dictionary<string, VehiclePositionReading> vehicles) =>
        [.. vehicles.Values.OrderBy(v => v.VehicleId, StringComparer.Ordinal)];

    private static void Merge(Dictionary<string, PendingBin> pending, Dictionary<string, VehiclePositionReading> vehicles, IReadOnlyList<Reading> readings)
    {
        foreach (var r in readings)
        {
            if (r is VehiclePositionReading p)
            {
                // A position delivered late (QoS 1 redelivery, a unit's backlog) does not move the truck back.
                if (!vehicles.TryGetValue(p.VehicleId, out var newest) || p.Time >= newest.Time)
                {
                    vehicles[p.VehicleId] = p;
                }
                continue;
            }
            if (!pending.TryGetValue(r.BinId, out var bin))
            {
                pending[r.BinId] = bin = new PendingBin();
            }
            switch (r)
            {
                case StatusReading s when bin.Status is null || s.Time >= bin.Status.Time:
                    bin.Status = s;
                    break;
                case FillReading f:
                    var cf = bin.Compartments.GetValueOrDefault(f.Compartment);
                    if (cf.Fill is null || f.Time >= cf.Fill.Time)
                    {
                        bin.Compartments[f.Compartment] = (f, cf.Weight);
                    }
                    break;
                case WeightReading w:
                    var cw = bin.Compartments.GetValueOrDefault(w.Compartment);
                    if (cw.Weight is null || w.Time >= cw.Weight.Time)
                    {
                        bin.Compartments[w.Compartment] = (cw.Fill, w);
                    }
                    break;
            }
        }
    }

    private static ReadingsStored Event(string source, long sequence, DateTimeOffset storedAt, IReadOnlyList<KeyValuePair<string, PendingBin>> bins,
        IReadOnlyList<VehiclePositionReading> vehicles) =>
        new(source, sequence, storedAt, [.. bins.Select(b => new BinUpdate(
            b.Key,
            b.Value.Status is { } s ? new BinStatusUpdate(s.Time, s.Online, s.BatteryPct, s.TempC, s.Tilt, s.DoorOpen) : null,
            [.. b.Value.Compartments.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c =>
                new CompartmentUpdate(c.Key, c.Value.Fill?.Time, c.Value.Fill?.Pct, c.Value.Weight?.Time, c.Value.Weight?.NetKg))]))])
        {
            Vehicles = [.. vehicles.Select(v => new VehiclePositionUpdate(v.VehicleId, v.Time, v.Lat, v.Lon, v.SpeedKmh))],
        };

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Real time: how often and how long the transport may keep us (docs/architecture.md, clock policy).
        try
        {
            while (true)
            {
                // At most one flush an interval: woken early by the first batch after a quiet interval.
                await _kick.WaitAsync(_options.PublishInterval, stoppingToken);
                var since = _time.GetElapsedTime(Interlocked.Read(ref _lastFlush));
                if (since < _options.PublishInterval)
                {
                    await Task.Delay(_options.PublishInterval - since, _time, stoppingToken);
                }
                bool any;
                lock (_gate)
                {
                    any = _pending.Count > 0 || _pendingVehicles.Count > 0;
                }
                if (any)
                {
                    // Only a flush that sends counts: an idle interval leaves the next batch free to go at once.
                    Interlocked.Exchange(ref _lastFlush, _time.GetTimestamp());
                }
                await FlushAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: the host stops this after ingestion has drained and before the bus; send what is left.
            using var last = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await FlushAsync(last.Token);
        }
    }

    /// <summary>Says when the broker is lost or back, and every 30 s while it is away (a scheduler started meanwhile learns it).</summary>
    private async Task AnnounceConnectionAsync(CancellationToken ct)
    {
        if (DisconnectedSince is not { } state)
        {
            return;
        }
        var connected = state() is null;
        var due = _announcedConnected != connected || (!connected && _time.GetElapsedTime(_lastAnnounced) >= TimeSpan.FromSeconds(30));
        if (!due)
        {
            return;
        }
        using var timeout = new CancellationTokenSource(_options.PublishTimeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        try
        {
            await _bus.Publish(new IngestionConnection(Source, connected, _time.GetUtcNow()), linked.Token);
            _announcedConnected = connected;
            _lastAnnounced = _time.GetTimestamp();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Warn($"publishing that the broker is {(connected ? "back" : "lost")} failed ({ex.Message}); retried");
        }
    }

    /// <summary>
    /// Publishes what has been merged since the last flush, in events of at most <see cref="MaxBinsPerEvent"/> bins and as many
    /// vehicles (the first events carry the vehicles; one with only vehicles when no bin changed).
    /// </summary>
    internal async Task FlushAsync(CancellationToken ct)
    {
        await AnnounceConnectionAsync(ct);
        Dictionary<string, PendingBin> bins;
        Dictionary<string, VehiclePositionReading> vehicles;
        lock (_gate)
        {
            if (_pending.Count == 0 && _pendingVehicles.Count == 0)
            {
                return;
            }
            bins = _pending;
            vehicles = _pendingVehicles;
            _pending = new Dictionary<string, PendingBin>(StringComparer.Ordinal);
            _pendingVehicles = new Dictionary<string, VehiclePositionReading>(StringComparer.Ordinal);
        }
        var ordered = bins.OrderBy(b => b.Key, StringComparer.Ordinal).ToList();
        var positions = Ordered(vehicles);
        for (var i = 0; i < Math.Max(ordered.Count, positions.Count); i += MaxBinsPerEvent)
        {
            var e = Event(Source, Interlocked.Increment(ref _sequence), _time.GetUtcNow(),
                ordered.GetRange(Math.Min(i, ordered.Count), Math.Clamp(ordered.Count - i, 0, MaxBinsPerEvent)),
                positions.GetRange(Math.Min(i, positions.Count), Math.Clamp(positions.Count - i, 0, MaxBinsPerEvent)));
            using var timeout = new CancellationTokenSource(_options.PublishTimeout);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
            try
            {
                await _bus.Publish(e, linked.Token);
                Interlocked.Increment(ref _published);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Interlocked.Increment(ref _dropped);
                var error = timeout.IsCancellationRequested ? $"no answer from the bus within {_options.PublishTimeout.TotalSeconds:0.#} s"
                    : ct.IsCancellationRequested ? "stopping" : ex.Message;
                Warn($"publishing event {e.Sequence} ({e.Bins.Count} bins, {e.Vehicles.Count} vehicles) failed ({error}); it is dropped and consumers catch up from the store");
            }
        }
    }

    /// <summary>At most one warning a minute: a bus outage must not flood the log.</summary>
    private void Warn(string problem)
    {
        var now = _time.GetUtcNow();
        if (now - _lastWarning < TimeSpan.FromMinutes(1))
        {
            _logger.LogDebug("Bus: {Problem}", problem);
            return;
        }
        _lastWarning = now;
        _logger.LogWarning("Bus: {Problem} ({Dropped} dropped so far)", problem, Dropped);
    }

    private sealed class PendingBin
    {
        public StatusReading? Status { get; set; }

        public Dictionary<string, (FillReading? Fill, WeightReading? Weight)> Compartments { get; } = new(StringComparer.Ordinal);
    }
}
