namespace Telemetry.Contracts.Messages;

/// <summary>
/// Published by the active scheduler when a job ends: <c>completed</c> (its compartments' emptying was detected, or a dispatcher
/// said so) or <c>cancelled</c> (a dispatcher). <see cref="By"/>: the key's name, or <c>scheduler</c>. Delivered at least once:
/// a consumer deduplicates by job id and state.
/// </summary>
public sealed record CollectionJobClosed(CollectionJobInfo Job, string By);
