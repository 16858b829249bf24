namespace Telemetry.Ingestion.Decoding;

/// <summary>
/// Why a device message was rejected (CONTRACT §2). The numeric order is the order of precedence:
/// a message failing several checks gets the first. <see cref="UnknownVehicle"/> is the vehicles' <see cref="UnknownBin"/>
/// (<c>vehicles/{id}/position</c> with an id the registry does not have); a message is a bin's or a vehicle's, so the two
/// never compete.
/// </summary>
public enum RejectReason
{
    TooLarge = 1,
    UnknownTopic,
    UnknownBin,
    UnknownVehicle,
    MalformedJson,
    UnsupportedVersion,
    MissingField,
    InvalidField,
    UnknownCompartment,
    OutOfRange,
    TimestampSkew,
}

public static class RejectReasons
{
    public static readonly IReadOnlyList<RejectReason> All = Enum.GetValues<RejectReason>();

    /// <summary>The reason's name in the contract and the <c>dead_letter</c> measurement's <c>reason</c> tag.</summary>
    public static string Name(this RejectReason reason) => reason switch
    {
        RejectReason.TooLarge => "too-large",
        RejectReason.UnknownTopic => "unknown-topic",
        RejectReason.UnknownBin => "unknown-bin",
        RejectReason.UnknownVehicle => "unknown-vehicle",
        RejectReason.MalformedJson => "malformed-json",
        RejectReason.UnsupportedVersion => "unsupported-version",
        RejectReason.MissingField => "missing-field",
        RejectReason.InvalidField => "invalid-field",
        RejectReason.UnknownCompartment => "unknown-compartment",
        RejectReason.OutOfRange => "out-of-range",
        RejectReason.TimestampSkew => "timestamp-skew",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };
}
