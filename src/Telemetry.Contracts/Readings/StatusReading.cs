namespace Telemetry.Contracts.Readings;

/// <summary>
/// A device's health at a time (measurement <c>status</c>); only the fields the device gave are set.
/// <see cref="TimeFromDevice"/> is false when the payload had no <c>ts</c> and the receive time was used.
/// </summary>
public sealed record StatusReading(
    string BinId,
    string Community,
    DateTimeOffset Time,
    long? Seq,
    bool TimeFromDevice,
    bool? Online,
    double? BatteryPct,
    double? TempC,
    bool? Tilt,
    bool? DoorOpen)
    : Reading(BinId, Community, Time);
