using MassTransit;

namespace Telemetry.Messaging;

/// <summary>
/// A consumer on a temporary queue of its own process (<c>telemetry-{name}-{machine}-{random}</c>, deleted when the process
/// goes): every replica sees every event. Events are taken one at a time, in order.
/// </summary>
public abstract class TemporaryQueueDefinition<TConsumer> : ConsumerDefinition<TConsumer>
    where TConsumer : class, IConsumer
{
    protected TemporaryQueueDefinition(string name)
    {
        Endpoint(e =>
        {
            e.Name = $"telemetry-{name}-{Environment.MachineName.ToLowerInvariant()}-{Guid.NewGuid():N}";
            e.Temporary = true;
            e.ConcurrentMessageLimit = 1;
            e.PrefetchCount = 64;
        });
    }
}
