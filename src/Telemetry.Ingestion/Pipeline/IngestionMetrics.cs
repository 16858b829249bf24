using System.Diagnostics.Metrics;

namespace Telemetry.Ingestion.Pipeline;

/// <summary>
/// Ingestion's counters and histograms (meter <c>Telemetry.Ingestion</c>), for the API's
/// <c>/metrics</c> and any OpenTelemetry exporter. Also readable directly for the console and benchmarks.
/// </summary>
public sealed class IngestionMetrics : IDisposable
{
    public const string MeterName = "Telemetry.Ingestion";

    private readonly Meter _meter;
    private readonly Counter<long> _messagesIn;
    private readonly Counter<long> _readingsStored;
    private readonly Counter<long> _deadLetters;
    private readonly Counter<long> _writeRetries;
    private readonly Histogram<int> _batchSize;
    private readonly Histogram<double> _writeLatency;
    private readonly Histogram<double> _ackLag;
    private long _messagesInTotal;
    private long _readingsStoredTotal;
    private long _deadLettersTotal;
    private long _messagesAcknowledged;
    private long _writeRetriesTotal;
    private long _slowestWriteTicks;
    private long _slowestAckLagTicks;
    private long _lastStoredUtcTicks;
    private readonly TimeProvider _time;

    /// <param name="factory">The host's meter factory (none: a meter of its own).</param>
    /// <param name="time">Real time for when the last batch was stored (the store's and network's clock; default the system's).</param>
    public IngestionMetrics(IMeterFactory? factory = null, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _meter = factory?.Create(MeterName) ?? new Meter(MeterName);
        _messagesIn = _meter.CreateCounter<long>("telemetry.ingestion.messages_in", "{message}", "MQTT messages received");
        _readingsStored = _meter.CreateCounter<long>("telemetry.ingestion.readings_stored", "{reading}", "Readings durably stored");
        _deadLetters = _meter.CreateCounter<long>("telemetry.ingestion.dead_letters", "{message}", "Messages stored as dead letters, by reason");
        _writeRetries = _meter.CreateCounter<long>("telemetry.ingestion.write_retries", "{attempt}", "Store writes retried");
        _batchSize = _meter.CreateHistogram<int>("telemetry.ingestion.batch_size", "{reading}", "Readings per store write");
        _writeLatency = _meter.CreateHistogram<double>("telemetry.ingestion.write_latency", "ms", "Duration of a successful store write, retries included");
        _ackLag = _meter.CreateHistogram<double>("telemetry.ingestion.ack_lag", "ms", "From receiving a message to acknowledging it");
        _meter.CreateObservableGauge("telemetry.ingestion.buffer_depth", () => BufferDepth?.Invoke() ?? 0, "{message}", "Messages received and not yet acknowledged");
    }

    /// <summary>Set by the pipeline: messages held (received, not acknowledged).</summary>
    public Func<int>? BufferDepth { get; set; }

    public long MessagesIn => Interlocked.Read(ref _messagesInTotal);
    public long ReadingsStored => Interlocked.Read(ref _readingsStoredTotal);
    public long DeadLetters => Interlocked.Read(ref _deadLettersTotal);
    public long MessagesAcknowledged => Interlocked.Read(ref _messagesAcknowledged);
    public long WriteRetries => Interlocked.Read(ref _writeRetriesTotal);

    /// <summary>When the store last took a write (real time; health reports its age), or null before the first.</summary>
    public DateTimeOffset? LastStoredAt => Interlocked.Read(ref _lastStoredUtcTicks) is var t and > 0 ? new DateTimeOffset(t, TimeSpan.Zero) : null;

    /// <summary>
    /// The slowest store write and the longest receive→acknowledge lag since the last call, then starts
    /// over: for a progress line that shows stalls between two reports.
    /// </summary>
    public (TimeSpan SlowestWrite, TimeSpan LongestAckLag) TakeExtremes() =>
        (TimeSpan.FromTicks(Interlocked.Exchange(ref _slowestWriteTicks, 0)), TimeSpan.FromTicks(Interlocked.Exchange(ref _slowestAckLagTicks, 0)));

    internal void MessageIn()
    {
        Interlocked.Increment(ref _messagesInTotal);
        _messagesIn.Add(1);
    }

    internal void Stored(int readings, IEnumerable<string> deadLetterReasons, TimeSpan latency)
    {
        Interlocked.Add(ref _readingsStoredTotal, readings);
        Interlocked.Exchange(ref _lastStoredUtcTicks, _time.GetUtcNow().UtcTicks);
        _readingsStored.Add(readings);
        _batchSize.Record(readings);
        _writeLatency.Record(latency.TotalMilliseconds);
        Atomic.RaiseTo(ref _slowestWriteTicks, latency.Ticks);
        foreach (var reason in deadLetterReasons)
        {
            Interlocked.Increment(ref _deadLettersTotal);
            _deadLetters.Add(1, new KeyValuePair<string, object?>("reason", reason));
        }
    }

    internal void Acknowledged(TimeSpan lag)
    {
        Interlocked.Increment(ref _messagesAcknowledged);
        _ackLag.Record(lag.TotalMilliseconds);
        Atomic.RaiseTo(ref _slowestAckLagTicks, lag.Ticks);
    }

    internal void WriteRetried()
    {
        Interlocked.Increment(ref _writeRetriesTotal);
        _writeRetries.Add(1);
    }

    public void Dispose() => _meter.Dispose();
}
