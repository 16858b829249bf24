using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Telemetry.Contracts.Messages;
using Telemetry.Messaging;

namespace Telemetry.Routing.Hosting;

/// <summary>Whether this process is the routing worker that plans its streams now.</summary>
public interface IRoutingLease
{
    bool Acting { get; }

    string Describe();
}

/// <summary>On the in-memory bus the process is the only routing worker: it always plans.</summary>
public sealed class InProcessRoutingLease : IRoutingLease
{
    public bool Acting => true;

    public string Describe() => "in-process (in-memory bus)";
}

/// <summary>
/// On RabbitMQ: single active consumer of this worker's queue (<c>telemetry-routing</c> for all streams, else
/// <c>telemetry-routing-{streams}</c>). The jobs arrive on the same queue, so only the holder gets them.
/// </summary>
public sealed class BrokerRoutingLease(string queue, TimeSpan timeout, TimeProvider time) : SingleActiveConsumerLease(queue, timeout, time), IRoutingLease;

/// <summary>Sends this worker's lease ping every 250 ms (each kept 5 s at most); a bus that is away is retried quietly.</summary>
public sealed class RoutingLeasePinger(ISendEndpointProvider send, BrokerRoutingLease lease, ILogger<RoutingLeasePinger> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failing = false;
        var address = new Uri($"exchange:{lease.Queue}");
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250), TimeProvider.System);
        do
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(3));
                var endpoint = await send.GetSendEndpoint(address);
                await endpoint.Send(new RoutingLeasePing(lease.Queue, lease.Instance, TimeProvider.System.GetUtcNow()), c => c.TimeToLive = TimeSpan.FromSeconds(5), timeout.Token);
                if (failing)
                {
                    logger.LogInformation("Routing: lease pings reach the broker again");
                    failing = false;
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException && !stoppingToken.IsCancellationRequested)
            {
                if (!failing)
                {
                    logger.LogWarning("Routing: the lease ping did not reach the broker ({Error}); this worker cannot plan until it does", ex.Message);
                    failing = true;
                }
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
