namespace Telemetry.Contracts.Messages;

/// <summary>
/// Sent every 250 ms by each routing worker to the lease queue of every stream it may plan (<c>telemetry-routing-{stream}</c>,
/// single active consumer): the one process the broker delivers a stream's pings to plans that stream. Kept 5 s at most.
/// </summary>
public sealed record RoutingLeasePing(string Stream, string Instance, DateTimeOffset SentAt);
