using System.Net;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Formatter;
using MQTTnet.Implementations;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using Telemetry.Ingestion.Pipeline;

namespace Telemetry.Ingestion.Mqtt;

/// <summary>
/// MQTTnet's own connection, with reading held to Receive Maximum and to a byte limit on this side
/// too. MQTTnet reads PUBLISH packets into an unbounded queue of its own; a broker that honours
/// Receive Maximum never lets that grow by count, but one that does not (Mosquitto before 2.0.13
/// sends a resumed session's whole queue at once, and overshoots under load) would fill memory, and
/// Receive Maximum says nothing of bytes (the broker may send up to the announced Maximum Packet
/// Size per message). Each connection counts the QoS 1/2 PUBLISH packets it has handed over and not
/// yet settled (acknowledged, or given up with the connection), and their bytes. A PUBLISH read while
/// that count is at <c>receiveMaximum</c> (one the broker should not have sent) or the bytes at
/// <c>byteLimit</c>, or while the pipeline holds its limit, is held back until there is room, and
/// nothing more is read meanwhile: the socket's receive window fills and TCP makes the broker wait.
/// A QoS 0 PUBLISH is not acknowledged, so it waits only for the pipeline's room. Other packets
/// (CONNACK, SUBACK, PINGRESP) pass at once, so with a broker that keeps to Receive Maximum and
/// devices that keep to the contract's sizes reading never pauses and pings are answered even while
/// the store is down.
/// </summary>
internal sealed class GatedChannelAdapterFactory(int receiveMaximum, long byteLimit, IngestionPipeline pipeline) : IMqttClientAdapterFactory
{
    private readonly MqttClientAdapterFactory _inner = new();
    private volatile GatedAdapter? _current;

    /// <summary>The connection being established or in use.</summary>
    public GatedAdapter? Current => _current;

    /// <summary>True while the current connection holds back a PUBLISH (and reads nothing) for want of room.</summary>
    public bool IsPaused => _current is { IsWaiting: true } || pipeline.IsFull;

    public IMqttChannelAdapter CreateClientAdapter(MqttClientOptions options, MqttPacketInspector packetInspector, IMqttNetLogger logger)
    {
        var adapter = new GatedAdapter(_inner.CreateClientAdapter(options, packetInspector, logger), receiveMaximum, byteLimit, pipeline);
        _current = adapter;
        return adapter;
    }

    internal sealed class GatedAdapter(IMqttChannelAdapter inner, int receiveMaximum, long byteLimit, IngestionPipeline pipeline) : IMqttChannelAdapter
    {
        private readonly BoundedCounter _outstanding = new(receiveMaximum, byteLimit);
        private volatile bool _waiting;

        /// <summary>True while a PUBLISH is held back for want of room.</summary>
        public bool IsWaiting => _waiting;

        /// <summary>Messages (QoS 1/2) read on this connection and not yet settled.</summary>
        public int Outstanding => _outstanding.Count;

        /// <summary>Their bytes (payloads and topics).</summary>
        public long OutstandingBytes => _outstanding.Bytes;

        /// <summary>
        /// One QoS 1/2 message read on this connection is acknowledged, or will not be on this
        /// connection; <paramref name="size"/> is its <see cref="InboundMessage.Size"/>.
        /// </summary>
        public void Settled(long size) => _outstanding.Remove(size);

        private long _packetsReceived;

        /// <summary>Packets read on this connection so far: a connection that delivers is alive, answered ping or not.</summary>
        public long PacketsReceived => Interlocked.Read(ref _packetsReceived);

        public async Task<MqttPacket> ReceivePacketAsync(CancellationToken cancellationToken)
        {
            var packet = await inner.ReceivePacketAsync(cancellationToken);
            Interlocked.Increment(ref _packetsReceived);
            if (packet is MqttPublishPacket publish)
            {
                var acknowledged = publish.QualityOfServiceLevel > MqttQualityOfServiceLevel.AtMostOnce;
                if ((acknowledged && _outstanding.IsFull) || pipeline.IsFull)
                {
                    _waiting = true;
                    try
                    {
                        if (acknowledged)
                        {
                            await _outstanding.WaitForRoomAsync(cancellationToken);
                        }
                        await pipeline.WaitForRoomAsync(cancellationToken);
                    }
                    finally
                    {
                        _waiting = false;
                    }
                }
                if (acknowledged)
                {
                    // Counted here, before MQTTnet queues the packet, so the bound holds however far its
                    // dispatch lags behind reading. Only this loop adds, so the room seen above is still there.
                    _outstanding.Add(InboundMessage.SizeOf(publish.Topic, publish.Payload.Length));
                }
            }
            return packet;
        }

        public long BytesReceived => inner.BytesReceived;
        public long BytesSent => inner.BytesSent;
        public X509Certificate2 ClientCertificate => inner.ClientCertificate;
        public EndPoint RemoteEndPoint => inner.RemoteEndPoint;
        public EndPoint LocalEndPoint => inner.LocalEndPoint;
        public bool IsSecureConnection => inner.IsSecureConnection;
        public MqttPacketFormatterAdapter PacketFormatterAdapter => inner.PacketFormatterAdapter;

        public Task ConnectAsync(CancellationToken cancellationToken) => inner.ConnectAsync(cancellationToken);

        public Task DisconnectAsync(CancellationToken cancellationToken) => inner.DisconnectAsync(cancellationToken);

        public void ResetStatistics() => inner.ResetStatistics();

        public Task SendPacketAsync(MqttPacket packet, CancellationToken cancellationToken) => inner.SendPacketAsync(packet, cancellationToken);

        public void Dispose() => inner.Dispose();
    }
}
