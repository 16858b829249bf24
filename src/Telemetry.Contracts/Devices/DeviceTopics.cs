namespace Telemetry.Contracts.Devices;

/// <summary>The MQTT topics devices publish to (CONTRACT §2).</summary>
public static class DeviceTopics
{
    public const string Root = "bins";
    public const string FillSuffix = "fill";
    public const string WeightSuffix = "weight";
    public const string StatusSuffix = "status";

    /// <summary>Largest payload a device may send, in bytes.</summary>
    public const int MaxPayloadBytes = 4096;

    public static string Fill(string binId) => $"{Root}/{binId}/{FillSuffix}";
    public static string Weight(string binId) => $"{Root}/{binId}/{WeightSuffix}";
    public static string Status(string binId) => $"{Root}/{binId}/{StatusSuffix}";

    /// <summary>Where trucks publish their positions: <c>vehicles/{vehicleId}/position</c>.</summary>
    public const string VehicleRoot = "vehicles";
    public const string PositionSuffix = "position";

    public static string Position(string vehicleId) => $"{VehicleRoot}/{vehicleId}/{PositionSuffix}";
}
