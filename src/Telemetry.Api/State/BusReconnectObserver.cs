using MassTransit;
using Microsoft.Extensions.Logging;

namespace Telemetry.Api.State;

/// <summary>
/// Catches up from the store each time a receive endpoint becomes ready again (RabbitMQ returned after an outage):
/// events published meanwhile were dropped by their publishers or lost with the temporary queue, and a quiet fleet
/// may send no later event whose sequence would show the gap.
/// </summary>
public sealed class BusReconnectObserver(FleetStateLoader loader, SchedulingProjection projection, ILogger<BusReconnectObserver> logger) : IReceiveEndpointObserver
{
    private int _faults;

    public Task Ready(ReceiveEndpointReady ready)
    {
        if (Interlocked.Exchange(ref _faults, 0) > 0)
        {
            logger.LogInformation("Bus: {Endpoint} is ready again; catching up from the store", ready.InputAddress);
        }
        loader.RequestCatchUp();
        projection.RequestCatchUp();
        return Task.CompletedTask;
    }

    public Task Stopping(ReceiveEndpointStopping stopping) => Task.CompletedTask;

    public Task Completed(ReceiveEndpointCompleted completed) => Task.CompletedTask;

    public Task Faulted(ReceiveEndpointFaulted faulted)
    {
        Interlocked.Increment(ref _faults);
        logger.LogWarning("Bus: {Endpoint} lost its connection ({Error}); live updates wait until it returns, then the state catches up from the store",
            faulted.InputAddress, faulted.Exception?.Message ?? "no detail");
        return Task.CompletedTask;
    }
}
