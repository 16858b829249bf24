namespace Telemetry.Contracts.Devices;

/// <summary>Payload of <c>bins/{binId}/status</c>: device health. Every field but <see cref="V"/> is optional.</summary>
public sealed record StatusMessage(
    int V,
    DateTimeOffset? Ts = null,
    long? Seq = null,
    bool? Online = null,
    double? BatteryPct = null,
    double? TempC = null,
    bool? Tilt = null,
    bool? DoorOpen = null);
