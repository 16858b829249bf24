using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Telemetry.Contracts.Configuration;
using Telemetry.Contracts.Readings;
using Telemetry.Fleet;
using Telemetry.Ingestion;
using Telemetry.Ingestion.Decoding;
using Telemetry.Storage;

namespace Telemetry.Benchmarks;

/// <summary>Options of <c>telemetry bench ingest</c>.</summary>
internal sealed record IngestBenchOptions(int Seconds, int Bins, int Backlog, int Connections, int Window, int Seed);

/// <summary>
/// <c>telemetry bench ingest</c> (CONTRACT §5): against the configured broker and store, measures the
/// bare subscriber (A), the bare store (B), the full pipeline in a child ingestion process (C), the
/// publish→stored latency at half the limit (D) and, with <c>--backlog N</c>, the drain of N messages
/// queued while ingestion was stopped (K). Every phase publishes under its own bin prefix of this
/// run (<c>B??????a-</c>, …), so counts in the store are this run's data only.
/// </summary>
internal sealed class IngestBenchmark(IConfiguration config, IReadOnlyList<string> configurationTokens, IngestBenchOptions options)
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    private static readonly TimeSpan ProgressEvery = TimeSpan.FromSeconds(2);

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Dictionary<string, object> _result = new(StringComparer.Ordinal);
    private volatile Func<string> _status = () => "starting";
    private MqttEndpoint _broker = MqttEndpoint.EmbeddedDefault;
    private IngestionSettings _ingestion = null!;
    private ITelemetryStore _store = null!;
    private MessagePool _pool = null!;
    private DeviceMessageDecoder _fullDecoder = null!;
    private DateTimeOffset _countFrom;
    private string _run = "";
    private string _tempDir = "";
    private string _childClientId = "";
    private IngestionChild? _child;

    public async Task<int> RunAsync(CancellationToken ct)
    {
        _broker = BenchSettings.MqttServer(config);
        if (_broker.Embedded)
        {
            throw new ConfigurationException(BenchSettings.MqttServerKey,
                "bench ingest measures a real broker: give mqtt://host:port (the embedded broker has no shared subscriptions, which the ingestion role uses on external brokers)");
        }
        _ingestion = BenchSettings.Ingestion(config);
        var decoderSettings = BenchSettings.Decoder(config);
        var baseRegistry = BenchSettings.LoadRegistry(config);
        _store = BenchSettings.CreateStore(config);
        await using var storeLifetime = _store;

        using var progressStop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var progress = ProgressAsync(progressStop.Token);
        string? error = null;
        var exit = 0;
        try
        {
            await RunPhasesAsync(baseRegistry, decoderSettings, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            error = "cancelled";
        }
#pragma warning disable CA1031 // Any failure ends the benchmark with a message and a non-zero exit, after cleaning up.
        catch (Exception ex) when (ex is not ConfigurationException)
#pragma warning restore CA1031
        {
            error = ex.Message;
        }
        finally
        {
            await progressStop.CancelAsync();
            await progress;
            await CleanupAsync();
        }

        var lost = _result.TryGetValue("lost", out var l) ? (long)l : 0;
        if (error is not null)
        {
            Console.WriteLine($"FAILED: {error}");
            _result["error"] = error;
            exit = 1;
        }
        else if (lost > 0)
        {
            Console.WriteLine($"FAILED: {lost:N0} message(s) lost (published and acknowledged by the broker, readings missing from the store).");
            exit = 1;
        }
        _result["elapsedSec"] = Math.Round(_clock.Elapsed.TotalSeconds, 1);
        Console.WriteLine(Json());
        return exit;
    }

    private async Task RunPhasesAsync(FleetRegistry baseRegistry, DecoderSettings decoderSettings, CancellationToken ct)
    {
        var s = options.Seconds;
        var budgetA = TimeSpan.FromSeconds(s * 0.08);
        var budgetB = TimeSpan.FromSeconds(s * 0.08);
        var budgetC = TimeSpan.FromSeconds(s * 0.30);
        var budgetD = TimeSpan.FromSeconds(s * 0.15);

        _run = "B" + RandomNumberGenerator.GetString(Alphabet, 6);
        _childClientId = $"bench-ingest-{_run}";
        var sized = FleetSynthesizer.Resize(baseRegistry, options.Bins);
        string[] phases = ["a", "b", "c", "d", "k"];
        var slices = phases.ToDictionary(p => p, p => Slice(sized, Prefix(p)), StringComparer.Ordinal);
        var full = new FleetRegistry(sized.District, sized.City, sized.TimeZone, sized.Bounds, sized.Communities, sized.Facilities,
            [.. phases.SelectMany(p => slices[p].Bins)], sized.Vehicles);
        _fullDecoder = new DeviceMessageDecoder(full, decoderSettings);
        _tempDir = Path.Combine(Path.GetTempPath(), $"telemetry-bench-{_run}");
        Directory.CreateDirectory(_tempDir);
        var registryPath = Path.Combine(_tempDir, "registry.json");
        await File.WriteAllTextAsync(registryPath, FleetRegistryLoader.Serialize(full), ct);

        await _store.InitializeAsync(ct);
        var now = TimeProvider.System.GetUtcNow(); // the bench runs on real time: the broker and store see it
        // Old enough that a long run's messages are all distinct in time, young enough that Ingestion:MaxAge accepts them.
        var simStart = now - TimeSpan.FromTicks(Math.Min(TimeSpan.FromDays(6).Ticks, (long)(decoderSettings.MaxAge.Ticks * 0.8)));
        _countFrom = simStart - TimeSpan.FromMinutes(1);
        _pool = new MessagePool(slices["c"], options.Seed, simStart, now - TimeSpan.FromMinutes(1), decoderSettings);

        var compartments = sized.Bins.Average(b => b.Compartments.Count);
        Console.WriteLine(Invariant($"bench ingest: run {_run}; broker {_broker}; store {_store.Name}; {options.Bins:N0} bins ({compartments:0.0} compartments each) per phase; publisher {options.Connections} connection(s); budget {s} s{(options.Backlog > 0 ? $" + backlog of {options.Backlog:N0}" : "")}"));
        var initial = Math.Max(options.Backlog, 300_000);
        _status = () => Invariant($"generating messages: {_pool.Count:N0}");
        var generation = Stopwatch.StartNew();
        await Task.Run(() => _pool.EnsureCount(initial), ct);
        Console.WriteLine(Invariant($"generated {_pool.Count:N0} messages ({(double)_pool.CumulativeReadings(_pool.Count) / _pool.Count:0.00} readings each on average; simulated {simStart:yyyy-MM-dd HH:mm}Z onwards) in {generation.Elapsed.TotalSeconds:0.0} s"));
        _result["readingsPerMessage"] = Math.Round((double)_pool.CumulativeReadings(_pool.Count) / _pool.Count, 2);

        await using var publisher = new BenchPublisher(_broker, _ingestion.Username, _ingestion.Password, $"bench-pub-{_run}", options.Connections, options.Window);
        await publisher.ConnectAsync(ct);

        // A: the bare subscriber.
        var bare = await BareSubscriberPhaseAsync(publisher, budgetA, ct);
        // B: the bare store.
        var bareStore = await BareStorePhaseAsync(budgetB, ct);
        var limit = 1 / ((1 / bare) + (1 / bareStore));
        _result["limitPerSec"] = Math.Round(limit, 1);
        Console.WriteLine(Invariant($"limit = 1/(1/{bare:N0} + 1/{bareStore:N0}) = {limit:N0} messages/s"));

        // C: the full pipeline, in a child ingestion process.
        var childArgs = configurationTokens.Concat([
            $"--{BenchSettings.FleetRegistryKey}={registryPath}",
            $"--Mqtt:ClientId={_childClientId}",
            $"--Mqtt:SharedGroup=bench{_run}",
            "--Logging:LogLevel:Telemetry.Ingestion.Mqtt.MqttIngestionSource=Information",
        ]).ToArray();
        var pipeline = new Totals();
        _child = IngestionChild.Start(childArgs, Console.WriteLine);
        await _child.WaitSubscribedAsync(TimeSpan.FromSeconds(90), ct);
        Console.WriteLine($"ingestion process {_child.Pid} subscribed (client id {_childClientId})");
        var rate = await PipelinePhaseAsync(publisher, (int)Math.Clamp(limit * budgetC.TotalSeconds, 1_000, 50_000_000), pipeline, ct);
        _result["ratePerSec"] = Math.Round(rate, 1);
        _result["ratio"] = Math.Round(rate / limit, 3);

        // D: latency, paced at half the limit.
        await PacedPhaseAsync(publisher, limit / 2, budgetD, pipeline, ct);
        await _child.StopAsync();
        var pipelinePeak = _child.PeakRssKb / 1024.0;
        await _child.DisposeAsync();
        _child = null;
        _result["pipelinePeakRssMb"] = Math.Round(pipelinePeak, 1);
        _result["peakRssMb"] = Math.Round(pipelinePeak, 1);
        Console.WriteLine(Invariant($"ingestion process stopped; its peak resident memory (VmHWM) was {pipelinePeak:N1} MB"));

        // K: the backlog.
        if (options.Backlog > 0)
        {
            await BacklogPhaseAsync(publisher, childArgs, pipeline, ct);
        }

        _result["published"] = pipeline.Published;
        _result["stored"] = pipeline.Published - pipeline.Lost;
        _result["lost"] = pipeline.Lost;
        _result["deadLetters"] = pipeline.DeadLetters;
        Summary(limit);
    }

    private async Task<double> BareSubscriberPhaseAsync(BenchPublisher publisher, TimeSpan budget, CancellationToken ct)
    {
        var prefix = Prefix("a");
        await using var subscriber = new BareSubscriber(_broker, _ingestion.Username, _ingestion.Password, $"bench-bare-{_run}",
            $"$share/bench{_run}bare/bins/#", $"bins/{prefix}", _ingestion.ReceiveMaximum);
        await subscriber.StartAsync(ct);
        var outcome = new PublishOutcome(_pool.Count);
        var started = Stopwatch.GetTimestamp();
        _status = () => Invariant($"A bare subscriber: published {outcome.AckedCount:N0}, received {subscriber.Count:N0} ({Rate(subscriber.Count, started):N0}/s)");
        await publisher.PublishAllAsync(outcome, _pool, prefix, () => Stopwatch.GetElapsedTime(started) > budget, ct);
        await WaitForAsync(() => subscriber.Count, outcome.AckedCount, TimeSpan.FromSeconds(15), ct);
        var seconds = Stopwatch.GetElapsedTime(outcome.FirstSent, subscriber.LastReceived).TotalSeconds;
        var rate = subscriber.Count / seconds;
        Console.WriteLine(Invariant($"A bare subscriber: {subscriber.Count:N0} of {outcome.AckedCount:N0} published messages received and acknowledged in {seconds:0.00} s: {rate:N0} messages/s"));
        if (outcome.FailedCount > 0)
        {
            Console.WriteLine(Invariant($"  {outcome.FailedCount:N0} publish(es) failed: {outcome.FirstError}"));
        }
        if (subscriber.Count < outcome.AckedCount)
        {
            throw new InvalidOperationException(Invariant($"the bare subscriber received {subscriber.Count:N0} of {outcome.AckedCount:N0} acknowledged messages (does the broker drop QoS 1 messages? check max_queued_messages)"));
        }
        _result["bareRatePerSec"] = Math.Round(rate, 1);
        return rate;
    }

    private async Task<double> BareStorePhaseAsync(TimeSpan budget, CancellationToken ct)
    {
        var prefix = Prefix("b");
        // Decoded before the clock starts: this stage is the store alone. Batches of whole messages, closed at
        // the pipeline's batch size (5,000 readings by default), as the pipeline closes them.
        var batches = new List<(List<Reading> Readings, int Messages)>();
        var current = new List<Reading>();
        var messagesInCurrent = 0;
        var receivedAt = TimeProvider.System.GetUtcNow();
        for (var i = 0; i < _pool.Count; i++)
        {
            var m = _pool.Messages[i];
            var decoded = _fullDecoder.Decode(MessagePool.Topic(prefix, m), m.Payload, receivedAt);
            if (!decoded.IsAccepted)
            {
                throw new InvalidOperationException($"message {i} is rejected: {decoded}");
            }
            current.AddRange(decoded.Readings);
            messagesInCurrent++;
            if (current.Count >= _ingestion.BatchSize)
            {
                batches.Add((current, messagesInCurrent));
                current = [];
                messagesInCurrent = 0;
            }
        }
        if (current.Count > 0)
        {
            batches.Add((current, messagesInCurrent));
        }

        var messages = 0;
        var readings = 0L;
        var started = Stopwatch.GetTimestamp();
        _status = () => Invariant($"B bare store: {messages:N0} messages ({readings:N0} readings) written ({Rate(messages, started):N0}/s)");
        foreach (var (batch, count) in batches)
        {
            if (Stopwatch.GetElapsedTime(started) > budget)
            {
                break;
            }
            await _store.WriteAsync(batch, [], ct);
            messages += count;
            readings += batch.Count;
        }
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var rate = messages / seconds;
        batches.Clear();
        var expected = _pool.CumulativeReadings(messages);
        var counted = await CountAsync(prefix, ct);
        Console.WriteLine(Invariant($"B bare store: {messages:N0} messages ({readings:N0} readings) in batches of {_ingestion.BatchSize:N0} readings, one write in flight, in {seconds:0.00} s: {rate:N0} messages/s ({readings / seconds:N0} readings/s); store holds {counted.Readings:N0} of {expected:N0} distinct readings"));
        if (counted.Readings != expected)
        {
            throw new InvalidOperationException(Invariant($"bare store phase: the store counts {counted.Readings:N0} readings under {prefix}, {expected:N0} were written"));
        }
        _result["bareStoreRatePerSec"] = Math.Round(rate, 1);
        return rate;
    }

    private async Task<double> PipelinePhaseAsync(BenchPublisher publisher, int count, Totals totals, CancellationToken ct)
    {
        var prefix = Prefix("c");
        count = EnsurePool(count);
        var outcome = new PublishOutcome(count);
        var child = _child!;
        var target = _pool.CumulativeReadings(count);
        _status = () => Invariant($"C pipeline: published {outcome.AckedCount:N0}/{count:N0} messages; ingestion: {child.LastProgress ?? "(no progress line yet)"}");
        await publisher.PublishAllAsync(outcome, _pool, prefix, null, ct);
        var publishSeconds = Stopwatch.GetElapsedTime(outcome.FirstSent, outcome.LastAcked).TotalSeconds;
        Console.WriteLine(Invariant($"C pipeline: {outcome.AckedCount:N0} messages ({target:N0} readings) published in {publishSeconds:0.00} s ({outcome.AckedCount / publishSeconds:N0}/s); waiting until they are stored"));
        var reachedAt = await WaitAllStoredAsync(prefix, outcome, publisher.Connections, ct);
        var (complete, laterAt, counts) = await FinalCountAsync(prefix, outcome, ct);
        reachedAt = complete ? laterAt ?? reachedAt ?? Stopwatch.GetTimestamp() : null;
        var phase = await VerifyAsync("C pipeline", prefix, outcome, counts, ct);
        totals.Add(phase);
        if (reachedAt is null)
        {
            throw new InvalidOperationException(Invariant($"pipeline phase: {phase.Lost:N0} of {outcome.AckedCount:N0} messages never stored"));
        }
        var seconds = Stopwatch.GetElapsedTime(outcome.FirstSent, reachedAt.Value).TotalSeconds;
        var rate = outcome.AckedCount / seconds;
        Console.WriteLine(Invariant($"C pipeline: all {outcome.AckedCount:N0} messages stored {seconds:0.00} s after the first publish: {rate:N0} messages/s ({target / seconds:N0} readings/s)"));
        return rate;
    }

    private async Task PacedPhaseAsync(BenchPublisher publisher, double perSecond, TimeSpan budget, Totals totals, CancellationToken ct)
    {
        var prefix = Prefix("d");
        var count = EnsurePool((int)Math.Clamp(perSecond * budget.TotalSeconds, 100, 50_000_000));
        var outcome = new PublishOutcome(count);
        var child = _child!;
        var latencies = new List<double>();
        var lowerBounds = new List<double>();
        var probeTimes = new List<double>();
        _status = () => Invariant($"D paced at {perSecond:N0}/s: published {outcome.AckedCount:N0}/{count:N0}; {latencies.Count:N0} latency samples; ingestion: {child.LastProgress ?? "(no progress line yet)"}");
        var publishing = Task.Run(() => publisher.PublishPacedAsync(outcome, _pool, prefix, perSecond, ct), ct);
        // Latency probe: takes the message sent last, asks the store for exactly that message's readings (its bin at
        // its millisecond) until they are there, and records the time from its send to the answer that found it (an
        // upper bound; the start of the last query that did not find it is a lower bound). Then the next message.
        // Small queries, one at a time, so the measurement does not load the store much.
        var lastProbed = -1;
        while (!publishing.IsCompleted)
        {
            var k = outcome.LastSentIndex;
            if (k <= lastProbed || k < 0)
            {
                await Task.Delay(1, ct);
                continue;
            }
            lastProbed = k;
            var sent = outcome.SentAt[k];
            var notYet = sent;
            var deadline = Stopwatch.GetTimestamp() + (10 * Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < deadline)
            {
                var q = Stopwatch.GetTimestamp();
                var stored = await IsStoredAsync(prefix, k, ct);
                var at = Stopwatch.GetTimestamp();
                probeTimes.Add(Stopwatch.GetElapsedTime(q, at).TotalMilliseconds);
                if (stored)
                {
                    latencies.Add(Stopwatch.GetElapsedTime(sent, at).TotalMilliseconds);
                    lowerBounds.Add(Stopwatch.GetElapsedTime(sent, notYet).TotalMilliseconds);
                    break;
                }
                notYet = q;
                await Task.Delay(2, ct);
            }
        }
        await publishing;
        var achieved = count / Stopwatch.GetElapsedTime(outcome.FirstSent, outcome.LastAcked).TotalSeconds;
        var reachedAt = await WaitAllStoredAsync(prefix, outcome, 1, ct);
        var (_, _, counts) = await FinalCountAsync(prefix, outcome, ct);
        var phase = await VerifyAsync("D paced", prefix, outcome, counts, ct);
        totals.Add(phase);
        _ = reachedAt;

        latencies.Sort();
        lowerBounds.Sort();
        var resolution = probeTimes.Count > 0 ? probeTimes.Average() : double.NaN;
        var p50 = Percentile(latencies, 0.50);
        var p99 = Percentile(latencies, 0.99);
        _result["pacedPerSec"] = Math.Round(achieved, 1);
        _result["p50Ms"] = Math.Round(p50, 1);
        _result["p99Ms"] = Math.Round(p99, 1);
        _result["latencySamples"] = latencies.Count;
        _result["p50LowerMs"] = Math.Round(Percentile(lowerBounds, 0.50), 1);
        _result["p99LowerMs"] = Math.Round(Percentile(lowerBounds, 0.99), 1);
        _result["latencyResolutionMs"] = Math.Round(resolution, 1);
        Console.WriteLine(Invariant($"D paced: {count:N0} messages at {achieved:N0}/s (target {perSecond:N0}/s); publish→stored p50 {p50:N1} ms, p99 {p99:N1} ms, max {(latencies.Count > 0 ? latencies[^1] : double.NaN):N1} ms over {latencies.Count:N0} sampled messages (upper bounds; lower bounds p50 {Percentile(lowerBounds, 0.50):N1} ms, p99 {Percentile(lowerBounds, 0.99):N1} ms); a probe query takes {resolution:N1} ms on average"));
    }

    private async Task BacklogPhaseAsync(BenchPublisher publisher, string[] childArgs, Totals totals, CancellationToken ct)
    {
        var prefix = Prefix("k");
        var count = EnsurePool(options.Backlog);
        var outcome = new PublishOutcome(count);
        var queueStart = Stopwatch.GetTimestamp();
        _status = () => Invariant($"K queueing the backlog (ingestion stopped): published {outcome.AckedCount:N0}/{count:N0} ({Rate(outcome.AckedCount, queueStart):N0}/s)");
        await publisher.PublishAllAsync(outcome, _pool, prefix, null, ct);
        Console.WriteLine(Invariant($"K backlog: {outcome.AckedCount:N0} messages queued on the broker for {_childClientId} in {Stopwatch.GetElapsedTime(queueStart).TotalSeconds:0.0} s while ingestion was stopped"));

        var target = _pool.CumulativeReadings(count);
        _child = IngestionChild.Start(childArgs, Console.WriteLine);
        var child = _child;
        await child.WaitSubscribedAsync(TimeSpan.FromSeconds(90), ct);
        var drainStart = child.SubscribedAt;
        _status = () => Invariant($"K draining {target:N0} readings: ingestion: {child.LastProgress ?? "(no progress line yet)"}; its resident peak so far {child.PeakRssKb / 1024.0:N0} MB");
        var reachedAt = await WaitAllStoredAsync(prefix, outcome, publisher.Connections, ct);
        var peak = child.PeakRssKb / 1024.0;
        var (complete, laterAt, counts) = await FinalCountAsync(prefix, outcome, ct);
        reachedAt = complete ? laterAt ?? reachedAt ?? Stopwatch.GetTimestamp() : null;
        var phase = await VerifyAsync("K backlog", prefix, outcome, counts, ct);
        totals.Add(phase);
        await child.StopAsync();
        peak = Math.Max(peak, child.PeakRssKb / 1024.0);
        await child.DisposeAsync();
        _child = null;
        if (reachedAt is null)
        {
            throw new InvalidOperationException(Invariant($"backlog: {phase.Lost:N0} of {outcome.AckedCount:N0} messages never stored"));
        }
        var seconds = Stopwatch.GetElapsedTime(drainStart, reachedAt.Value).TotalSeconds;
        var drain = outcome.AckedCount / seconds;
        _result["backlog"] = outcome.AckedCount;
        _result["drainPerSec"] = Math.Round(drain, 1);
        _result["peakRssMb"] = Math.Round(peak, 1);
        Console.WriteLine(Invariant($"K backlog: {outcome.AckedCount:N0} messages drained in {seconds:0.0} s after the ingestion subscribed: {drain:N0} messages/s; its peak resident memory (VmHWM) {peak:N1} MB"));
    }

    /// <summary>
    /// Waits until the last acknowledged message of each publisher connection is stored: the broker delivers each
    /// connection's messages in order and the pipeline stores in the order received, so then all are (the full count
    /// afterwards checks it). Returns when, or null if the ingestion stopped making progress for 35 s.
    /// </summary>
    private async Task<long?> WaitAllStoredAsync(string prefix, PublishOutcome outcome, int connections, CancellationToken ct)
    {
        var lasts = Enumerable.Range(0, connections).Select(c => outcome.LastAckedIndex(i => _pool.Messages[i].Bin % connections == c)).Where(i => i >= 0).ToList();
        foreach (var k in lasts)
        {
            while (!await IsStoredAsync(prefix, k, ct))
            {
                if (_child is { HasExited: true })
                {
                    throw new InvalidOperationException($"the ingestion process exited; its last output:{Environment.NewLine}{_child.LastLines()}");
                }
                if (_child is { StoredUnchangedFor.TotalSeconds: > 35 })
                {
                    return null;
                }
                await Task.Delay(50, ct);
            }
        }
        return Stopwatch.GetTimestamp();
    }

    /// <summary>Counts the phase's readings; if some are missing, counts again every 2 s until complete or 30 s without growth.</summary>
    private async Task<(bool Complete, long? LaterAt, StoredCounts Counts)> FinalCountAsync(string prefix, PublishOutcome outcome, CancellationToken ct)
    {
        var expected = outcome.AllAcked(outcome.Acked.Length) ? _pool.CumulativeReadings(outcome.Acked.Length) : _pool.DistinctReadings(outcome.AckedIndices());
        var lastGrowth = Stopwatch.GetTimestamp();
        var counts = await CountAsync(prefix, ct);
        var first = true;
        while (counts.Readings < expected && Stopwatch.GetElapsedTime(lastGrowth) < TimeSpan.FromSeconds(30))
        {
            first = false;
            await Task.Delay(2000, ct);
            var next = await CountAsync(prefix, ct);
            if (next.Readings > counts.Readings)
            {
                lastGrowth = Stopwatch.GetTimestamp();
            }
            counts = next;
        }
        // Complete at the first count: the caller's own time (when the last messages were seen stored) stands.
        return (counts.Readings >= expected, first ? null : Stopwatch.GetTimestamp(), counts);
    }

    /// <summary>Whether message <paramref name="k"/> of the phase is stored: its bin's readings at its millisecond (<see cref="ITelemetryStore.CountReadingsAsync"/>), counting messages up to k.</summary>
    private async Task<bool> IsStoredAsync(string prefix, int k, CancellationToken ct)
    {
        var m = _pool.Messages[k];
        var keys = new HashSet<(long, long)>();
        for (var i = k; i >= 0 && _pool.Messages[i].TimeMs == m.TimeMs; i--)
        {
            if (_pool.Messages[i].Bin == m.Bin)
            {
                keys.UnionWith(_pool.Keys(i));
            }
        }
        // An exact lookup (this bin, this millisecond), cheap enough to resolve latencies of a few ms.
        var stored = await _store.CountReadingsAsync(prefix + MessagePool.BinSuffix(m.Bin), DateTimeOffset.FromUnixTimeMilliseconds(m.TimeMs), ct);
        return stored >= keys.Count;
    }

    private sealed record PhaseCounts(long Published, long Lost, long DeadLetters);

    private sealed class Totals
    {
        public long Published { get; private set; }
        public long Lost { get; private set; }
        public long DeadLetters { get; private set; }

        public void Add(PhaseCounts p)
        {
            Published += p.Published;
            Lost += p.Lost;
            DeadLetters += p.DeadLetters;
        }
    }

    /// <summary>Counts the phase's data in the store: readings expected from the acknowledged messages against those stored; finds lost messages if any are missing.</summary>
    private async Task<PhaseCounts> VerifyAsync(string phase, string prefix, PublishOutcome outcome, StoredCounts counts, CancellationToken ct)
    {
        var expected = outcome.AllAcked(outcome.Acked.Length) ? _pool.CumulativeReadings(outcome.Acked.Length) : _pool.DistinctReadings(outcome.AckedIndices());
        if (outcome.FailedCount > 0)
        {
            Console.WriteLine(Invariant($"  {phase}: {outcome.FailedCount:N0} publish(es) not acknowledged (not counted as published): {outcome.FirstError}"));
        }
        long lost = 0;
        if (counts.Readings < expected)
        {
            lost = await LostMessagesAsync(prefix, outcome, expected - counts.Readings, ct);
        }
        Console.WriteLine(Invariant($"  {phase}: store holds {counts.Readings:N0} of {expected:N0} readings (fill {counts.Fill:N0}, weight {counts.Weight:N0}, status {counts.Status:N0}), dead letters {counts.DeadLetters:N0}; lost messages {lost:N0}"));
        return new PhaseCounts(outcome.AckedCount, lost, counts.DeadLetters);
    }

    /// <summary>
    /// Which acknowledged messages have readings missing: bins short of readings first (one count per bin),
    /// then, within those, each message's millisecond. Capped at 20,000 queries; past that, a lower bound.
    /// </summary>
    private async Task<long> LostMessagesAsync(string prefix, PublishOutcome outcome, long missing, CancellationToken ct)
    {
        Console.WriteLine(Invariant($"  {missing:N0} readings missing; finding the messages they belong to…"));
        var byBin = outcome.AckedIndices().GroupBy(i => _pool.Messages[i].Bin);
        var lost = 0L;
        var queries = 0;
        var maxReadings = _pool.Messages.Take(outcome.Acked.Length).Max(m => m.Readings);
        var lowerBound = (missing + maxReadings - 1) / maxReadings;
        foreach (var bin in byBin)
        {
            var binId = prefix + MessagePool.BinSuffix(bin.Key);
            var keys = bin.SelectMany(_pool.Keys).ToHashSet();
            var got = (await CountAsync(binId, ct)).Readings;
            if (++queries > 20_000)
            {
                return Math.Max(lost, lowerBound);
            }
            if (got >= keys.Count)
            {
                continue;
            }
            foreach (var atMs in bin.GroupBy(i => _pool.Messages[i].TimeMs))
            {
                var at = DateTimeOffset.FromUnixTimeMilliseconds(atMs.Key);
                var expectedAt = atMs.SelectMany(_pool.Keys).Distinct().Count();
                var gotAt = await _store.CountReadingsAsync(binId, at, ct);
                if (gotAt < expectedAt)
                {
                    lost += atMs.Count();
                }
                if (++queries > 20_000)
                {
                    return Math.Max(lost, lowerBound);
                }
            }
        }
        return Math.Max(lost, lowerBound);
    }

    private Task<StoredCounts> CountAsync(string prefix, CancellationToken ct) =>
        _store.CountAsync(_countFrom, TimeProvider.System.GetUtcNow() + TimeSpan.FromHours(1), prefix, ct);

    private int EnsurePool(int count)
    {
        if (!_pool.EnsureCount(count))
        {
            Console.WriteLine(Invariant($"  (the simulated week holds {_pool.Count:N0} messages; using them all instead of {count:N0})"));
        }
        return Math.Min(count, _pool.Count);
    }

    private async Task CleanupAsync()
    {
        if (_child is not null)
        {
            await _child.DisposeAsync();
            _child = null;
        }
        if (_childClientId.Length > 0)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await IngestionChild.RemoveSessionAsync(_broker, _ingestion.Username, _ingestion.Password, _childClientId, timeout.Token);
            }
#pragma warning disable CA1031 // Best effort: the session expires on its own (Ingestion:SessionExpiry).
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Console.WriteLine($"  could not remove the benchmark's ingestion session {_childClientId} from the broker: {ex.Message}");
            }
        }
        if (_tempDir.Length > 0 && Directory.Exists(_tempDir))
        {
            Directory.Delete(_tempDir, recursive: true);
        }
    }

    private async Task ProgressAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(ProgressEvery);
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                Console.WriteLine(Invariant($"[{_clock.Elapsed.TotalSeconds,5:0}s] {_status()}"));
            }
        }
        catch (OperationCanceledException)
        {
            // Done.
        }
    }

    private static async Task WaitForAsync(Func<long> value, long target, TimeSpan stall, CancellationToken ct)
    {
        var last = value();
        var since = Stopwatch.GetTimestamp();
        while (value() < target)
        {
            await Task.Delay(20, ct);
            var now = value();
            if (now != last)
            {
                last = now;
                since = Stopwatch.GetTimestamp();
            }
            else if (Stopwatch.GetElapsedTime(since) > stall)
            {
                return;
            }
        }
    }

    private void Summary(double limit)
    {
        var ratio = (double)_result["ratio"];
        var p99 = (double)_result["p99Ms"];
        var lost = (long)_result["lost"];
        Console.WriteLine();
        Console.WriteLine(Invariant($"Summary ({_store.Name}): pipeline {(double)_result["ratePerSec"]:N0} messages/s of a {limit:N0}/s limit: ratio {ratio:0.000} (goal ≥ 0.9 into influxd: {(ratio >= 0.9 ? "met" : "NOT met")})"));
        Console.WriteLine(Invariant($"  lost {lost:N0} (goal 0: {(lost == 0 ? "met" : "NOT met")}); p99 publish→stored {p99:N1} ms (goal < 250 ms: {(p99 < 250 ? "met" : "NOT met")}); ingestion peak resident memory {(double)_result["peakRssMb"]:N1} MB"));
        if (_result.TryGetValue("drainPerSec", out var d))
        {
            Console.WriteLine(Invariant($"  backlog of {(long)_result["backlog"]:N0} drained at {(double)d:N0} messages/s"));
        }
    }

    private string Json()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("bench", "ingest");
            string[] order = ["published", "stored", "lost", "ratePerSec", "bareRatePerSec", "bareStoreRatePerSec", "limitPerSec", "ratio", "p50Ms", "p99Ms", "peakRssMb"];
            foreach (var key in order)
            {
                if (_result.TryGetValue(key, out var v))
                {
                    Write(w, key, v);
                }
                else
                {
                    w.WriteNull(key);
                }
            }
            if (_store is not null)
            {
                w.WriteString("backend", _store.Name);
            }
            w.WriteNumber("bins", options.Bins);
            w.WriteNumber("connections", options.Connections);
            w.WriteNumber("seconds", options.Seconds);
            foreach (var (key, v) in _result.Where(kv => !order.Contains(kv.Key)).OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                Write(w, key, v);
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void Write(Utf8JsonWriter w, string key, object v)
    {
        switch (v)
        {
            case long l: w.WriteNumber(key, l); break;
            case int i: w.WriteNumber(key, i); break;
            case double d when double.IsFinite(d): w.WriteNumber(key, d); break;
            case double: w.WriteNull(key); break;
            default: w.WriteString(key, Convert.ToString(v, CultureInfo.InvariantCulture)); break;
        }
    }

    private string Prefix(string phase) => $"{_run}{phase}-";

    private static FleetRegistry Slice(FleetRegistry registry, string prefix) =>
        new(registry.District, registry.City, registry.TimeZone, registry.Bounds, registry.Communities, registry.Facilities,
            [.. registry.Bins.Select((b, i) => b with { Id = prefix + MessagePool.BinSuffix(i) })], registry.Vehicles);

    private static double Rate(long count, long since)
    {
        var s = Stopwatch.GetElapsedTime(since).TotalSeconds;
        return s > 0 ? count / s : 0;
    }

    private static double Percentile(List<double> sorted, double q) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
