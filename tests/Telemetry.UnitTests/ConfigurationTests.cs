using Telemetry.Contracts.Configuration;
using Telemetry.Host.Hosting;

namespace Telemetry.UnitTests;

public class ConfigurationTests
{
    [Theory]
    [InlineData("embedded", true, "127.0.0.1", 1883, false)]
    [InlineData(null, true, "127.0.0.1", 1883, false)]
    [InlineData("mqtt://broker.local:31883", false, "broker.local", 31883, false)]
    [InlineData("mqtt://10.0.0.5", false, "10.0.0.5", 1883, false)]
    [InlineData("mqtts://broker.example", false, "broker.example", 8883, true)]
    public void Mqtt_server_values_parse(string? value, bool embedded, string host, int port, bool tls) =>
        Assert.Equal(new MqttEndpoint(embedded, host, port, tls), MqttEndpoint.Parse(value));

    [Theory]
    [InlineData("tcp://broker:1883")]
    [InlineData("broker:1883")]
    [InlineData("mqtt://user:pw@broker:1883")]
    [InlineData("mqtt://broker:1883/topic")]
    public void Bad_mqtt_server_values_are_refused(string value)
    {
        Assert.False(MqttEndpoint.TryParse(value, out _, out var error));
        Assert.Contains(value, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("90s", 90)]
    [InlineData("15m", 900)]
    [InlineData("6h", 21600)]
    [InlineData("2d", 172800)]
    [InlineData("1.12:00:00", 129600)]
    [InlineData("0.5h", 1800)]
    public void Durations_parse(string text, double seconds)
    {
        Assert.True(Durations.TryParse(text, out var value));
        Assert.Equal(seconds, value.TotalSeconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-5m")]
    [InlineData("5x")]
    [InlineData("soon")]
    public void Bad_durations_are_refused(string text) => Assert.False(Durations.TryParse(text, out _));
}
