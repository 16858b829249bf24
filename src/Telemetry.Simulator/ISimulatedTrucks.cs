namespace Telemetry.Simulator;

/// <summary>
/// Trucks that drive in the simulated fleet (the demo's follow the planned routes): <see cref="Advance"/> is called on the
/// simulation's own loop before each slice of simulated time, so a truck empties the compartments it visits
/// (<see cref="FleetSimulation.Empty"/>) and hands its position messages (<c>vehicles/{id}/position</c>, with the vehicle id as
/// <see cref="SimulatedOutput.BinId"/>) to <c>sink</c> in time order with the fleet's own.
/// </summary>
public interface ISimulatedTrucks
{
    void Advance(DateTimeOffset until, FleetSimulation simulation, Action<SimulatedOutput> sink);
}
