namespace Telemetry.Contracts.Messages;

/// <summary>
/// Published by the active scheduler after an alert event is stored: <see cref="Type"/> is <c>raised</c>, <c>cleared</c>,
/// <c>escalated</c>, <c>refired</c> or <c>acknowledged</c>, <see cref="At"/> when it happened, <see cref="Alert"/> the alert after it.
/// Delivered at least once: a consumer deduplicates by (alert id, type, at).
/// </summary>
public sealed record AlertChanged(string Type, DateTimeOffset At, AlertInfo Alert);
