namespace Telemetry.Contracts.Messages;

/// <summary>
/// Published by the active scheduler after a job is stored: the scheduler decided it at a tick, or a dispatcher asked for it.
/// The routing worker plans it. Delivered at least once: a consumer deduplicates by job id.
/// </summary>
public sealed record CollectionJobRequested(CollectionJobInfo Job);
