using System.Threading.Channels;
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
/// Publishes a <see cref="ReadingsStored"/> event per stored batch, on a loop of its own: ingestion never waits on
/// the bus. Events wait in a bounded queue; when it is full (the bus is down or slow) the newest event is dropped,
/// and each publish waits at most <c>Bus:PublishTimeout</c>. Every event carries the next number of this process's
/// sequence, dropped ones included, so consumers see the gap and catch up from the store.
/// </summary>
public sealed class ReadingsStoredPublisher : BackgroundService, IStoredReadingsObserver
{
    /// <summary>Events waiting for the bus; at the benchmark's full rate about 2 a second.</summary>
    internal const int QueueCapacity = 256;

    private readonly Channel<ReadingsStored> _queue = Channel.CreateBounded<ReadingsStored>(
        new BoundedChannelOptions(QueueCapacity) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly IBus _bus;
    private readonly BusOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ReadingsStoredPublisher> _logger;
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

    public long Published => Interlocked.Read(ref _published);

    public long Dropped => Interlocked.Read(ref _dropped);

    public void OnStored(IReadOnlyList<Reading> readings)
    {
        if (readings.Count == 0)
        {
            return;
        }
        var e = Build(Source, Interlocked.Increment(ref _sequence), _time.GetUtcNow(), readings);
        if (!_queue.Writer.TryWrite(e))
        {
            Interlocked.Increment(ref _dropped);
            Warn($"the event queue is full ({QueueCapacity} events wait for the bus); event {e.Sequence} dropped, consumers catch up from the store");
        }
    }

    /// <summary>Per bin: the newest fill and weight of each compartment and the newest status in <paramref name="readings"/>.</summary>
    internal static ReadingsStored Build(string source, long sequence, DateTimeOffset storedAt, IReadOnlyList<Reading> readings)
    {
        var bins = new Dictionary<string, (StatusReading? Status, Dictionary<string, (FillReading? Fill, WeightReading? Weight)> Compartments)>(StringComparer.Ordinal);
        foreach (var r in readings)
        {
            if (!bins.TryGetValue(r.BinId, out var bin))
            {
                bin = (null, new Dictionary<string, (FillReading?, WeightReading?)>(StringComparer.Ordinal));
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
            bins[r.BinId] = bin;
        }
        var updates = bins.OrderBy(b => b.Key, StringComparer.Ordinal).Select(b => new BinUpdate(
            b.Key,
            b.Value.Status is { } s ? new BinStatusUpdate(s.Time, s.Online, s.BatteryPct, s.TempC, s.Tilt, s.DoorOpen) : null,
            [.. b.Value.Compartments.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c =>
                new CompartmentUpdate(c.Key, c.Value.Fill?.Time, c.Value.Fill?.Pct, c.Value.Weight?.Time, c.Value.Weight?.NetKg))])).ToList();
        return new ReadingsStored(source, sequence, storedAt, updates);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var e in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                // Real time: how long the transport may keep us (docs/architecture.md, clock policy).
                using var timeout = new CancellationTokenSource(_options.PublishTimeout);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, timeout.Token);
                try
                {
                    await _bus.Publish(e, linked.Token);
                    Interlocked.Increment(ref _published);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested && ex is not OutOfMemoryException)
                {
                    Interlocked.Increment(ref _dropped);
                    var error = timeout.IsCancellationRequested ? $"no answer from the bus within {_options.PublishTimeout.TotalSeconds:0.#} s" : ex.Message;
                    Warn($"publishing event {e.Sequence} failed ({error}); it is dropped and consumers catch up from the store");
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            var left = _queue.Reader.Count;
            if (left > 0)
            {
                _logger.LogInformation("Stopping with {Count} stored-readings events not published; consumers catch up from the store", left);
            }
        }
    }

    /// <summary>At most one warning a minute: a bus outage must not flood the log.</summary>
    private void Warn(string problem)
    {
        var now = DateTimeOffset.UtcNow;
        if (now - _lastWarning < TimeSpan.FromMinutes(1))
        {
            _logger.LogDebug("Bus: {Problem}", problem);
            return;
        }
        _lastWarning = now;
        _logger.LogWarning("Bus: {Problem} ({Dropped} dropped so far)", problem, Dropped);
    }
}
