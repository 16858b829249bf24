using Telemetry.Scheduling;
using Telemetry.Scheduling.Signal;
using MassTransit;
using Telemetry.Messaging;
using Microsoft.Extensions.Logging;
using Telemetry.Contracts.Messages;

namespace Telemetry.Api.State;

/// <summary>
/// Applies <see cref="ReadingsStored"/> events to the live state. Each api process has its own temporary queue
/// (every replica sees every event) and takes events one at a time, in order. A gap in a publisher's sequence
/// (an event it dropped while the bus was down, or one lost with this queue) asks <see cref="FleetStateLoader"/>
/// to catch up from the store. The trucks' positions of the batch go to <see cref="VehicleBoard"/>.
/// </summary>
public sealed class ReadingsStoredConsumer(FleetState state, FleetStateLoader loader, FillIntelligence intelligence, VehicleBoard vehicles, ILogger<ReadingsStoredConsumer> logger) : IConsumer<ReadingsStored>
{
    public Task Consume(ConsumeContext<ReadingsStored> context)
    {
        var e = context.Message;
        state.Apply(e);
        foreach (var position in e.Vehicles)
        {
            vehicles.Update(position);
        }
        intelligence.Notify(e.Bins.Select(b => b.BinId));
        if (loader.Sequences.Observe(e.Source, e.Sequence) is { } missed)
        {
            logger.LogInformation("Missed {Missed} stored-readings event(s) from {Source} before {Sequence}; catching up from the store", missed, e.Source, e.Sequence);
            loader.RequestCatchUp();
        }
        return Task.CompletedTask;
    }
}

/// <summary>A temporary queue per process, events one at a time (their order is their sequence).</summary>
public sealed class ReadingsStoredConsumerDefinition() : TemporaryQueueDefinition<ReadingsStoredConsumer>("api");

/// <summary>The last sequence number seen per publisher.</summary>
public sealed class SequenceTracker
{
    private readonly Dictionary<string, long> _last = new(StringComparer.Ordinal);

    /// <summary>How many events of <paramref name="source"/> were missed before this one; null when none.</summary>
    public long? Observe(string source, long sequence)
    {
        lock (_last)
        {
            var known = _last.TryGetValue(source, out var last);
            if (!known || sequence > last)
            {
                _last[source] = sequence;
            }
            if (known)
            {
                return sequence > last + 1 ? sequence - last - 1 : null;
            }
            // A publisher seen for the first time: its earlier events are in the store this process loaded, unless
            // it started before our load and dropped some; a first number above 1 is treated as a gap.
            return sequence > 1 ? sequence - 1 : null;
        }
    }
}
