namespace Telemetry.Contracts.Readings;

/// <summary>
/// A truck's position at a time (measurement <c>vehicle_position</c>), from <c>vehicles/{vehicleId}/position</c>: WGS 84
/// degrees and its speed in km/h; <see cref="Stream"/> is the waste stream the registry gives the vehicle. A device reading
/// like the bins' (the same durable path from MQTT to the store), so the base record's <see cref="Reading.BinId"/> holds the
/// device id, here the vehicle's, and its community is empty. Its identity is (vehicle, time).
/// </summary>
public sealed record VehiclePositionReading(string VehicleId, string Stream, DateTimeOffset Time, double Lat, double Lon, double SpeedKmh)
    : Reading(VehicleId, "", Time);
