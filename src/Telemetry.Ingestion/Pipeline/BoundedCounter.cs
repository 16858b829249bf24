namespace Telemetry.Ingestion.Pipeline;

/// <summary>
/// Things in hand (messages) and their size in bytes, each with a limit, and a wait for room:
/// <see cref="Add"/> when one is taken, <see cref="Remove"/> when it is done with,
/// <see cref="WaitForRoomAsync"/> to wait while either limit is reached. Used for the messages the
/// pipeline holds and for those a connection has read and not yet settled.
/// </summary>
/// <remarks>
/// One lock covers the counts and the list of waiters, so "no room, so I wait" and "room, so I wake
/// the waiters" cannot interleave: a waiter either sees the room or is in the list when the room
/// appears. (A version that decided outside the lock could miss a wake-up and leave the connection
/// reading nothing for good.) The lock is held for a few instructions per message; completions run
/// their continuations elsewhere, never under it.
/// Room means below both limits. A message is admitted whatever its own size while there is room,
/// so one larger than the byte limit still passes (alone) rather than blocking forever; the bytes in
/// hand stay below the limit plus one message.
/// </remarks>
internal sealed class BoundedCounter
{
    private readonly Lock _lock = new();
    private readonly List<TaskCompletionSource> _waiters = [];
    private int _count;
    private long _bytes;
    private int _peak;
    private long _peakBytes;

    public BoundedCounter(int limit, long byteLimit = long.MaxValue)
    {
        Limit = Math.Max(1, limit);
        ByteLimit = Math.Max(1, byteLimit);
    }

    public int Limit { get; }

    public long ByteLimit { get; }

    public int Count => Volatile.Read(ref _count);

    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>The highest count since start.</summary>
    public int Peak => Volatile.Read(ref _peak);

    /// <summary>The most bytes in hand at once since start.</summary>
    public long PeakBytes => Interlocked.Read(ref _peakBytes);

    /// <summary>True while a limit is reached (a snapshot; <see cref="WaitForRoomAsync"/> decides under the lock).</summary>
    public bool IsFull => Count >= Limit || Bytes >= ByteLimit;

    public void Add(long bytes = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        lock (_lock)
        {
            _count++;
            Interlocked.Exchange(ref _bytes, _bytes + bytes);
            _peak = Math.Max(_peak, _count);
            Interlocked.Exchange(ref _peakBytes, Math.Max(_peakBytes, _bytes));
        }
    }

    public void Remove(long bytes = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        TaskCompletionSource[]? woken = null;
        lock (_lock)
        {
            _count--;
            Interlocked.Exchange(ref _bytes, _bytes - bytes);
            if (_waiters.Count > 0 && HasRoom())
            {
                // Waiting for room takes none: every waiter may go on, as it would had it looked now.
                woken = [.. _waiters];
                _waiters.Clear();
            }
        }
        if (woken is not null)
        {
            foreach (var waiter in woken)
            {
                waiter.TrySetResult();
            }
        }
    }

    /// <summary>Completes at once while below both limits, otherwise once <see cref="Remove"/> brings it below them.</summary>
    public ValueTask WaitForRoomAsync(CancellationToken ct)
    {
        TaskCompletionSource waiter;
        lock (_lock)
        {
            if (HasRoom())
            {
                return ValueTask.CompletedTask;
            }
            if (ct.IsCancellationRequested)
            {
                return ValueTask.FromCanceled(ct);
            }
            waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add(waiter);
        }
        return ct.CanBeCanceled ? WaitCancellableAsync(waiter, ct) : new ValueTask(waiter.Task);
    }

    private async ValueTask WaitCancellableAsync(TaskCompletionSource waiter, CancellationToken ct)
    {
        await using (ct.Register(() =>
        {
            lock (_lock)
            {
                _waiters.Remove(waiter);
            }
            waiter.TrySetCanceled(ct);
        }))
        {
            await waiter.Task;
        }
    }

    private bool HasRoom() => _count < Limit && _bytes < ByteLimit;
}

/// <summary>Lock-free "raise to at least" for counters read by other threads.</summary>
internal static class Atomic
{
    public static void RaiseTo(ref int location, int value)
    {
        var seen = Volatile.Read(ref location);
        while (value > seen)
        {
            var was = Interlocked.CompareExchange(ref location, value, seen);
            if (was == seen)
            {
                return;
            }
            seen = was;
        }
    }

    public static void RaiseTo(ref long location, long value)
    {
        var seen = Interlocked.Read(ref location);
        while (value > seen)
        {
            var was = Interlocked.CompareExchange(ref location, value, seen);
            if (was == seen)
            {
                return;
            }
            seen = was;
        }
    }
}
