using System.Collections.Concurrent;
using Telemetry.Contracts.Readings;
using Telemetry.Storage;

namespace Telemetry.UnitTests;

/// <summary>A store in memory that can be told to fail, refuse or hold writes.</summary>
internal sealed class FakeStore : ITelemetryStore
{
    public ConcurrentQueue<(IReadOnlyList<Reading> Readings, IReadOnlyList<DeadLetter> DeadLetters)> Writes { get; } = new();
    public int FailuresLeft;
    public int Attempts;
    /// <summary>Writes that have reached the store (before the gate).</summary>
    public int Entered;
    public Func<Reading, bool> Refuses { get; set; } = _ => false;
    public volatile bool RefuseEverything;
    /// <summary>Readings refused because of the store's state (a field type conflict): every such write fails alike.</summary>
    public volatile Func<Reading, bool>? RefusesStoreWide;
    /// <summary>Thrown by every write: neither unavailable nor refused.</summary>
    public volatile Exception? Fault;
    public TaskCompletionSource Gate { get; set; } = CompletedGate();

    public string Name => "fake";

    public static TaskCompletionSource CompletedGate()
    {
        var tcs = new TaskCompletionSource();
        tcs.SetResult();
        return tcs;
    }

    public Task InitializeAsync(CancellationToken ct) => Task.CompletedTask;

    public async Task WriteAsync(IReadOnlyList<Reading> readings, IReadOnlyList<DeadLetter> deadLetters, CancellationToken ct)
    {
        Interlocked.Increment(ref Entered);
        await Gate.Task.WaitAsync(ct);
        Interlocked.Increment(ref Attempts);
        if (Fault is { } fault)
        {
            throw fault;
        }
        if (RefusesStoreWide is { } storeWide && readings.Any(storeWide))
        {
            throw new StoreRejectedException("partial write: field type conflict: input field \"pct\" on measurement \"fill\" is type float, already exists as type integer dropped=1")
            {
                IsStoreWide = true,
            };
        }
        if (Interlocked.Decrement(ref FailuresLeft) >= 0)
        {
            throw new StoreUnavailableException("down") { RetryAfter = TimeSpan.FromMilliseconds(10) };
        }
        if (readings.Any(Refuses) || (RefuseEverything && (readings.Count > 0 || deadLetters.Count > 0)))
        {
            throw new StoreRejectedException("field type conflict");
        }
        Writes.Enqueue(([.. readings], [.. deadLetters]));
    }

    public IEnumerable<Reading> AllReadings => Writes.SelectMany(w => w.Readings);
    public IEnumerable<DeadLetter> AllDeadLetters => Writes.SelectMany(w => w.DeadLetters);

    public Task<IReadOnlyList<LatestCompartment>> GetLatestAsync(CancellationToken ct) => throw new NotSupportedException();
    public Task<IReadOnlyList<LatestStatus>> GetLatestStatusAsync(CancellationToken ct) => throw new NotSupportedException();
    public Task<IReadOnlyList<HistoryBucket>> GetHistoryAsync(string binId, DateTimeOffset start, DateTimeOffset end, TimeSpan every, TimeSpan origin, CancellationToken ct) => throw new NotSupportedException();
    public Task<IReadOnlyList<DepositTotal>> GetDepositsAsync(DateTimeOffset start, DateTimeOffset end, TimeZoneInfo zone, string? binId, CancellationToken ct) => throw new NotSupportedException();
    public Task<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(DateTimeOffset start, DateTimeOffset end, int limit, DeadLetterFilter filter, CancellationToken ct) => throw new NotSupportedException();
    public Task<IReadOnlyList<DeadLetterCount>> GetDeadLettersByReasonAsync(DateTimeOffset start, DateTimeOffset end, DeadLetterFilter filter, CancellationToken ct) => throw new NotSupportedException();
    public Task<StoredCounts> CountAsync(DateTimeOffset start, DateTimeOffset end, string? binPrefix, CancellationToken ct) => throw new NotSupportedException();
    public Task<int> CountReadingsAsync(string binId, DateTimeOffset time, CancellationToken ct) => throw new NotSupportedException();
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
