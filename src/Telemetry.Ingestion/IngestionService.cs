using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Telemetry.Ingestion.Decoding;
using Telemetry.Ingestion.Mqtt;
using Telemetry.Ingestion.Pipeline;
using Telemetry.Storage;

namespace Telemetry.Ingestion;

/// <summary>
/// The ingestion role: opens the store (waiting while it is unreachable), then runs the MQTT source
/// and the storage pipeline together. Stopping first stops taking new messages, then lets what is
/// held be written and acknowledged, then disconnects; only an abort cuts that short (what is not
/// acknowledged then comes back from the broker).
/// </summary>
public sealed class IngestionService
{
    /// <summary>How long opening the store may take before a warning says ingestion is waiting for it.</summary>
    internal static readonly TimeSpan SlowStoreWarning = TimeSpan.FromSeconds(2);

    private readonly MqttIngestionSource _source;
    private readonly ResilientStoreWriter _writer;
    private readonly ILogger _logger;
    private volatile bool _storeReady;

    public IngestionService(IngestionSettings settings, DeviceMessageDecoder decoder, ITelemetryStore store, IngestionMetrics metrics, TimeProvider time, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(loggers);
        Settings = settings;
        Store = store;
        Metrics = metrics;
        _logger = loggers.CreateLogger<IngestionService>();
        _writer = new ResilientStoreWriter(store, settings.ClientId, metrics, loggers.CreateLogger<ResilientStoreWriter>());
        Pipeline = new IngestionPipeline(decoder, _writer, settings, metrics, time, loggers.CreateLogger<IngestionPipeline>());
        _source = new MqttIngestionSource(settings, Pipeline, time, loggers.CreateLogger<MqttIngestionSource>());
    }

    public IngestionSettings Settings { get; }
    public ITelemetryStore Store { get; }
    public IngestionMetrics Metrics { get; }
    public IngestionPipeline Pipeline { get; }
    public ResilientStoreWriter Writer => _writer;
    public MqttIngestionSource Source => _source;

    /// <summary>True while connected to the broker and subscribed.</summary>
    public bool IsConnected => _source.IsConnected;

    /// <summary>True once the store has been opened.</summary>
    public bool IsStoreReady => _storeReady;

