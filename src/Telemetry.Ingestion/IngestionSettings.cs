using Telemetry.Contracts.Configuration;

namespace Telemetry.Ingestion;

/// <summary>Everything the ingestion role needs to know, checked at start (<c>Mqtt:*</c>, <c>Ingestion:*</c>).</summary>
public sealed record IngestionSettings
{
    public required MqttEndpoint Broker { get; init; }
    public string? Username { get; init; }
    public string? Password { get; init; }

    /// <summary>Shared-subscription group on external brokers (<c>Mqtt:SharedGroup</c>).</summary>
    public string SharedGroup { get; init; } = "ingest";

    /// <summary>This replica's client id (<c>Mqtt:ClientId</c>): its persistent session on the broker.</summary>
    public required string ClientId { get; init; }

    /// <summary>How long the broker keeps this replica's session (and queues its messages) while it is away.</summary>
    public TimeSpan SessionExpiry { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Readings per store write (InfluxDB's recommended 5,000).</summary>
    public int BatchSize { get; init; } = 5000;

    /// <summary>A batch is written when it is this old even if not full.</summary>
    public TimeSpan BatchAge { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// MQTT 5 Receive Maximum: messages the broker may have in flight to us unacknowledged. It bounds
    /// memory and is the backpressure: when the store stalls, acknowledgements stop and the broker
    /// stops sending. At least two batches' worth keeps the writer busy.
    /// </summary>
    public int ReceiveMaximum { get; init; } = 20000;

    /// <summary>
    /// <c>$share/{group}/bins/#</c> on external brokers; <c>bins/#</c> on the embedded one (no shared
    /// subscriptions) or when the group is empty (a single replica: a plain subscription survives a
    /// Mosquitto restart, a shared one does not).
    /// </summary>
    public string SubscriptionTopic => Broker.Embedded || string.IsNullOrEmpty(SharedGroup) ? "bins/#" : $"$share/{SharedGroup}/bins/#";

    public static string DefaultClientId() => $"telemetry-ingest-{Environment.MachineName}";
}
