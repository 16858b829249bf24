namespace Telemetry.Messaging;

/// <summary>
/// A lease on RabbitMQ: each process sends a ping every 250 ms to a queue that has a single active consumer; the broker delivers
/// them only to the process whose consumer is active. A process holds the lease while its own pings reach it; it
/// <see cref="Acting">acts</see> once it has held it for the timeout, and stops acting when none has reached it for as long. So
/// the one that lost the lease (dead, cut off, its consumer moved) has stopped before the next one starts: the broker moves the
/// consumer only after the old one is gone, and the old one hears no ping after that moment. Times are real time, whatever clock
/// the process decides on.
/// </summary>
public class SingleActiveConsumerLease(string queue, TimeSpan timeout, TimeProvider time)
{
    private readonly object _gate = new();
    private long? _heldSince;
    private long? _lastHeard;

    /// <summary>The queue whose single active consumer the lease is.</summary>
    public string Queue { get; } = queue;

    /// <summary>This process's name in its pings.</summary>
    public string Instance { get; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}";

    /// <summary>
    /// A ping reached this process. Only its own pings count, and only fresh ones (sent less than a second ago by this process's
    /// clock): a ping delivered just before the broker moved the consumer, and handled late, must not extend a lease that is gone.
    /// Pings of the other processes are in the same queue; whoever holds the lease drops them.
    /// </summary>
    public void Heard(string instance, DateTimeOffset sentAt)
    {
        if (instance != Instance || time.GetUtcNow() - sentAt > TimeSpan.FromSeconds(1))
        {
            return;
        }
        lock (_gate)
        {
            var now = time.GetTimestamp();
            if (_lastHeard is not { } last || time.GetElapsedTime(last, now) >= timeout)
            {
                _heldSince = now;
            }
            _lastHeard = now;
        }
    }

    /// <summary>True while this process has held the lease for the timeout and still hears its pings.</summary>
    public bool Acting
    {
        get
        {
            lock (_gate)
            {
                return _lastHeard is { } last && _heldSince is { } since
                    && time.GetElapsedTime(last) < timeout && time.GetElapsedTime(since) >= timeout;
            }
        }
    }

    public string Describe()
    {
        lock (_gate)
        {
            return _lastHeard is { } last
                ? $"RabbitMQ single active consumer of {Queue}: last ping {time.GetElapsedTime(last).TotalSeconds:0.0} s ago, held {(_heldSince is { } s ? time.GetElapsedTime(s).TotalSeconds : 0):0} s"
                : $"RabbitMQ single active consumer of {Queue}: no ping has reached this process (another process holds the lease, or the broker is away)";
        }
    }
}
