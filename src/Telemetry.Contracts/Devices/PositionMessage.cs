namespace Telemetry.Contracts.Devices;

/// <summary>Payload of <c>vehicles/{vehicleId}/position</c>: a truck's position (WGS 84 degrees) and speed in km/h.</summary>
public sealed record PositionMessage(int V, DateTimeOffset Ts, double Lat, double Lon, double SpeedKmh);
