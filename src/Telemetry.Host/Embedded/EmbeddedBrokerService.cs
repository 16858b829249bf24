using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Telemetry.Ingestion.Hosting;

namespace Telemetry.Host.Embedded;

/// <summary>
/// The embedded MQTT broker as a hosted service. Registered before every role, so it starts first
/// and stops last (the host stops services in reverse order): ingestion drains and disconnects, and
/// the simulated devices flush, while the broker is still up.
/// </summary>
internal sealed class EmbeddedBrokerService(IOptions<MqttOptions> mqtt, ILogger<EmbeddedBroker> logger) : IHostedService, IAsyncDisposable
{
    private EmbeddedBroker? _broker;

    public EmbeddedBroker? Broker => _broker;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _broker = new EmbeddedBroker(mqtt.Value.Endpoint().Port, logger);
        await _broker.StartAsync(cancellationToken);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_broker is not null)
        {
            await _broker.DisposeAsync();
            _broker = null;
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None);
}
