namespace Telemetry.Contracts.Messages;

/// <summary>
/// An alert as CONTRACT §6 shows it: per bin, and per compartment where the kind is (null otherwise); raised at the time of the
/// reading that raised it.
/// </summary>
public sealed record AlertInfo(
    string Id, string Bin, string? Compartment, string Kind, string Severity, DateTimeOffset RaisedAt,
    DateTimeOffset? ClearedAt, DateTimeOffset? AcknowledgedAt, string? AcknowledgedBy);
