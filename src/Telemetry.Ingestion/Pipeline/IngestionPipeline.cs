using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Telemetry.Contracts.Readings;
using Telemetry.Ingestion.Decoding;
using Telemetry.Storage;

namespace Telemetry.Ingestion.Pipeline;

/// <summary>
/// Receive → decode → batch → store → acknowledge. A bounded channel sits between receiving and
/// writing; batches close by size or age; one batch is written while the next fills. A message is
/// acknowledged only after every reading in it (or its dead letter) is durably stored, so a crash
/// at any point loses nothing: the broker redelivers what was not acknowledged, and the store
/// keeps each reading identity once.
/// </summary>
public sealed class IngestionPipeline
{
    private readonly DeviceMessageDecoder _decoder;
    private readonly ResilientStoreWriter _writer;
    private readonly IngestionSettings _settings;
    private readonly IngestionMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<InboundMessage> _inbound;
    private readonly DeadLetterClock _deadLetterClock = new();
    private readonly BoundedCounter _held;
    private volatile bool _completed;

    public IngestionPipeline(DeviceMessageDecoder decoder, ResilientStoreWriter writer, IngestionSettings settings, IngestionMetrics metrics, TimeProvider time, ILogger logger)
    {
        _decoder = decoder;
        _writer = writer;
        _settings = settings;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        // Each connection reads at most Receive Maximum unacknowledged messages and its byte limit;
        // twice that also bounds what is held across a reconnect (messages of the old connection still
        // being written while the new one delivers). The channel is larger, so receiving never waits on it.
        _held = new BoundedCounter(2 * Math.Max(1, settings.ReceiveMaximum), 2 * settings.ConnectionByteLimit);
        _inbound = Channel.CreateBounded<InboundMessage>(new BoundedChannelOptions(2 * _held.Limit + 1024)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        metrics.BufferDepth = () => _held.Count;
    }

    /// <summary>Messages received and not yet acknowledged.</summary>
    public int Held => _held.Count;

    /// <summary>Told of each batch once it is durably stored (the <c>ReadingsStored</c> event); must return at once.</summary>
    public Events.IStoredReadingsObserver? StoredObserver { get; set; }

    private static List<Reading> ReadingsOf(List<PendingMessage> batch)
    {
        var readings = new List<Reading>(batch.Sum(p => p.Readings.Count));
        foreach (var p in batch)
        {
            readings.AddRange(p.Readings);
        }
        return readings;
    }

    /// <summary>The most messages held at once since start.</summary>
    public int PeakHeld => _held.Peak;

    /// <summary>How many messages may be held before <see cref="WaitForRoomAsync"/> waits: twice Receive Maximum.</summary>
    public int HoldLimit => _held.Limit;

    /// <summary>Bytes (payloads and topics) of the messages held.</summary>
    public long HeldBytes => _held.Bytes;

    /// <summary>The most bytes held at once since start.</summary>
    public long PeakHeldBytes => _held.PeakBytes;

    /// <summary>How many bytes may be held before <see cref="WaitForRoomAsync"/> waits: twice <see cref="IngestionSettings.ConnectionByteLimit"/>.</summary>
    public long HoldByteLimit => _held.ByteLimit;

    /// <summary>True while <see cref="WaitForRoomAsync"/> would wait.</summary>
    public bool IsFull => _held.IsFull;

    /// <summary>
    /// Completes at once while fewer than <see cref="HoldLimit"/> messages and fewer than
    /// <see cref="HoldByteLimit"/> bytes are held, otherwise when acknowledgements bring both below
    /// their limits. The MQTT connection awaits this before it hands over a message, so memory stays
    /// bounded whatever the broker sends.
    /// </summary>
    public ValueTask WaitForRoomAsync(CancellationToken ct) => _held.WaitForRoomAsync(ct);

    public ValueTask EnqueueAsync(InboundMessage message, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (_completed)
        {
            // Stopping: not taken, not acknowledged; the broker delivers it again to the next session.
            return ValueTask.CompletedTask;
        }
        _held.Add(message.Size);
        _metrics.MessageIn();
        if (_inbound.Writer.TryWrite(message))
        {
            return ValueTask.CompletedTask;
        }
        return WriteSlowAsync(message, ct);
    }

    private async ValueTask WriteSlowAsync(InboundMessage message, CancellationToken ct)
    {
        try
        {
            await _inbound.Writer.WriteAsync(message, ct);
        }
        catch (ChannelClosedException)
        {
            // Completed while this one waited: it stays unacknowledged, like one that came after.
            _held.Remove(message.Size);
        }
    }

    /// <summary>
    /// Takes no more messages: <see cref="RunAsync"/> then writes and acknowledges what it holds and
    /// returns. Messages offered afterwards are left unacknowledged (the broker redelivers them).
    /// </summary>
    public void CompleteAdding()
    {
        _completed = true;
        _inbound.Writer.TryComplete();
    }

    /// <summary>
    /// Runs until <paramref name="ct"/> is cancelled (what is not yet stored is not acknowledged) or,
    /// after <see cref="CompleteAdding"/>, until everything taken is stored and acknowledged. A failure
    /// of either loop stops the other and is thrown: a writer that died must not leave the batcher
    /// waiting forever while the process looks alive.
    /// </summary>
    public async Task RunAsync(CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var batches = Channel.CreateBounded<List<PendingMessage>>(new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true });
        // Stored batches wait here for their acknowledgements, so the next write starts while the PUBACKs of the
        // previous batch go out. Unbounded, but what it holds is counted as held, so Receive Maximum bounds it.
        var stored = Channel.CreateUnbounded<List<PendingMessage>>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var acknowledging = AcknowledgeLoopAsync(stored.Reader, stop.Token);
        var writing = WriteThenCompleteAsync(batches.Reader, stored.Writer, stop.Token);
        var batching = BatchThenCompleteAsync(batches.Writer, stop.Token);
        var pending = new List<Task> { batching, writing, acknowledging };
        Task? first = null;
        while (pending.Count > 0)
        {
            var done = await Task.WhenAny(pending);
            pending.Remove(done);
            // Each loop ends normally only after the one before it; any other end stops them all.
            var inOrder = done == batching || (done == writing && batching.IsCompleted) || (done == acknowledging && writing.IsCompleted);
            if (!done.IsCompletedSuccessfully || !inOrder)
            {
                first ??= done;
                await stop.CancelAsync();
            }
        }
        // The failure itself, not the cancellation it caused in the other loops.
        foreach (var task in new[] { first, writing, acknowledging, batching })
        {
            if (task is { IsFaulted: true })
            {
                await task;
            }
        }
        if (first is not null && !first.IsCompletedSuccessfully && !first.IsCanceled)
        {
            await first;
        }
    }

