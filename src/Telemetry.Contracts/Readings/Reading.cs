namespace Telemetry.Contracts.Readings;

/// <summary>
/// One accepted reading, ready to store. Its identity is (measurement, bin, compartment, time):
/// the same reading delivered twice is stored once.
/// </summary>
public abstract record Reading(string BinId, string Community, DateTimeOffset Time);
