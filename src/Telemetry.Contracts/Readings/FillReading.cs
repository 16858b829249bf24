namespace Telemetry.Contracts.Readings;

/// <summary>A compartment's fill level at a time (measurement <c>fill</c>).</summary>
public sealed record FillReading(
    string BinId, string Community, string Compartment, string Stream, DateTimeOffset Time, long Seq, double Pct)
    : Reading(BinId, Community, Time);
