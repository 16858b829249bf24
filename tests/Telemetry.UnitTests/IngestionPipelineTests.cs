using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Telemetry.Contracts.Configuration;
using Telemetry.Contracts.Readings;
using Telemetry.Ingestion;
using Telemetry.Ingestion.Decoding;
using Telemetry.Ingestion.Pipeline;
using Telemetry.Storage;

namespace Telemetry.UnitTests;

public class IngestionPipelineTests
{
    private static readonly IngestionSettings Settings = new()
    {
        Broker = MqttEndpoint.EmbeddedDefault,
        ClientId = "ingest-test",
        BatchSize = 5000,
        BatchAge = TimeSpan.FromMilliseconds(20),
        ReceiveMaximum = 50_000,
    };

    private sealed class Harness : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _running;
        private int _acked;

        public Harness(FakeStore store, IngestionSettings? settings = null)
        {
            Store = store;
            Metrics = new IngestionMetrics();
            var s = settings ?? Settings;
            var writer = new ResilientStoreWriter(store, s.ClientId, Metrics, NullLogger.Instance, maxDelay: TimeSpan.FromMilliseconds(50));
            Pipeline = new IngestionPipeline(new DeviceMessageDecoder(DecoderTests.Registry, new DecoderSettings()), writer, s, Metrics, TimeProvider.System, NullLogger.Instance);
            _running = Pipeline.RunAsync(_stop.Token);
        }

        public FakeStore Store { get; }

        /// <summary>The pipeline's run: it ends on its own only when something failed.</summary>
        public Task Running => _running;
        public IngestionMetrics Metrics { get; }
        public IngestionPipeline Pipeline { get; }
        public int Acked => Volatile.Read(ref _acked);

        public ValueTask SendAsync(string topic, string payload) =>
            Pipeline.EnqueueAsync(new InboundMessage(topic, Encoding.UTF8.GetBytes(payload), TimeProvider.System.GetUtcNow(), _ =>
            {
                Interlocked.Increment(ref _acked);
                return Task.CompletedTask;
            }), CancellationToken.None);

