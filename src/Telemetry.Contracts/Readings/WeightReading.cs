namespace Telemetry.Contracts.Readings;

/// <summary>A compartment's net load at a time, with the deposit that caused it if any (measurement <c>weight</c>).</summary>
public sealed record WeightReading(
    string BinId, string Community, string Compartment, string Stream, DateTimeOffset Time, long Seq, double NetKg, double? DepositKg)
    : Reading(BinId, Community, Time);
