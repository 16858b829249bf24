namespace Telemetry.Contracts.Messages;

/// <summary>
/// Sent every second by each scheduler to its lease queue (single active consumer): the one process the broker delivers them to
/// holds the lease. Kept 5 s at most.
/// </summary>
public sealed record SchedulerLeasePing(string Instance, DateTimeOffset SentAt);
