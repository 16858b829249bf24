namespace Telemetry.Contracts.Devices;

/// <summary>Payload of <c>bins/{binId}/fill</c>: fill level per compartment, 0 to 100 %.</summary>
public sealed record FillMessage(int V, DateTimeOffset Ts, long Seq, IReadOnlyList<FillCompartment> Compartments);

/// <summary>One compartment's fill level in a <see cref="FillMessage"/>.</summary>
public sealed record FillCompartment(string Id, double FillPct);
