using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Telemetry.Contracts.Messages;
using Telemetry.Messaging;

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
/// The lease on RabbitMQ: single active consumer of the queue <c>telemetry-scheduler</c> (see <see cref="SingleActiveConsumerLease"/>);
/// the api's commands share the queue, so only the holder gets them.
/// </summary>
public sealed class BrokerLease(IOptions<SchedulingOptions> options, TimeProvider time)
    : SingleActiveConsumerLease(SchedulerHosting.QueueName, options.Value.LeaseTimeout, time), ISchedulerLease
{
    public void Heard(SchedulerLeasePing ping)
    {
        ArgumentNullException.ThrowIfNull(ping);
        Heard(ping.Instance, ping.SentAt);
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
