using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Telemetry.Contracts.Messages;

namespace Telemetry.Scheduling.Hosting;

/// <summary>Whether this process is the one scheduler that acts now.</summary>
public interface ISchedulerLease
{
    /// <summary>True while this process holds the lease and may act (store and publish decisions, answer commands).</summary>
    bool Acting { get; }

    /// <summary>What the lease is, for logs and readiness.</summary>
    string Describe();
}

/// <summary>On the in-memory bus the process is alone (a second scheduler is refused at start): it always acts.</summary>
public sealed class InProcessLease : ISchedulerLease
{
    public bool Acting => true;

    public string Describe() => "in-process (in-memory bus)";
}

/// <summary>
/// The lease on RabbitMQ: every scheduler sends a ping a second to the queue <c>telemetry-scheduler</c>, which has a single active
/// consumer; the broker delivers them (and the api's commands) only to the process whose consumer is active. A process holds the
/// lease while pings reach it; it <see cref="Acting">acts</see> once it has held it for <c>Scheduling:LeaseTimeout</c>, and stops
/// acting when none has reached it for as long. So the one that lost the lease (dead, cut off, its consumer moved) has stopped
/// before the next one starts: the broker moves the consumer only after the old one is gone, and the old one hears no ping
/// after that moment. Times are real time, whatever clock the scheduler decides on.
/// </summary>
public sealed class BrokerLease(IOptions<SchedulingOptions> options, TimeProvider time) : ISchedulerLease
{
    private readonly TimeSpan _timeout = options.Value.LeaseTimeout;
    private readonly object _gate = new();
    private long? _heldSince;
    private long? _lastHeard;

    /// <summary>This process's name in its pings.</summary>
    public string Instance { get; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}";

    /// <summary>
    /// A ping reached this process. Only its own pings count, and only fresh ones (sent less than a second ago by this
    /// process's clock): a ping delivered just before the broker moved the consumer, and handled late, must not extend a lease
    /// that is gone. Pings of the other schedulers are in the same queue; whoever holds the lease drops them.
    /// </summary>
    public void Heard(SchedulerLeasePing ping)
    {
        ArgumentNullException.ThrowIfNull(ping);
        if (ping.Instance != Instance || time.GetUtcNow() - ping.SentAt > TimeSpan.FromSeconds(1))
        {
            return;
        }
        lock (_gate)
        {
            var now = time.GetTimestamp();
            if (_lastHeard is not { } last || time.GetElapsedTime(last, now) >= _timeout)
            {
                _heldSince = now;
            }
            _lastHeard = now;
        }
    }

    public bool Acting
    {
        get
        {
            lock (_gate)
            {
                return _lastHeard is { } last && _heldSince is { } since
                    && time.GetElapsedTime(last) < _timeout && time.GetElapsedTime(since) >= _timeout;
            }
        }
    }

    public string Describe()
    {
        lock (_gate)
        {
            return _lastHeard is { } last
                ? $"RabbitMQ single active consumer: last ping {time.GetElapsedTime(last).TotalSeconds:0.0} s ago, held {(_heldSince is { } s ? time.GetElapsedTime(s).TotalSeconds : 0):0} s"
                : "RabbitMQ single active consumer: no ping has reached this process (another scheduler holds the lease, or the broker is away)";
        }
    }
}

/// <summary>Sends this process's lease ping every 250 ms (each kept 5 s at most); a bus that is away is retried quietly.</summary>
public sealed class LeasePinger(ISendEndpointProvider send, BrokerLease lease, ILogger<LeasePinger> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failing = false;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250), TimeProvider.System);
        do
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(3));
                var endpoint = await send.GetSendEndpoint(SchedulerHosting.Address);
                await endpoint.Send(new SchedulerLeasePing(lease.Instance, TimeProvider.System.GetUtcNow()), c => c.TimeToLive = TimeSpan.FromSeconds(5), timeout.Token);
                if (failing)
                {
                    logger.LogInformation("Scheduler: lease pings reach the broker again");
                    failing = false;
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException && !stoppingToken.IsCancellationRequested)
            {
                if (!failing)
                {
                    logger.LogWarning("Scheduler: the lease ping did not reach the broker ({Error}); this process cannot hold the lease until it does", ex.Message);
                    failing = true;
                }
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
