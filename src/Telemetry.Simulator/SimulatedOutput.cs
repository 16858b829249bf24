namespace Telemetry.Simulator;

/// <summary>What the simulated fleet does at a moment: publish a message, or a device dropping off / coming back.</summary>
public enum SimulatedOutputKind
{
    Message,
    WentSilent,
    CameBack,
}

/// <summary>One output of <see cref="FleetSimulation"/>, in simulated time order.</summary>
public sealed record SimulatedOutput(SimulatedOutputKind Kind, DateTimeOffset At, string BinId, string? Topic = null, byte[]? Payload = null, bool Retain = false);
