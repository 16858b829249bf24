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
/// MQTTnet's own connection, with reading held to Receive Maximum on this side too. MQTTnet reads
/// PUBLISH packets into an unbounded queue of its own; a broker that honours Receive Maximum never
/// lets that grow, but one that does not (Mosquitto before 2.0.13 sends a resumed session's whole
/// queue at once, and overshoots under load) would fill memory. Each connection counts the QoS 1/2
/// PUBLISH packets it has handed over and not yet settled (acknowledged, or given up with the
/// connection). A PUBLISH read while that count is at <c>receiveMaximum</c> (one the broker should not
/// have sent), or while the pipeline holds its limit, is held back until there is room, and nothing
/// more is read meanwhile: the socket's receive window fills and TCP makes the broker wait. Other
/// packets (CONNACK, SUBACK, PINGRESP) pass at once, so with a broker that keeps to Receive Maximum
/// reading never pauses and pings are answered even while the store is down.
/// </summary>
internal sealed class GatedChannelAdapterFactory(int receiveMaximum, IngestionPipeline pipeline) : IMqttClientAdapterFactory
{
    private readonly MqttClientAdapterFactory _inner = new();
    private volatile GatedAdapter? _current;

    /// <summary>The connection being established or in use.</summary>
    public GatedAdapter? Current => _current;

    /// <summary>True while the current connection holds back a PUBLISH (and reads nothing) for want of room.</summary>
    public bool IsPaused => _current is { IsWaiting: true } || pipeline.IsFull;

    public IMqttChannelAdapter CreateClientAdapter(MqttClientOptions options, MqttPacketInspector packetInspector, IMqttNetLogger logger)
    {
        var adapter = new GatedAdapter(_inner.CreateClientAdapter(options, packetInspector, logger), receiveMaximum, pipeline);
        _current = adapter;
        return adapter;
    }

    internal sealed class GatedAdapter(IMqttChannelAdapter inner, int receiveMaximum, IngestionPipeline pipeline) : IMqttChannelAdapter
    {
        private readonly BoundedCounter _outstanding = new(receiveMaximum);
        private volatile bool _waiting;

        /// <summary>True while a PUBLISH is held back for want of room.</summary>
        public bool IsWaiting => _waiting;

        /// <summary>One message read on this connection is acknowledged, or will not be on this connection.</summary>
        public void Settled() => _outstanding.Remove();

        public async Task<MqttPacket> ReceivePacketAsync(CancellationToken cancellationToken)
        {
            var packet = await inner.ReceivePacketAsync(cancellationToken);
            if (packet is MqttPublishPacket { QualityOfServiceLevel: > MqttQualityOfServiceLevel.AtMostOnce })
            {
                if (_outstanding.IsFull || pipeline.IsFull)
                {
                    _waiting = true;
                    try
                    {
                        await _outstanding.WaitForRoomAsync(cancellationToken);
                        await pipeline.WaitForRoomAsync(cancellationToken);
                    }
                    finally
                    {
                        _waiting = false;
                    }
                }
                _outstanding.Add();
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
