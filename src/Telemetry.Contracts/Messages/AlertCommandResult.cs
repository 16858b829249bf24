namespace Telemetry.Contracts.Messages;

/// <summary>What an acknowledgement did: <see cref="Status"/> <c>acknowledged</c>, <c>not-found</c> or <c>already-cleared</c>.</summary>
public sealed record AlertCommandResult(string Status, AlertInfo? Alert);
