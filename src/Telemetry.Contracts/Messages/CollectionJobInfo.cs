namespace Telemetry.Contracts.Messages;

/// <summary>
/// A collection job (CONTRACT §6 fields): one bin's compartments of one stream to empty. <see cref="State"/> is <c>requested</c>,
/// <c>planned</c>, <c>completed</c> or <c>cancelled</c>; <see cref="Reason"/> <c>threshold</c>, <c>predicted</c>, <c>overflow</c> or
/// <c>manual</c>; <see cref="Priority"/> <c>normal</c> or <c>urgent</c> (it overflows or carries a critical alert).
/// </summary>
public sealed record CollectionJobInfo(
    string Id, string Bin, IReadOnlyList<string> Compartments, string Stream, string Reason, string Priority,
    DateTimeOffset? PredictedFullAt, DateTimeOffset Deadline, string State, string? Vehicle,
    DateTimeOffset RequestedAt, string RequestedBy, DateTimeOffset? PlannedAt, DateTimeOffset? CompletedAt, DateTimeOffset? CancelledAt);
