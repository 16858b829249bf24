namespace Telemetry.Contracts.Messages;

/// <summary>What an acknowledgement did: <see cref="Status"/> <c>acknowledged</c>, <c>not-found</c>, <c>already-cleared</c> or <c>unavailable</c> (this scheduler does not act now: retry).</summary>
public sealed record AlertCommandResult(string Status, AlertInfo? Alert);
