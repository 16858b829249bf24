namespace Telemetry.Contracts.Devices;

/// <summary>The kinds of device message, one per topic: a bin's three and a vehicle's position.</summary>
public enum MessageKind
{
    Fill,
    Weight,
    Status,
    Position,
}
