namespace Telemetry.Contracts.Messages;

/// <summary>Sent by the api to the active scheduler: a dispatcher completes (<see cref="Completed"/>) or cancels a job. Answered with <see cref="JobCommandResult"/>.</summary>
public sealed record CloseCollectionJob(string JobId, bool Completed, string By);
