namespace Telemetry.Contracts.Readings;

/// <summary>
/// One accepted reading, ready to store. Its identity is (measurement, bin, compartment, time):
/// the same reading delivered twice is stored once. <see cref="BinId"/> is the id of the device that sent it: a bin,
/// or a vehicle for a <see cref="VehiclePositionReading"/>.
/// </summary>
public abstract record Reading(string BinId, string Community, DateTimeOffset Time);
