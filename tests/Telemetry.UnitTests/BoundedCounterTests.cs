using System.Diagnostics;
using Telemetry.Ingestion.Pipeline;

namespace Telemetry.UnitTests;

public class BoundedCounterTests
{
    [Theory]
    [InlineData(1, long.MaxValue, 0)] // the message limit: one slot
    [InlineData(int.MaxValue, 4096, 4096)] // the byte limit: one message fills it
    public async Task A_waiter_racing_the_removal_that_makes_room_is_always_woken(int limit, long byteLimit, int size)
    {
        // One thread waits for room while another frees the only slot. Both spin on a shared phase
        // number, so they start each round within a few hundred nanoseconds, and the remover is
        // delayed by a spin that varies from round to round, so the removal lands at every point of
        // the wait. Once both calls have returned the count is below the limit, so the wait must
        // complete: a wake-up lost between "the waiter saw no room" and "the waiter registered"
        // leaves it pending for good.
        const int rounds = 200_000;
        var budget = Stopwatch.StartNew();
        var counter = new BoundedCounter(limit, byteLimit);
        var started = 0;
        var removed = 0;
        var stop = false;

        var remover = new Thread(() =>
        {
            for (var i = 1; ; i++)
            {
                var spin = new SpinWait();
                while (Volatile.Read(ref started) != i)
                {
                    if (Volatile.Read(ref stop))
                    {
                        return;
                    }
                    spin.SpinOnce(sleep1Threshold: -1); // yields when the other thread is not running (shared cores)
                }
                Thread.SpinWait(i % 64);
                counter.Remove(size);
                Volatile.Write(ref removed, i);
            }
        }) { IsBackground = true };
        remover.Start();

        var stuck = 0;
        var done = 0;
        try
        {
            for (var i = 1; i <= rounds && budget.Elapsed < TimeSpan.FromSeconds(60); i++)
            {
                counter.Add(size);
                Volatile.Write(ref started, i);
                var room = counter.WaitForRoomAsync(CancellationToken.None).AsTask();
                var spin = new SpinWait();
                while (Volatile.Read(ref removed) != i)
                {
                    spin.SpinOnce(sleep1Threshold: -1);
                }
                // A deadline, not a pause: a woken wait completes within microseconds, a lost one never.
                try
                {
                    await room.WaitAsync(TimeSpan.FromSeconds(10));
                }
                catch (TimeoutException)
                {
                    stuck = i;
                    break;
                }
                done = i;
            }
        }
        finally
        {
            Volatile.Write(ref stop, true);
            remover.Join(TimeSpan.FromSeconds(10));
        }
        Assert.True(stuck == 0, $"round {stuck}: the wait for room was never woken although {counter.Count} of {counter.Limit} messages and {counter.Bytes} of {counter.ByteLimit} bytes are held");
        Assert.True(done >= 10_000, $"only {done} rounds within the time budget");
    }

    [Fact]
    public async Task Room_means_below_both_the_message_and_the_byte_limit()
    {
        var counter = new BoundedCounter(10, 1000);
        counter.Add(600);
        Assert.False(counter.IsFull);
        Assert.True(counter.WaitForRoomAsync(CancellationToken.None).AsTask().IsCompletedSuccessfully);
        counter.Add(600); // 2 of 10 messages, but 1,200 of 1,000 bytes
        Assert.True(counter.IsFull);
        var room = counter.WaitForRoomAsync(CancellationToken.None).AsTask();
        Assert.False(room.IsCompleted);
        counter.Remove(600);
        await room.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal((1, 600L, 2, 1200L), (counter.Count, counter.Bytes, counter.Peak, counter.PeakBytes));

        // One message larger than the whole byte limit still gets in when there is room, alone.
        counter.Remove(600);
        Assert.True(counter.WaitForRoomAsync(CancellationToken.None).AsTask().IsCompletedSuccessfully);
        counter.Add(5000);
        Assert.True(counter.IsFull);
        counter.Remove(5000);
        Assert.False(counter.IsFull);
    }

    [Fact]
    public async Task A_cancelled_wait_ends_and_the_next_room_still_wakes_the_other_waiters()
    {
        var counter = new BoundedCounter(1);
        counter.Add();
        using var cancel = new CancellationTokenSource();
        var cancelled = counter.WaitForRoomAsync(cancel.Token).AsTask();
        var other = counter.WaitForRoomAsync(CancellationToken.None).AsTask();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(other.IsCompleted);
        counter.Remove();
        await other.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(cancelled.IsCanceled);
    }
}
