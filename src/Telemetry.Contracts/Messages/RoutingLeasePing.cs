namespace Telemetry.Contracts.Messages;

/// <summary>
/// Sent every 250 ms by each routing worker to its lease queue <see cref="Queue"/> (<c>telemetry-routing</c>, or
/// <c>telemetry-routing-{streams}</c> for a worker of some streams; single active consumer): the one process the broker delivers
/// its pings to plans those streams. Kept 5 s at most.
/// </summary>
public sealed record RoutingLeasePing(string Queue, string Instance, DateTimeOffset SentAt);
