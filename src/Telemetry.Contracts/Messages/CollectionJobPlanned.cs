namespace Telemetry.Contracts.Messages;

/// <summary>
/// Published by the active scheduler after it stored that a route plan took the job: state <c>planned</c>, with its vehicle and the
/// plan's time. A re-plan that moves the job to another vehicle publishes it again. Delivered at least once: a consumer
/// deduplicates by job id, state and vehicle.
/// </summary>
public sealed record CollectionJobPlanned(CollectionJobInfo Job);
