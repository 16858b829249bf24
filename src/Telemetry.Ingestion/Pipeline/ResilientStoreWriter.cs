using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Telemetry.Storage;

namespace Telemetry.Ingestion.Pipeline;

/// <summary>
/// Writes batches to the store and does not give up: transient failures (store down, overloaded,
/// unreachable) are retried with exponential backoff and jitter, honouring Retry-After, behind a
/// circuit breaker; a batch the store refuses (HTTP 400) is split until the refused message is
/// isolated, which then becomes a <c>store-rejected</c> dead letter while the rest is stored.
/// </summary>
public sealed class ResilientStoreWriter
{
    public const string StoreRejectedReason = "store-rejected";

    private readonly ITelemetryStore _store;
    private readonly ILogger _logger;
    private readonly IngestionMetrics _metrics;
    private readonly string _ingester;
    private readonly ResiliencePipeline _pipeline;

    public ResilientStoreWriter(ITelemetryStore store, string ingester, IngestionMetrics metrics, ILogger logger, TimeProvider? time = null,
        TimeSpan? maxDelay = null)
    {
        _store = store;
        _ingester = ingester;
        _metrics = metrics;
        _logger = logger;
        var transient = new PredicateBuilder().Handle<StoreUnavailableException>().Handle<BrokenCircuitException>();
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = time ?? TimeProvider.System }
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
                    if (args.AttemptNumber is 0 or 5 or 20 || args.AttemptNumber % 100 == 0)
                    {
                        _logger.LogWarning("Store {Store} unavailable (attempt {Attempt}), retrying in {Delay}: {Error}",
                            _store.Name, args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception?.Message);
                    }
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

    /// <summary>Since when the store has refused to answer (real time), or null while it takes writes.</summary>
    public DateTimeOffset? UnavailableSince { get; private set; }

    /// <summary>The store's last error while unavailable.</summary>
    public string? LastError { get; private set; }

    /// <summary>Stores every message of the batch (readings or dead letters); returns when all are durable.</summary>
    internal async Task WriteAsync(IReadOnlyList<PendingMessage> batch, CancellationToken ct)
    {
        if (batch.Count == 0)
        {
            return;
        }
        var readings = batch.SelectMany(m => m.Readings).ToList();
        var deadLetters = batch.Where(m => m.DeadLetter is not null).Select(m => m.DeadLetter!).ToList();
        var started = Stopwatch.GetTimestamp();
        try
        {
            await _pipeline.ExecuteAsync(async token => await _store.WriteAsync(readings, deadLetters, token), ct);
            _metrics.Stored(readings.Count, deadLetters.Select(d => d.Reason), Stopwatch.GetElapsedTime(started));
        }
        catch (StoreRejectedException ex)
        {
            if (batch.Count > 1)
            {
                // Bisect: the refused message ends up alone, the rest is stored.
                var half = batch.Count / 2;
                await WriteAsync([.. batch.Take(half)], ct);
                await WriteAsync([.. batch.Skip(half)], ct);
                return;
            }
            await WriteRefusedAsync(batch[0], ex, ct);
        }
    }

    private const string RefusedPayload = "(payload refused by the store)";

    /// <summary>
    /// One message the store refused. If the store takes its dead letter, the message was the problem.
    /// If it refuses even that, the store refuses everything (e.g. InfluxDB's series limit): then
    /// ingestion waits and retries rather than acknowledge what was never stored, and the broker
    /// holds the rest meanwhile.
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
        if (await TryWriteAsync([], [letter], ct) is null)
        {
            return;
        }

        var delay = TimeSpan.FromSeconds(1);
        var error = ex.Message;
        while (true)
        {
            _logger.LogError("Store {Store} refuses every write, even a dead letter for {Topic} ({Error}); ingestion waits and retries in {Delay}",
                _store.Name, message.Message.Topic, error, delay);
            _metrics.WriteRetried();
            await Task.Delay(delay, ct);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            // The message as it was first, then its dead letter: whichever the store takes now.
            var original = await TryWriteAsync(message.Readings, message.DeadLetter is null ? [] : [message.DeadLetter], ct);
            if (original is null || await TryWriteAsync([], [letter], ct) is null)
            {
                return;
            }
            error = original.Message;
        }
    }

    /// <summary>One write through the resilience pipeline; the refusal if the store refused it, else null.</summary>
    private async Task<StoreRejectedException?> TryWriteAsync(IReadOnlyList<Telemetry.Contracts.Readings.Reading> readings, IReadOnlyList<DeadLetter> deadLetters, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await _pipeline.ExecuteAsync(async token => await _store.WriteAsync(readings, deadLetters, token), ct);
            _metrics.Stored(readings.Count, deadLetters.Select(d => d.Reason), Stopwatch.GetElapsedTime(started));
            return null;
        }
        catch (StoreRejectedException refused)
        {
            return refused;
        }
    }

    private static string SafeAscii(string s) => new([.. s.Where(c => c is >= ' ' and <= '~')]);
}
