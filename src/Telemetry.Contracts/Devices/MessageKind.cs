namespace Telemetry.Contracts.Devices;

/// <summary>The three kinds of device message, one per topic.</summary>
public enum MessageKind
{
    Fill,
    Weight,
    Status,
}