    /// <summary>
    /// Opens the store. While it is unreachable this waits and retries (the broker holds the readings
    /// meanwhile) and says so at once, then at least once a minute; a wrong credential or a store that
    /// cannot work (<see cref="Telemetry.Contracts.Configuration.ConfigurationException"/> or any other
    /// error) ends the role.
    /// </summary>
    public async Task InitializeStoreAsync(CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var delay = TimeSpan.FromSeconds(1);
        TimeSpan? lastWarning = null;
        while (true)
        {
            var attempt = Store.InitializeAsync(ct);
            // A store that accepts the connection and never answers must not look like a silent start.
            while (await Task.WhenAny(attempt, Task.Delay(SlowStoreWarning, ct)) != attempt)
            {
                ct.ThrowIfCancellationRequested(); // a cancelled delay completes at once: no spinning
                var waited = Stopwatch.GetElapsedTime(started);
                if (lastWarning is not { } warned || waited - warned >= TimeSpan.FromSeconds(30))
                {
                    _logger.LogWarning("Store {Store} has not answered for {Waited:N0} s; ingestion waits for it (nothing is received meanwhile)", Store.Name, waited.TotalSeconds);
                    lastWarning = waited;
                }
            }
            try
            {
                await attempt;
                _storeReady = true;
                if (lastWarning is not null)
                {
                    _logger.LogWarning("Store {Store} ready after {Waited:N0} s", Store.Name, Stopwatch.GetElapsedTime(started).TotalSeconds);
                }
                return;
            }
            catch (StoreUnavailableException ex)
            {
                var waited = Stopwatch.GetElapsedTime(started);
                if (lastWarning is not { } warned || waited - warned >= TimeSpan.FromMinutes(1))
                {
                    _logger.LogWarning("Store {Store} not ready for {Waited:N0} s: {Error}; retrying (next in {Delay})", Store.Name, waited.TotalSeconds, ex.Message, delay);
                    lastWarning = waited;
                }
                await Task.Delay(delay, ct);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }
    }

    /// <summary>
    /// Receives and stores until <paramref name="stopReceiving"/>, then finishes the writes and
    /// acknowledgements in flight; <paramref name="abort"/> cuts the drain short. Throws when a part
    /// fails on its own (the role then stops, and the process with it).
    /// </summary>
    public async Task RunAsync(CancellationToken stopReceiving, CancellationToken abort)
    {
        using var stopPipeline = CancellationTokenSource.CreateLinkedTokenSource(abort);
        using var stopSource = CancellationTokenSource.CreateLinkedTokenSource(abort);
        var pipeline = Pipeline.RunAsync(stopPipeline.Token);
        var source = _source.RunAsync(stopSource.Token);
        using (stopReceiving.Register(Pipeline.CompleteAdding))
        {
            var first = await Task.WhenAny(pipeline, source);
            if (first == pipeline && pipeline.IsCompletedSuccessfully && !abort.IsCancellationRequested)
            {
                // Drained after stopReceiving: everything taken is stored and acknowledged; now disconnect.
                await stopSource.CancelAsync();
                await IgnoreCancellation(source, stopSource.Token);
                return;
            }
            await stopPipeline.CancelAsync();
            await stopSource.CancelAsync();
            await IgnoreCancellation(pipeline, stopPipeline.Token);
            await IgnoreCancellation(source, stopSource.Token);
            if (abort.IsCancellationRequested)
            {
                _logger.LogWarning("Ingestion stopped before the drain finished; {Held} message(s) not acknowledged come back from the broker", Pipeline.Held);
                return;
            }
            // A part that ended on its own is a failure, reported with its reason.
            await first;
            throw new InvalidOperationException($"the {(first == pipeline ? "storage pipeline" : "MQTT source")} ended on its own");
        }
    }

    private static async Task IgnoreCancellation(Task task, CancellationToken token)
    {
        try
        {
            await task;
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Stopped on purpose.
        }
    }

    /// <summary>The role's state now, for the progress line, the JSON status line and health.</summary>
    public IngestionSnapshot Snapshot()
    {
        var (slowestWrite, longestLag) = Metrics.TakeExtremes();
        return new IngestionSnapshot(
            IsConnected, _storeReady, Metrics.MessagesIn, Metrics.ReadingsStored, Metrics.MessagesAcknowledged, Metrics.DeadLetters,
            Pipeline.Held, Pipeline.PeakHeld, Pipeline.HoldLimit, Metrics.WriteRetries, slowestWrite.TotalMilliseconds, longestLag.TotalMilliseconds,
            GC.GetGCMemoryInfo().HeapSizeBytes / 1048576.0, Environment.WorkingSet / 1048576.0, Metrics.LastStoredAt);
    }
}

/// <summary>
/// What the ingestion role reports of itself: as a line for people, or as one JSON object per line
/// (<c>{"status":"ingestion",...}</c>, camelCase) for programs such as the benchmark and the tests.
/// </summary>
public sealed record IngestionSnapshot(
    bool Connected, bool StoreReady, long Received, long ReadingsStored, long Acknowledged, long DeadLetters,
    int Held, int PeakHeld, int HoldLimit, long WriteRetries, double SlowestWriteMs, double LongestAckLagMs,
    double HeapMb, double ResidentMb, DateTimeOffset? LastStoredAt)
{
    public const string JsonPrefix = "{\"status\":\"ingestion\"";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string ToJson()
    {
        var node = JsonSerializer.SerializeToNode(this, Json)!.AsObject();
        node.Insert(0, "status", "ingestion");
        return node.ToJsonString();
    }

    /// <summary>A status line printed by <see cref="ToJson"/>, or null for any other line.</summary>
    public static IngestionSnapshot? TryParse(string line)
    {
        if (line is null || !line.StartsWith(JsonPrefix, StringComparison.Ordinal))
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize<IngestionSnapshot>(line, Json);
        }
        catch (JsonException)
        {
            return null; // a line cut short (the process was killed while printing)
        }
    }

    public string ToText() => string.Create(CultureInfo.InvariantCulture,
        $"ingestion {(Connected ? "connected" : "DISCONNECTED")}{(StoreReady ? "" : " (store not open)")} | received {Received:N0} | readings stored {ReadingsStored:N0} | " +
        $"dead letters {DeadLetters:N0} | held {Held:N0} (peak {PeakHeld:N0}) | write retries {WriteRetries:N0} | " +
        $"slowest write {SlowestWriteMs:N0} ms | longest ack lag {LongestAckLagMs:N0} ms | heap {HeapMb:N0} MB | resident {ResidentMb:N0} MB");
}
