using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Telemetry.Contracts.Readings;
using Telemetry.Storage;

namespace Telemetry.Ingestion.Pipeline;

/// <summary>
/// Writes batches to the store and does not give up: transient failures (store down, overloaded,
/// unreachable) are retried with exponential backoff and jitter, honouring Retry-After, behind a
/// circuit breaker; a batch the store refuses (HTTP 400) is split until the refused message is
/// isolated, which then becomes a <c>store-rejected</c> dead letter while the rest is stored. A refusal
/// that comes from the store's state (<see cref="StoreRejectedException.IsStoreWide"/>: a field type
/// conflict, a series limit) is waited for like an outage: valid messages never become dead letters
/// because the store is misconfigured. Any other exception (<see cref="StoreFailedException"/>, a bug)
/// propagates: the batch is not acknowledged and the role stops with the store's message.
/// </summary>
/// <remarks>
/// While the store does not take writes, a warning (an error when the store refuses) says at least once a
/// minute for how long and how many messages are held; <see cref="UnavailableSince"/> and
/// <see cref="LastError"/> show the outage to health checks.
/// </remarks>
public sealed class ResilientStoreWriter
{
    public const string StoreRejectedReason = "store-rejected";

    /// <summary>How often an ongoing outage is logged.</summary>
    public static readonly TimeSpan OutageLogInterval = TimeSpan.FromMinutes(1);

    private readonly ITelemetryStore _store;
    private readonly ILogger _logger;
    private readonly IngestionMetrics _metrics;
    private readonly string _ingester;
    private readonly TimeProvider _time;
    private readonly Func<int>? _held;
    private readonly ResiliencePipeline _pipeline;
    private readonly Lock _outageLock = new();
    private DateTimeOffset? _unavailableSince;
    private string? _lastError;
    private bool _refusing;
    private long _failedAttempts;
    private ITimer? _outageTimer;
    private int _writing;

