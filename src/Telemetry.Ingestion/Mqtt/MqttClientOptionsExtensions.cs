using MQTTnet;
using MQTTnet.Formatter;
using Telemetry.Contracts.Configuration;

namespace Telemetry.Ingestion.Mqtt;

/// <summary>The part of every MQTT 5 connection to a configured broker that does not vary: address, TLS, credentials.</summary>
public static class MqttClientOptionsExtensions
{
    public static MqttClientOptionsBuilder ForBroker(this MqttClientOptionsBuilder builder, MqttEndpoint broker, string clientId, string? username, string? password)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(broker);
        builder = builder
            .WithTcpServer(broker.Host, broker.Port)
            .WithClientId(clientId)
            .WithProtocolVersion(MqttProtocolVersion.V500);
        if (broker.Tls)
        {
            builder = builder.WithTlsOptions(o => o.UseTls());
        }
        return username is null ? builder : builder.WithCredentials(username, password);
    }
}
