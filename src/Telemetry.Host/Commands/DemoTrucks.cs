using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using MassTransit;
using Microsoft.Extensions.Logging;
using Telemetry.Contracts.Devices;
using Telemetry.Contracts.Messages;
using Telemetry.Fleet;
using Telemetry.Messaging;
using Telemetry.Routing;
using Telemetry.Routing.Driving;
using Telemetry.Simulator;

namespace Telemetry.Host.Commands;

/// <summary>
/// The demo's trucks: each drives the route its latest plan gives it (a re-plan replaces the route from where the truck is), on
/// the simulated clock, empties the compartments of its stream at each bin stop at the stop's ETA, and publishes its position
/// on <c>vehicles/{id}/position</c> every 30 simulated seconds while out, as a truck's telematics unit would. Plans arrive from
/// the bus on any thread; the trucks move on the simulator's loop.
/// </summary>
internal sealed class DemoTrucks(ILogger<DemoTrucks> logger) : ISimulatedTrucks
{
    private static readonly TimeSpan PositionEvery = TimeSpan.FromSeconds(30);

    private readonly ConcurrentQueue<RoutePlanned> _incoming = new();
    private readonly Dictionary<string, Truck> _trucks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _revisions = new(StringComparer.Ordinal);

    /// <summary>Bin stops served (compartments of one stream emptied), for the console and tests.</summary>
    public long StopsServed { get; private set; }

    public void Planned(RoutePlanned plan) => _incoming.Enqueue(plan);

    public void Advance(DateTimeOffset until, FleetSimulation simulation, Action<SimulatedOutput> sink)
    {
        while (_incoming.TryDequeue(out var plan))
        {
            Take(plan, simulation.Now);
        }
        foreach (var truck in _trucks.Values)
        {
            foreach (var arrival in truck.Drive.TakeArrivals(until))
            {
                if (arrival.Stop.Kind == Routing.Planning.StopKind.Bin && arrival.Stop.Eta > simulation.Now - TimeSpan.FromMinutes(1))
                {
                    simulation.Empty(arrival.Stop.Place, truck.Stream, arrival.Stop.Eta, sink);
                    StopsServed++;
                }
            }
            while (!truck.Done && truck.NextPosition <= until)
            {
                var at = truck.NextPosition;
                truck.NextPosition += PositionEvery;
                var p = truck.Drive.PositionAt(at);
                if (p.State == DriveState.BeforeStart)
                {
                    continue;
                }
                truck.Done = p.State == DriveState.Finished;
                sink(new SimulatedOutput(SimulatedOutputKind.Message, at, truck.Vehicle, DeviceTopics.Position(truck.Vehicle), Payload(at, p)));
            }
        }
    }

    private void Take(RoutePlanned plan, DateTimeOffset now)
    {
        if (_revisions.TryGetValue(plan.PlanId, out var known) && known >= plan.Revision || !WasteStreams.TryParse(plan.Stream, out var stream))
        {
            return;
        }
        _revisions[plan.PlanId] = plan.Revision;
        // A vehicle the new revision leaves out stops driving the old route.
        foreach (var gone in _trucks.Where(t => t.Value.PlanId == plan.PlanId && plan.Routes.All(r => r.Vehicle != t.Key)).Select(t => t.Key).ToList())
        {
            _trucks.Remove(gone);
        }
        foreach (var route in plan.Routes)
        {
            RouteDrive drive;
            try
            {
                drive = new RouteDrive(RoutingCore.FromInfo(route), servedUntil: now);
            }
            catch (ArgumentException ex)
            {
                // One bad route must not stop the simulated fleet: said, and the truck keeps what it had.
                logger.LogError("Demo trucks: {Plan} revision {Revision}: {Error}; {Vehicle} does not take it", plan.PlanId, plan.Revision, ex.Message, route.Vehicle);
                continue;
            }
            var first = drive.Route.Stops[0].Departs;
            _trucks[route.Vehicle] = new Truck(route.Vehicle, stream, drive) { NextPosition = first > now ? first : now, PlanId = plan.PlanId };
        }
    }

    private static byte[] Payload(DateTimeOffset at, DrivePosition p) => Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $$"""{"v":1,"ts":"{{at.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'}}","lat":{{Math.Round(p.Location.Latitude, 6)}},"lon":{{Math.Round(p.Location.Longitude, 6)}},"speedKmh":{{Math.Round(p.SpeedKmh, 1)}}}"""));

    private sealed class Truck(string vehicle, WasteStream stream, RouteDrive drive)
    {
        public string Vehicle { get; } = vehicle;
        public WasteStream Stream { get; } = stream;
        public RouteDrive Drive { get; } = drive;
        public DateTimeOffset NextPosition { get; set; }
        public bool Done { get; set; }
        public string PlanId { get; init; } = "";
    }
}

/// <summary>Route plans for the demo's trucks (a temporary queue of the demo process).</summary>
internal sealed class DemoTrucksConsumer(DemoTrucks trucks) : IConsumer<RoutePlanned>
{
    public static void Register(IBusRegistrationConfigurator bus) => bus.AddConsumer<DemoTrucksConsumer, DemoTrucksConsumerDefinition>();

    public Task Consume(ConsumeContext<RoutePlanned> context)
    {
        trucks.Planned(context.Message);
        return Task.CompletedTask;
    }
}

internal sealed class DemoTrucksConsumerDefinition() : TemporaryQueueDefinition<DemoTrucksConsumer>("demo-trucks");