    /// <param name="store">Where readings and dead letters go.</param>
    /// <param name="ingester">This replica's client id (the dead letters' <c>ingester</c> tag).</param>
    /// <param name="metrics">Counters; its <see cref="IngestionMetrics.BufferDepth"/> gives the held count when <paramref name="heldCount"/> is not given.</param>
    /// <param name="logger">Outages and refusals.</param>
    /// <param name="time">Real time (backoff, outage durations); a fake one in tests.</param>
    /// <param name="maxDelay">The longest backoff between retries (15 s).</param>
    /// <param name="heldCount">Messages received and not yet acknowledged, for the outage log.</param>
    public ResilientStoreWriter(ITelemetryStore store, string ingester, IngestionMetrics metrics, ILogger logger, TimeProvider? time = null,
        TimeSpan? maxDelay = null, Func<int>? heldCount = null)
    {
        _store = store;
        _ingester = ingester;
        _metrics = metrics;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _held = heldCount;
        var transient = new PredicateBuilder().Handle<StoreUnavailableException>().Handle<BrokenCircuitException>();
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = transient,
                MaxRetryAttempts = int.MaxValue, // nothing acknowledged may be lost: wait for the store as long as it takes
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(200),
                MaxDelay = maxDelay ?? TimeSpan.FromSeconds(15),
                DelayGenerator = args => ValueTask.FromResult(
                    args.Outcome.Exception is StoreUnavailableException { RetryAfter: { } after } ? after
                    : args.Outcome.Exception is BrokenCircuitException { RetryAfter: { } open } ? open
                    : (TimeSpan?)null),
                OnRetry = args =>
                {
                    _metrics.WriteRetried();
                    // An open breaker says nothing about the store: keep the store's own last error.
                    Failed(args.Outcome.Exception is StoreUnavailableException unavailable ? unavailable.Message : null, refusing: false);
                    return ValueTask.CompletedTask;
                },
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<StoreUnavailableException>(),
                FailureRatio = 0.5,
                MinimumThroughput = 4,
                SamplingDuration = TimeSpan.FromSeconds(10),
                BreakDuration = TimeSpan.FromSeconds(3),
            })
            .Build();
    }

    /// <summary>Since when (real time) the store has not taken a write; null while it does.</summary>
    public DateTimeOffset? UnavailableSince
    {
        get
        {
            lock (_outageLock)
            {
                return _unavailableSince;
            }
        }
    }

    /// <summary>The store's last error while it does not take writes; null while it does.</summary>
    public string? LastError
    {
        get
        {
            lock (_outageLock)
            {
                return _lastError;
            }
        }
    }

    /// <summary>Stores every message of the batch (readings or dead letters); returns when all are durable.</summary>
    internal async Task WriteAsync(IReadOnlyList<PendingMessage> batch, CancellationToken ct)
    {
        Interlocked.Increment(ref _writing);
        try
        {
            await WriteBatchAsync(batch, ct);
        }
        finally
        {
            // Nothing is retried any more (stopping, or a failure that stops the role): no outage to report.
            if (Interlocked.Decrement(ref _writing) == 0)
            {
                StopOutageLog();
            }
        }
    }

    private async Task WriteBatchAsync(IReadOnlyList<PendingMessage> batch, CancellationToken ct)
    {
        if (batch.Count == 0)
        {
            return;
        }
        var readings = batch.SelectMany(m => m.Readings).ToList();
        var deadLetters = batch.Where(m => m.DeadLetter is not null).Select(m => m.DeadLetter!).ToList();
        try
        {
            await ExecuteAsync(readings, deadLetters, ct);
        }
        catch (StoreRejectedException ex)
        {
            if (batch.Count > 1)
            {
                // Bisect: the refused message ends up alone, the rest is stored.
                var half = batch.Count / 2;
                await WriteBatchAsync([.. batch.Take(half)], ct);
                await WriteBatchAsync([.. batch.Skip(half)], ct);
                return;
            }
            if (ex.IsStoreWide)
            {
                await WaitForStoreAsync(batch[0], ex, ct);
                return;
            }
            await WriteRefusedAsync(batch[0], ex, ct);
        }
    }

    /// <summary>One write through the resilience pipeline: returns when it is durable, throws what is not transient.</summary>
    private async Task ExecuteAsync(IReadOnlyList<Reading> readings, IReadOnlyList<DeadLetter> deadLetters, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        await _pipeline.ExecuteAsync(async token => await _store.WriteAsync(readings, deadLetters, token), ct);
        _metrics.Stored(readings.Count, deadLetters.Select(d => d.Reason), Stopwatch.GetElapsedTime(started));
        Recovered();
    }

    private const string RefusedPayload = "(payload refused by the store)";

    /// <summary>
    /// One message the store refused. If the store takes its dead letter, the message was the problem.
    /// If it refuses even that, the store refuses everything: then ingestion waits and retries rather
    /// than acknowledge what was never stored, and the broker holds the rest meanwhile.
    /// </summary>
    private async Task WriteRefusedAsync(PendingMessage message, StoreRejectedException ex, CancellationToken ct)
    {
        DeadLetter letter;
        if (message.DeadLetter is { } existing)
        {
            // The dead letter itself was refused: keep its facts, drop the content the store cannot hold.
            letter = existing with { Payload = RefusedPayload, Topic = SafeAscii(existing.Topic), Error = SafeAscii($"{existing.Error}; store: {ex.Message}") };
        }
        else
        {
            _logger.LogWarning("Store {Store} refused the message on {Topic}; it becomes a dead letter: {Error}", _store.Name, message.Message.Topic, ex.Message);
            letter = DeadLetters.Create(message.Message.ReceivedAt, StoreRejectedReason, message.Readings.Count > 0 ? message.Readings[0].BinId : null,
                _ingester, message.Message.Topic, message.Message.Payload.Span, ex.Message);
        }
        var refused = await TryWriteAsync([], [letter], ct);
        if (refused is null)
        {
            return;
        }
        if (refused.IsStoreWide)
        {
            // The store's state refuses even the dead letter: wait with the message as it was.
            await WaitForStoreAsync(message, refused, ct);
            return;
        }

        var delay = TimeSpan.FromSeconds(1);
        var error = ex.Message;
        Failed(error, refusing: true);
        _logger.LogError("Store {Store} refuses every write, even a dead letter for {Topic} ({Error}); ingestion waits and retries, and acknowledges nothing meanwhile",
            _store.Name, message.Message.Topic, error);
        while (true)
        {
            _metrics.WriteRetried();
            await Task.Delay(delay, _time, ct);
            delay = NextDelay(delay);
            // The message as it was first, then its dead letter: whichever the store takes now.
            var original = await TryWriteAsync(message.Readings, message.DeadLetter is null ? [] : [message.DeadLetter], ct);
            if (original is null || await TryWriteAsync([], [letter], ct) is null)
            {
                return;
            }
            Failed(original.Message, refusing: true);
        }
    }

    /// <summary>
    /// A message refused because of the store's state (a field type conflict, a series limit): it is not the
    /// message's fault, so it never becomes a dead letter. Retried as it is until the store takes it; nothing
    /// is acknowledged meanwhile and the broker holds the rest. A refusal that turns out to be the message's
    /// own (the store was changed) makes it a dead letter after all.
    /// </summary>
    private async Task WaitForStoreAsync(PendingMessage message, StoreRejectedException ex, CancellationToken ct)
    {
        Failed(ex.Message, refusing: true);
        _logger.LogError("Store {Store} refuses valid data because of its own state ({Error}); {Topic} and everything after it wait until the store is fixed, " +
            "nothing becomes a dead letter and nothing is acknowledged meanwhile", _store.Name, ex.Message, message.Message.Topic);
        var delay = TimeSpan.FromSeconds(1);
        while (true)
        {
            _metrics.WriteRetried();
            await Task.Delay(delay, _time, ct);
            delay = NextDelay(delay);
            var refused = await TryWriteAsync(message.Readings, message.DeadLetter is null ? [] : [message.DeadLetter], ct);
            if (refused is null)
            {
                return;
            }
            if (!refused.IsStoreWide)
            {
                await WriteRefusedAsync(message, refused, ct);
                return;
            }
            Failed(refused.Message, refusing: true);
        }
    }

    private static TimeSpan NextDelay(TimeSpan delay) => TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));

    /// <summary>One write through the resilience pipeline; the refusal if the store refused it, else null.</summary>
    private async Task<StoreRejectedException?> TryWriteAsync(IReadOnlyList<Reading> readings, IReadOnlyList<DeadLetter> deadLetters, CancellationToken ct)
    {
        try
        {
            await ExecuteAsync(readings, deadLetters, ct);
            return null;
        }
        catch (StoreRejectedException refused)
        {
            return refused;
        }
    }

    // ---------------------------------------------------------------- outage reporting

    /// <summary>A write failed (or was refused by the store's state): start or continue the outage.</summary>
    private void Failed(string? error, bool refusing)
    {
        bool first;
        lock (_outageLock)
        {
            _failedAttempts++;
            _lastError = error ?? _lastError;
            _refusing = refusing;
            first = _unavailableSince is null;
            if (first)
            {
                _unavailableSince = _time.GetUtcNow();
            }
            _outageTimer ??= _time.CreateTimer(_ => LogOutage(), null, OutageLogInterval, OutageLogInterval);
        }
        if (first && !refusing)
        {
            _logger.LogWarning("Store {Store} unavailable ({Held} messages held); retrying until it takes the writes: {Error}", _store.Name, Held(), error);
        }
    }

    /// <summary>A write succeeded: the outage, if any, is over.</summary>
    private void Recovered()
    {
        DateTimeOffset? since;
        lock (_outageLock)
        {
            since = _unavailableSince;
            _unavailableSince = null;
            _lastError = null;
            _refusing = false;
            _failedAttempts = 0;
            _outageTimer?.Dispose();
            _outageTimer = null;
        }
        if (since is { } s)
        {
            _logger.LogInformation("Store {Store} takes writes again after {Duration}", _store.Name, Duration(_time.GetUtcNow() - s));
        }
    }

    private void StopOutageLog()
    {
        lock (_outageLock)
        {
            _outageTimer?.Dispose();
            _outageTimer = null;
        }
    }

    private void LogOutage()
    {
        DateTimeOffset since;
        string? error;
        bool refusing;
        long attempts;
        lock (_outageLock)
        {
            if (_unavailableSince is not { } s)
            {
                return;
            }
            (since, error, refusing, attempts) = (s, _lastError, _refusing, _failedAttempts);
        }
        var duration = Duration(_time.GetUtcNow() - since);
        if (refusing)
        {
            _logger.LogError("Store {Store} has refused the writes for {Duration} ({Held} messages held, {Attempts} attempts); fix the store: {Error}",
                _store.Name, duration, Held(), attempts, error);
        }
        else
        {
            _logger.LogWarning("Store {Store} unavailable for {Duration} ({Held} messages held, {Attempts} attempts); still retrying: {Error}",
                _store.Name, duration, Held(), attempts, error);
        }
    }

    private int Held() => _held?.Invoke() ?? _metrics.BufferDepth?.Invoke() ?? 0;

    /// <summary>"1h 02m 03s", "2m 00s", "45s".</summary>
    internal static string Duration(TimeSpan t)
    {
        var total = (long)Math.Max(0, t.TotalSeconds);
        var (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
        return h > 0 ? FormattableString.Invariant($"{h}h {m:00}m {s:00}s") : m > 0 ? FormattableString.Invariant($"{m}m {s:00}s") : FormattableString.Invariant($"{s}s");
    }

    private static string SafeAscii(string s) => new([.. s.Where(c => c is >= ' ' and <= '~')]);
}
