using System.Net;
using Microsoft.Extensions.Logging;
using MQTTnet.Server;

namespace Telemetry.Host.Embedded;

/// <summary>
/// The in-process MQTT broker of the embedded defaults (MQTTnet.Server) on 127.0.0.1, with
/// persistent sessions so a restarted subscriber finds its queued messages. No shared
/// subscriptions: a production deployment uses Mosquitto or another MQTT 5 broker.
/// </summary>
public sealed class EmbeddedBroker(int port, ILogger logger) : IAsyncDisposable
{
    // A subscriber that is away must not lose what it subscribed to: queue generously rather than drop.
    private const int MaxPendingMessagesPerClient = 1_000_000;

    private MqttServer? _server;

    public int Port => port;

    public async Task StartAsync(CancellationToken ct)
    {
        var options = new MqttServerOptionsBuilder()
            .WithDefaultEndpoint()
            .WithDefaultEndpointBoundIPAddress(IPAddress.Loopback)
            .WithDefaultEndpointBoundIPV6Address(IPAddress.None)
            .WithDefaultEndpointPort(port)
            .WithPersistentSessions(true)
            .WithMaxPendingMessagesPerClient(MaxPendingMessagesPerClient)
            .Build();
        _server = new MqttServerFactory().CreateMqttServer(options);
        await _server.StartAsync().WaitAsync(ct);
        logger.LogInformation("Embedded MQTT broker listening on 127.0.0.1:{Port}", port);
    }

    public int ConnectedClients => _server is null ? 0 : _server.GetClientsAsync().GetAwaiter().GetResult().Count;

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.StopAsync();
            _server.Dispose();
            _server = null;
        }
    }
}
