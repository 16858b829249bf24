using Telemetry.Contracts.Devices;
using Telemetry.Contracts.Readings;

namespace Telemetry.Ingestion.Decoding;

/// <summary>Why a message was refused: one reason, a human-readable detail, and the bin if the topic named a registered one.</summary>
public sealed record Rejection(RejectReason Reason, string Detail, string? BinId)
{
    /// <summary>
    /// True when no check refused the message but the decoder itself failed on it (a bug in the
    /// decoder, or a registry it does not expect). The message is still one <c>malformed-json</c> dead
    /// letter, so nothing is lost, but a correct decoder never sets this: tests assert it stays false
    /// for every input, and operators should report it.
    /// </summary>
    public bool IsDecoderFault { get; init; }
}

/// <summary>
/// The outcome of decoding one MQTT message: either every reading in it (<see cref="Readings"/>),
/// or exactly one <see cref="Rejection"/>. Never both: a message is accepted or rejected whole.
/// </summary>
public sealed class DecodeResult
{
    private DecodeResult(MessageKind kind, string binId, IReadOnlyList<Reading> readings)
    {
        Kind = kind;
        BinId = binId;
        Readings = readings;
    }

    private DecodeResult(Rejection rejection)
    {
        Rejection = rejection;
        BinId = rejection.BinId;
        Readings = [];
    }

    public MessageKind? Kind { get; }
    public string? BinId { get; }
    public IReadOnlyList<Reading> Readings { get; }
    public Rejection? Rejection { get; }
    public bool IsAccepted => Rejection is null;

    public static DecodeResult Accept(MessageKind kind, string binId, IReadOnlyList<Reading> readings) => new(kind, binId, readings);

    public static DecodeResult Reject(RejectReason reason, string detail, string? binId) => new(new Rejection(reason, detail, binId));

    internal static DecodeResult Fault(string detail, string? binId) =>
        new(new Rejection(RejectReason.MalformedJson, detail, binId) { IsDecoderFault = true });

    public override string ToString() => IsAccepted
        ? $"accepted {Kind} from {BinId}: {Readings.Count} reading(s)"
        : $"rejected {Rejection!.Reason.Name()}{(Rejection.IsDecoderFault ? " (decoder fault)" : "")}: {Rejection.Detail}";
}
