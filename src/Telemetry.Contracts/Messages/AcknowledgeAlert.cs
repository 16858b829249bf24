namespace Telemetry.Contracts.Messages;

/// <summary>Sent by the api to the active scheduler (queue <c>telemetry-scheduler</c>): a dispatcher acknowledges an alert. Answered with <see cref="AlertCommandResult"/>.</summary>
public sealed record AcknowledgeAlert(string AlertId, string By);
