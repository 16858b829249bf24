namespace Telemetry.Contracts.Messages;

/// <summary>
/// What a job command did: <see cref="Status"/> <c>ok</c>, <c>not-found</c> (unknown bin or job), <c>conflict</c> (an open job already
/// covers a compartment, or the job is not open) <c>invalid</c> (<see cref="Detail"/> says why) or <c>unavailable</c> (this scheduler does not act now: retry).
/// </summary>
public sealed record JobCommandResult(string Status, CollectionJobInfo? Job, string? Detail);
