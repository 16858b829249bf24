namespace Telemetry.Ingestion.Pipeline;

/// <summary>
/// A count of things in hand with a limit to wait on: <see cref="Add"/> when one is taken,
/// <see cref="Remove"/> when it is done with, <see cref="WaitForRoomAsync"/> to wait while the count
/// is at the limit. Used for the messages the pipeline holds and for those a connection has read and
/// not yet settled.
/// </summary>
internal sealed class BoundedCounter(int limit)
{
    private readonly Lock _lock = new();
    private TaskCompletionSource? _room;
    private int _count;
    private int _peak;

    public int Limit { get; } = Math.Max(1, limit);

    public int Count => Volatile.Read(ref _count);

    /// <summary>The highest count since start.</summary>
    public int Peak => Volatile.Read(ref _peak);

    public bool IsFull => Count >= Limit;

    public void Add() => Atomic.RaiseTo(ref _peak, Interlocked.Increment(ref _count));

    public void Remove()
    {
        if (Interlocked.Decrement(ref _count) < Limit && Volatile.Read(ref _room) is not null)
        {
            lock (_lock)
            {
                _room?.TrySetResult();
                _room = null;
            }
        }
    }

    /// <summary>Completes at once below the limit, otherwise once <see cref="Remove"/> brings the count below it.</summary>
    public ValueTask WaitForRoomAsync(CancellationToken ct) => IsFull ? WaitSlowAsync(ct) : ValueTask.CompletedTask;

    private async ValueTask WaitSlowAsync(CancellationToken ct)
    {
        while (true)
        {
            Task room;
            lock (_lock)
            {
                if (!IsFull)
                {
                    return;
                }
                _room ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                room = _room.Task;
            }
            await room.WaitAsync(ct);
        }
    }
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