    private async Task WriteThenCompleteAsync(ChannelReader<List<PendingMessage>> batches, ChannelWriter<List<PendingMessage>> stored, CancellationToken ct)
    {
        try
        {
            await foreach (var batch in batches.ReadAllAsync(ct))
            {
                await _writer.WriteAsync(batch, ct);
                stored.TryWrite(batch);
                if (StoredObserver is { } observer)
                {
                    observer.OnStored(ReadingsOf(batch));
                }
            }
        }
        finally
        {
            stored.TryComplete();
        }
    }

    private async Task BatchThenCompleteAsync(ChannelWriter<List<PendingMessage>> batches, CancellationToken ct)
    {
        try
        {
            await BatchLoopAsync(batches, ct);
        }
        finally
        {
            batches.TryComplete();
        }
    }

    private async Task BatchLoopAsync(ChannelWriter<List<PendingMessage>> batches, CancellationToken ct)
    {
        var reader = _inbound.Reader;
        while (await reader.WaitToReadAsync(ct))
        {
            var batch = new List<PendingMessage>();
            var readings = 0;
            // Batch age is on the project clock (the demo's accelerated one); see docs/architecture.md.
            using var ageTimer = new CancellationTokenSource(_settings.BatchAge, _time);
            using var age = CancellationTokenSource.CreateLinkedTokenSource(ct, ageTimer.Token);
            while (readings < _settings.BatchSize)
            {
                if (reader.TryRead(out var message))
                {
                    var pending = Decode(message);
                    readings += Math.Max(1, pending.Readings.Count);
                    batch.Add(pending);
                    continue;
                }
                try
                {
                    if (!await reader.WaitToReadAsync(age.Token))
                    {
                        break;
                    }
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    break; // the batch is old enough
                }
            }
            await batches.WriteAsync(batch, ct);
        }
    }

    private PendingMessage Decode(InboundMessage message)
    {
        var result = _decoder.Decode(message.Topic, message.Payload, message.ReceivedAt);
        if (result.IsAccepted)
        {
            return new PendingMessage(message, result.Readings, null);
        }
        var reason = result.Rejection!.Reason.Name();
        var bin = result.Rejection.BinId ?? DeadLetters.UnknownBin;
        var at = _deadLetterClock.Next(reason, bin, message.ReceivedAt);
        var letter = DeadLetters.Create(at, reason, bin, _settings.ClientId, message.Topic, message.Payload.Span, result.Rejection.Detail);
        return new PendingMessage(message, [], letter);
    }

    private async Task AcknowledgeLoopAsync(ChannelReader<List<PendingMessage>> stored, CancellationToken ct)
    {
        await foreach (var batch in stored.ReadAllAsync(ct))
        {
            foreach (var pending in batch)
            {
                try
                {
                    await pending.Message.AcknowledgeAsync(ct);
                }
#pragma warning disable CA1031 // A failed acknowledgement only means the broker redelivers; the store keeps it once.
                catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
                {
                    _logger.LogDebug("Acknowledgement of {Topic} failed ({Error}); the broker will redeliver it", pending.Message.Topic, ex.Message);
                }
                _held.Remove(pending.Message.Size);
                _metrics.Acknowledged(System.Diagnostics.Stopwatch.GetElapsedTime(pending.Message.ReceivedTimestamp));
            }
        }
    }
}