        public async Task WaitAckedAsync(int n)
        {
            var until = DateTime.UtcNow.AddSeconds(20);
            while (Acked < n && DateTime.UtcNow < until)
            {
                await Task.Delay(10);
            }
            Assert.Equal(n, Acked);
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            try
            {
                await _running;
            }
            catch (OperationCanceledException)
            {
                // Stopped.
            }
            _stop.Dispose();
            Metrics.Dispose();
        }
    }

    private static string FillMessage(int i) =>
        $$"""{"v":1,"ts":"{{TimeProvider.System.GetUtcNow().AddMinutes(-1).AddMilliseconds(i).UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ}}","seq":{{i}},"compartments":[{"id":"paper","fillPct":{{i % 100}}},{"id":"glass","fillPct":5}]}""";

    [Fact]
    public async Task Messages_are_acknowledged_only_after_the_store_has_them()
    {
        var store = new FakeStore { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        await using var h = new Harness(store);
        for (var i = 0; i < 100; i++)
        {
            await h.SendAsync("bins/JY-001/fill", FillMessage(i));
        }
        // The first batch is in the store's hands, held at its gate: nothing may be acknowledged yet.
        await Until(() => Volatile.Read(ref store.Entered) > 0 && h.Pipeline.Held == 100, "the write to reach the store");
        Assert.Equal(0, h.Acked);
        Assert.Empty(store.Writes);
        Assert.Equal(100, h.Pipeline.Held);
        store.Gate.SetResult();
        await h.WaitAckedAsync(100);
        Assert.Equal(200, store.AllReadings.Count());
        Assert.Equal(0, h.Pipeline.Held);
    }

    [Fact]
    public async Task Room_is_reported_full_at_twice_Receive_Maximum_and_opens_when_the_store_takes_the_messages()
    {
        var store = new FakeStore { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        await using var h = new Harness(store, Settings with { ReceiveMaximum = 10 });
        Assert.Equal(20, h.Pipeline.HoldLimit);
        for (var i = 0; i < 19; i++)
        {
            await h.SendAsync("bins/JY-001/fill", FillMessage(i));
        }
        Assert.False(h.Pipeline.IsFull);
        Assert.True(h.Pipeline.WaitForRoomAsync(CancellationToken.None).AsTask().IsCompletedSuccessfully);
        await h.SendAsync("bins/JY-001/fill", FillMessage(19));
        Assert.True(h.Pipeline.IsFull);
        var room = h.Pipeline.WaitForRoomAsync(CancellationToken.None).AsTask();
        await Until(() => Volatile.Read(ref store.Entered) > 0, "the write to reach the store");
        Assert.False(room.IsCompleted); // the store holds everything back: no acknowledgement, no room
        store.Gate.SetResult();
        await room.WaitAsync(TimeSpan.FromSeconds(10));
        await h.WaitAckedAsync(20);
        Assert.Equal(0, h.Pipeline.Held);
        Assert.Equal(20, h.Pipeline.PeakHeld);
    }

    [Fact]
    public async Task Room_is_reported_full_when_the_bytes_held_reach_their_limit_far_below_the_message_limit()
    {
        // Receive Maximum 10: room for 20 messages, and for 2 × 10 × (4,096 + 256) = 87,040 bytes.
        var store = new FakeStore { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        await using var h = new Harness(store, Settings with { ReceiveMaximum = 10 });
        Assert.Equal((20, 87_040L), (h.Pipeline.HoldLimit, h.Pipeline.HoldByteLimit));
        var big = new string('x', 10_000); // a 10 kB message: too large for the contract, small for the broker
        for (var i = 0; i < 8; i++)
        {
            await h.SendAsync("bins/JY-001/fill", big);
        }
        Assert.False(h.Pipeline.IsFull);
        Assert.Equal(8 * (10_000 + "bins/JY-001/fill".Length), h.Pipeline.HeldBytes);
        await h.SendAsync("bins/JY-001/fill", big); // 90,144 bytes in 9 messages
        Assert.True(h.Pipeline.IsFull);
        var room = h.Pipeline.WaitForRoomAsync(CancellationToken.None).AsTask();
        Assert.False(room.IsCompleted);
        store.Gate.SetResult();
        await room.WaitAsync(TimeSpan.FromSeconds(10));
        await h.WaitAckedAsync(9);
        Assert.Equal((0, 0L, 90_144L), (h.Pipeline.Held, h.Pipeline.HeldBytes, h.Pipeline.PeakHeldBytes));
        Assert.Equal(9, store.AllDeadLetters.Count(l => l.Reason == "too-large"));
    }

    [Fact]
    public async Task Waiting_for_room_can_be_cancelled()
    {
        var store = new FakeStore { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        await using var h = new Harness(store, Settings with { ReceiveMaximum = 1 });
        await h.SendAsync("bins/JY-001/fill", FillMessage(0));
        await h.SendAsync("bins/JY-001/fill", FillMessage(1));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await h.Pipeline.WaitForRoomAsync(cancel.Token));
        store.Gate.SetResult();
        await h.WaitAckedAsync(2);
    }

    [Fact]
    public async Task A_store_that_is_down_is_retried_until_it_takes_the_batch()
    {
        var store = new FakeStore { FailuresLeft = 6 };
        await using var h = new Harness(store);
        for (var i = 0; i < 50; i++)
        {
            await h.SendAsync("bins/JY-002/fill", FillMessage(i));
        }
        await h.WaitAckedAsync(50);
        Assert.Equal(100, store.AllReadings.Count());
        Assert.True(h.Metrics.WriteRetries >= 6, $"{h.Metrics.WriteRetries} retries");
    }

    [Fact]
    public async Task A_point_the_store_refuses_is_isolated_and_dead_lettered_while_the_rest_is_stored()
    {
        var store = new FakeStore { Refuses = r => r is FillReading { BinId: "JY-013" } };
        await using var h = new Harness(store);
        for (var i = 0; i < 40; i++)
        {
            await h.SendAsync(i == 17 ? "bins/JY-013/fill" : "bins/JY-003/fill", FillMessage(i));
        }
        await h.WaitAckedAsync(40);
        Assert.Equal(39 * 2, store.AllReadings.Count());
        var letter = Assert.Single(store.AllDeadLetters);
        Assert.Equal((ResilientStoreWriter.StoreRejectedReason, "JY-013", "bins/JY-013/fill", "ingest-test"), (letter.Reason, letter.BinId, letter.Topic, letter.Ingester));
        Assert.Contains("field type conflict", letter.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_store_that_refuses_everything_is_waited_for_and_nothing_is_acknowledged_meanwhile()
    {
        var store = new FakeStore { RefuseEverything = true };
        await using var h = new Harness(store);
        await h.SendAsync("bins/JY-012/fill", FillMessage(1));
        // Refused as it was, refused as a dead letter, then retried at least once: still nothing acknowledged.
        await Until(() => Volatile.Read(ref store.Attempts) >= 4, "the writer to retry");
        Assert.Equal(0, h.Acked);
        Assert.Empty(store.Writes);
        store.RefuseEverything = false;
        await h.WaitAckedAsync(1);
        // Once the store takes writes again, the message is stored as it was: no reading is lost.
        Assert.Equal(2, store.AllReadings.Count());
        Assert.Empty(store.AllDeadLetters);
    }

    [Fact]
    public async Task Rejected_messages_become_dead_letters_each_a_point_of_its_own()
    {
        var store = new FakeStore();
        await using var h = new Harness(store);
        var at = TimeProvider.System.GetUtcNow();
        for (var i = 0; i < 3; i++)
        {
            // Same reason, bin and receive time: each must still be its own point.
            await h.Pipeline.EnqueueAsync(new InboundMessage("bins/JY-999/fill", "{}"u8.ToArray(), at, InboundMessage.NoAcknowledgement), CancellationToken.None);
        }
        await h.SendAsync("bins/JY-001/fill", "not json");
        await h.SendAsync("bins/JY-001/fill", FillMessage(1));
        var until = DateTime.UtcNow.AddSeconds(10);
        while (store.AllDeadLetters.Count() < 4 && DateTime.UtcNow < until)
        {
            await Task.Delay(10);
        }
        var letters = store.AllDeadLetters.ToList();
        Assert.Equal(4, letters.Count);
        var unknown = letters.Where(l => l.Reason == "unknown-bin").ToList();
        Assert.All(unknown, l => Assert.Equal("unknown", l.BinId));
        Assert.Equal(3, unknown.Select(l => l.ReceivedAt).Distinct().Count());
        Assert.Equal(TimeSpan.FromTicks(20), unknown.Max(l => l.ReceivedAt) - unknown.Min(l => l.ReceivedAt));
        Assert.Equal(("malformed-json", "JY-001", "not json"), letters.Where(l => l.Reason == "malformed-json").Select(l => (l.Reason, l.BinId, l.Payload)).Single());
        Assert.Equal(2, store.AllReadings.Count());
        Assert.Equal(4, h.Metrics.DeadLetters);
    }

    [Fact]
    public async Task Batches_hold_at_most_the_batch_size()
    {
        var store = new FakeStore { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        await using var h = new Harness(store, Settings with { BatchSize = 1000 });
        for (var i = 0; i < 3000; i++)
        {
            await h.SendAsync("bins/JY-004/fill", FillMessage(i));
        }
        store.Gate.SetResult();
        await h.WaitAckedAsync(3000);
        Assert.Equal(6000, store.AllReadings.Count());
        Assert.All(store.Writes, w => Assert.InRange(w.Readings.Count, 1, 1001));
    }

    [Fact]
    public void Dead_letter_topic_is_cut_at_1024_bytes_and_payload_kept_up_to_4096_bytes()
    {
        var chinese = Encoding.UTF8.GetBytes(new string('中', 400)); // 1,200 bytes
        var cut = DeadLetters.SafeText(chinese, 1024);
        Assert.True(Encoding.UTF8.GetByteCount(cut) <= 1024);
        Assert.Equal(341, cut.Length); // 341 × 3 bytes = 1,023
        var letter = DeadLetters.Create(DateTimeOffset.UnixEpoch, "too-large", null, "i", "bins/" + new string('中', 400), chinese, "e");
        Assert.Equal(("unknown", new string('中', 400)), (letter.BinId, letter.Payload));
        Assert.True(Encoding.UTF8.GetByteCount(letter.Topic) <= DeadLetters.MaxTopicBytes);
    }

    // ---------------------------------------------------------------- failing loudly, never stalling

    /// <summary>Log lines written, with the fake clock's time when each was written.</summary>
    private sealed class ListLogger(TimeProvider time) : ILogger
    {
        public ConcurrentQueue<(DateTimeOffset At, LogLevel Level, string Text)> Entries { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Enqueue((time.GetUtcNow(), logLevel, formatter(state, exception)));

        public List<(DateTimeOffset At, LogLevel Level, string Text)> With(string words) =>
            [.. Entries.Where(e => e.Text.Contains(words, StringComparison.Ordinal))];
    }

    private static PendingMessage Pending(string topic, int i, Func<CancellationToken, Task>? ack = null)
    {
        var message = new InboundMessage(topic, Encoding.UTF8.GetBytes(FillMessage(i)), TimeProvider.System.GetUtcNow(), ack ?? InboundMessage.NoAcknowledgement);
        var decoded = new DeviceMessageDecoder(DecoderTests.Registry, new DecoderSettings()).Decode(message.Topic, message.Payload, message.ReceivedAt);
        Assert.True(decoded.IsAccepted);
        return new PendingMessage(message, decoded.Readings, null);
    }

    private static async Task Until(Func<bool> condition, string what, FakeTimeProvider? time = null, TimeSpan? step = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            // With a fake clock, time moves only when told: move it on in small steps while waiting.
            time?.Advance(step ?? TimeSpan.FromSeconds(1));
            await Task.Delay(5);
        }
    }

    [Fact]
    public async Task A_store_error_that_is_neither_unavailable_nor_refused_propagates_at_once()
    {
        var fault = new InvalidOperationException("the disk is on fire");
        var store = new FakeStore { Fault = fault };
        using var metrics = new IngestionMetrics();
        var writer = new ResilientStoreWriter(store, "ingest-test", metrics, NullLogger.Instance, maxDelay: TimeSpan.FromMilliseconds(50));
        // A bounded wait: a writer that swallowed the error and waited would fail here, not hang.
        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            writer.WriteAsync([Pending("bins/JY-001/fill", 1)], CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Same(fault, thrown);
        Assert.Equal(1, store.Attempts); // not retried, not bisected, not dead-lettered
        Assert.Empty(store.Writes);
        Assert.Equal(0, metrics.WriteRetries);

        store.Fault = new StoreFailedException("SQLite /data/telemetry.db: SQLITE_READONLY");
        await Assert.ThrowsAsync<StoreFailedException>(() =>
            writer.WriteAsync([Pending("bins/JY-001/fill", 2), Pending("bins/JY-002/fill", 3)], CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal(2, store.Attempts);
    }

    [Fact]
    public async Task A_message_whose_write_failed_with_an_unexpected_error_is_never_acknowledged()
    {
        var store = new FakeStore { Fault = new InvalidOperationException("the disk is on fire") };
        var h = new Harness(store);
        await h.SendAsync("bins/JY-001/fill", FillMessage(1));
        await Until(() => store.Attempts > 0, "the failed write");
        // The pipeline stops by itself with the store's error (the role then stops the process).
        var failed = await Assert.ThrowsAsync<InvalidOperationException>(() => h.Running.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal("the disk is on fire", failed.Message);
        // The store would take writes now; nothing after the failed batch may be acknowledged past it.
        store.Fault = null;
        await h.SendAsync("bins/JY-002/fill", FillMessage(2));
        var stopped = await Assert.ThrowsAsync<InvalidOperationException>(() => h.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal("the disk is on fire", stopped.Message);
        Assert.Equal(0, h.Acked);
        Assert.Empty(store.Writes);
    }

    [Fact]
    public async Task An_outage_is_logged_at_least_once_a_minute_with_its_duration_and_the_messages_held()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero));
        var logger = new ListLogger(time);
        var store = new FakeStore { FailuresLeft = int.MaxValue };
        using var metrics = new IngestionMetrics();
        var writer = new ResilientStoreWriter(store, "ingest-test", metrics, logger, time, heldCount: () => 7);
        var start = time.GetUtcNow();
        var writing = writer.WriteAsync([Pending("bins/JY-001/fill", 1)], CancellationToken.None);

        await Until(() => writer.UnavailableSince is not null, "the first failure");
        Assert.Equal(start, writer.UnavailableSince);
        Assert.Equal("down", writer.LastError);
        Assert.Single(logger.With("unavailable (7 messages held)"));

        // Ten minutes of outage, a second at a time: a warning each minute, never more than a minute apart.
        for (var i = 0; i < 600; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.Yield();
        }
        var periodic = logger.With("unavailable for");
        Assert.Equal(10, periodic.Count);
        Assert.All(periodic, e => Assert.Equal(LogLevel.Warning, e.Level));
        Assert.All(periodic, e => Assert.Contains("7 messages held", e.Text, StringComparison.Ordinal));
        Assert.Contains("unavailable for 1m 00s", periodic[0].Text, StringComparison.Ordinal);
        Assert.Contains("unavailable for 10m 00s", periodic[^1].Text, StringComparison.Ordinal);
        Assert.All(periodic.Zip(periodic.Skip(1)), p => Assert.True(p.Second.At - p.First.At <= ResilientStoreWriter.OutageLogInterval));
        Assert.False(writing.IsCompleted);

        // The store is back: the batch goes through, the outage is over and no longer logged.
        store.FailuresLeft = 0;
        await Until(() => writing.IsCompleted, "the write after the outage", time);
        await writing;
        Assert.Null(writer.UnavailableSince);
        Assert.Null(writer.LastError);
        Assert.Single(logger.With("takes writes again after"));
        var logged = logger.Entries.Count;
        time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(logged, logger.Entries.Count);
    }

    [Fact]
    public async Task A_store_that_refuses_every_reading_of_a_measurement_is_waited_for_and_no_valid_message_becomes_a_dead_letter()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero));
        var logger = new ListLogger(time);
        var store = new FakeStore { RefusesStoreWide = r => r is FillReading };
        using var metrics = new IngestionMetrics();
        var writer = new ResilientStoreWriter(store, "ingest-test", metrics, logger, time, heldCount: () => 3);
        var writing = writer.WriteAsync([Pending("bins/JY-001/fill", 1), Pending("bins/JY-002/fill", 2), Pending("bins/JY-003/fill", 3)], CancellationToken.None);

        await Until(() => logger.With("field type conflict").Any(e => e.Level == LogLevel.Error), "the error naming the conflict");
        Assert.Contains("refuses valid data because of its own state", logger.With("field type conflict")[0].Text, StringComparison.Ordinal);
        Assert.Equal(time.GetUtcNow(), writer.UnavailableSince);
        Assert.Contains("field type conflict", writer.LastError, StringComparison.Ordinal);
        // Half an hour of refusals: retried, logged as an error at least once a minute, never dead-lettered.
        for (var i = 0; i < 1800; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.Yield();
        }
        Assert.False(writing.IsCompleted);
        Assert.Empty(store.AllDeadLetters);
        Assert.Empty(store.AllReadings);
        var periodic = logger.With("has refused the writes for");
        Assert.Equal(30, periodic.Count);
        Assert.All(periodic, e => Assert.Equal(LogLevel.Error, e.Level));
        Assert.All(periodic, e => Assert.Contains("field type conflict", e.Text, StringComparison.Ordinal));
        Assert.True(store.Attempts > 30, $"{store.Attempts} attempts");

        // Someone fixes the store: everything is stored as it was, nothing became a dead letter.
        store.RefusesStoreWide = null;
        await Until(() => writing.IsCompleted, "the write once the store is fixed", time);
        await writing;
        Assert.Equal(6, store.AllReadings.Count());
        Assert.Empty(store.AllDeadLetters);
        Assert.Null(writer.UnavailableSince);
    }
}
