using Telemetry.Contracts.Configuration;
using Telemetry.Contracts.Devices;

namespace Telemetry.Ingestion;

/// <summary>Everything the ingestion role needs to know, checked at start (<c>Mqtt:*</c>, <c>Ingestion:*</c>).</summary>
public sealed record IngestionSettings
{
    public required MqttEndpoint Broker { get; init; }
    public string? Username { get; init; }
    public string? Password { get; init; }

    /// <summary>
    /// Shared-subscription group on external brokers (<c>Mqtt:SharedGroup</c>). Empty by default: a
    /// plain subscription, one replica, the only setup whose queue survives a Mosquitto restart.
    /// </summary>
    public string SharedGroup { get; init; } = "";

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
    /// stops sending. At least two batches' worth keeps the writer busy: 5,000 messages are about 3.8 batches of
    /// 5,000 readings; every message held longer survives garbage collections and is copied by each of them.
    /// </summary>
    public int ReceiveMaximum { get; init; } = 5000;

    /// <summary>
    /// MQTT 5 Maximum Packet Size announced at CONNECT (<c>Ingestion:MaxPacketSize</c>), in bytes of
    /// the whole packet (header, topic, properties, payload). The broker drops a larger packet instead
    /// of sending it, so it never reaches ingestion (CONTRACT §2); between the contract's 4,096-byte
    /// payloads and this size a message arrives and becomes a <c>too-large</c> dead letter. At least
    /// <see cref="MinimumPacketSize"/>, so that no valid message can be dropped.
    /// </summary>
    public int MaximumPacketSize { get; init; } = 65_536;

    /// <summary>
    /// The smallest sensible <see cref="MaximumPacketSize"/>: a contract-size payload (4,096 bytes)
    /// with its topic, properties and header fits with room to spare.
    /// </summary>
    public const int MinimumPacketSize = 8192;

    /// <summary>MQTT's own largest packet (a four-byte remaining length).</summary>
    public const int LargestPacketSize = 268_435_455;

    /// <summary>
    /// Bytes (payload and topic) one connection may have read and not yet settled; the pipeline holds
    /// at most twice this, like its message limit. Receive Maximum alone bounds messages, not bytes: a
    /// window of 20,000 messages of up to 64 KiB each (what the broker may send below
    /// <see cref="MaximumPacketSize"/>) would be 1.3 GB. The limit is instead the window of the
    /// largest messages the contract allows (4,096-byte payloads, plus 256 bytes for the topic), so
    /// valid traffic is never held back by bytes, only by Receive Maximum as before, and oversized
    /// messages cannot take more memory than a full window of valid ones (83 MiB per connection at
    /// the defaults). A single message above the limit still passes, alone.
    /// </summary>
    public long ConnectionByteLimit => (long)Math.Max(1, ReceiveMaximum) * (DeviceTopics.MaxPayloadBytes + 256);

    /// <summary>
    /// <c>$share/{group}/bins/#</c> on external brokers; <c>bins/#</c> on the embedded one (no shared
    /// subscriptions) or when the group is empty (a single replica: a plain subscription survives a
    /// Mosquitto restart, a shared one does not).
    /// </summary>
    public string SubscriptionTopic => Shared("bins/#");

    /// <summary>
    /// Every topic filter ingestion subscribes to, in one SUBSCRIBE: the bins' (<see cref="SubscriptionTopic"/>) and the trucks'
    /// positions, <c>vehicles/+/position</c>, plain or shared as the bins' are.
    /// </summary>
    public IReadOnlyList<string> SubscriptionTopics => [SubscriptionTopic, Shared(VehicleFilter)];

    /// <summary>The trucks' topic filter (CONTRACT §2: <c>vehicles/{vehicleId}/position</c>).</summary>
    public const string VehicleFilter = "vehicles/+/position";

    private string Shared(string filter) => Broker.Embedded || string.IsNullOrEmpty(SharedGroup) ? filter : $"$share/{SharedGroup}/{filter}";

    public static string DefaultClientId() => $"telemetry-ingest-{Environment.MachineName}";
}
