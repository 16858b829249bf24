namespace Telemetry.Contracts.Devices;

/// <summary>Payload of <c>bins/{binId}/weight</c>: net load per compartment, kg.</summary>
public sealed record WeightMessage(int V, DateTimeOffset Ts, long Seq, IReadOnlyList<WeightCompartment> Compartments);

/// <summary>One compartment's load; <see cref="DepositKg"/> is set when the message follows a deposit.</summary>
public sealed record WeightCompartment(string Id, double NetKg, double? DepositKg = null);
