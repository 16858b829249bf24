namespace Telemetry.Simulator;

/// <summary>Counters of a simulator run; safe to read while it runs.</summary>
public sealed class SimulatorStats
{
    private long _produced;
    private long _published;
    private long _refused;
    private long _republished;
    private long _reconnects;
    private long _connected;
    private long _silences;

    /// <summary>Messages the simulated fleet produced, the retained statuses sent on connecting included.</summary>
    public long Produced => Interlocked.Read(ref _produced);

    /// <summary>Messages the broker acknowledged (PUBACK success or no-matching-subscribers), retained statuses included.</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>Messages the broker refused with an error reason code (e.g. 135 not authorized); not retried.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Publishes sent again because the connection dropped before the broker acknowledged them.</summary>
    public long Republished => Interlocked.Read(ref _republished);

    public long Reconnects => Interlocked.Read(ref _reconnects);

    /// <summary>Connection attempts that failed (refused by the broker, unreachable, timed out); each is retried with backoff.</summary>
    public long ConnectFailures => Interlocked.Read(ref _connectFailures);

    private long _connectFailures;

    public long ConnectedClients => Interlocked.Read(ref _connected);

    /// <summary>Devices that dropped off with their Last Will (a simulated fault).</summary>
    public long Silences => Interlocked.Read(ref _silences);

    /// <summary>Produced but not yet acknowledged or refused.</summary>
    public long Pending => Produced - Published - Refused - Dropped;

    /// <summary>Messages a device dropped because its buffer was full while it could not reach the broker.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    private long _dropped;

    internal void AddDropped() => Interlocked.Increment(ref _dropped);

    internal void AddProduced() => Interlocked.Increment(ref _produced);
    internal void AddPublished() => Interlocked.Increment(ref _published);
    internal void AddRefused() => Interlocked.Increment(ref _refused);
    internal void AddRepublished(int n) => Interlocked.Add(ref _republished, n);
    internal void AddReconnect() => Interlocked.Increment(ref _reconnects);
    internal void AddConnectFailure() => Interlocked.Increment(ref _connectFailures);
    internal void AddConnected(int delta) => Interlocked.Add(ref _connected, delta);
    internal void AddSilence() => Interlocked.Increment(ref _silences);
}
