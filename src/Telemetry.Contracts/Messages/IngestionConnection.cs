namespace Telemetry.Contracts.Messages;

/// <summary>
/// Published by an ingestion replica when it loses or regains the MQTT broker, and every 30 s while it is away: while one is
/// away, and for 3 reporting intervals after, silence from the bins is no reason for offline alerts (one outage must not raise
/// 55 of them). <see cref="Source"/> as in <see cref="ReadingsStored"/>.
/// </summary>
public sealed record IngestionConnection(string Source, bool Connected, DateTimeOffset At);
