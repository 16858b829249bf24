using Microsoft.Extensions.Configuration;
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

public class RoleSettingsTests
{
    private static Microsoft.Extensions.Configuration.IConfiguration Config(params (string Key, string Value)[] pairs) =>
        new Microsoft.Extensions.Configuration.ConfigurationBuilder()
            .AddInMemoryCollection(pairs.Select(p => new KeyValuePair<string, string?>(p.Key, p.Value)))
            .Build();

    [Theory]
    [InlineData("Storage:Backend", "postgres", "Storage:Backend")]
    [InlineData("Storage:Backend", "influxdb", "Storage:InfluxDb:Url")]
    public void A_wrong_store_setting_names_its_key(string key, string value, string named)
    {
        var ex = Assert.Throws<ConfigurationException>(() => Settings.CreateStore(Config((key, value))));
        Assert.Equal(named, ex.Key);
    }

    [Fact]
    public void InfluxDB_API_2_needs_token_and_org_and_API_1_does_not()
    {
        var v2 = Assert.Throws<ConfigurationException>(() => Settings.CreateStore(Config(("Storage:Backend", "influxdb"), ("Storage:InfluxDb:Url", "http://influx:8086"))));
        Assert.Equal("Storage:InfluxDb:Token", v2.Key);
        var noOrg = Assert.Throws<ConfigurationException>(() => Settings.CreateStore(Config(("Storage:Backend", "influxdb"), ("Storage:InfluxDb:Url", "http://influx:8086"), ("Storage:InfluxDb:Token", "t"))));
        Assert.Equal("Storage:InfluxDb:Org", noOrg.Key);
        var badVersion = Assert.Throws<ConfigurationException>(() => Settings.CreateStore(Config(("Storage:Backend", "influxdb"), ("Storage:InfluxDb:Url", "http://influx:8086"), ("Storage:InfluxDb:ApiVersion", "3"))));
        Assert.Equal("Storage:InfluxDb:ApiVersion", badVersion.Key);
        Assert.Equal("influxdb", Settings.CreateStore(Config(("Storage:Backend", "influxdb"), ("Storage:InfluxDb:Url", "http://influx:8086"), ("Storage:InfluxDb:ApiVersion", "1"))).Name);
        // Settings of a backend that is not selected are not checked.
        Assert.Equal("sqlite", Settings.CreateStore(Config(("Storage:InfluxDb:ApiVersion", "nonsense"))).Name);
    }

    [Theory]
    [InlineData("Ingestion:MaxAge", "soon")]
    [InlineData("Ingestion:MaxAge", "-1.00:00:00")]
    [InlineData("Ingestion:BatchSize", "0")]
    [InlineData("Ingestion:ReceiveMaximum", "70000")]
    [InlineData("Mqtt:SharedGroup", "a/b")]
    [InlineData("Mqtt:Server", "http://broker")]
    public void A_wrong_ingestion_setting_names_its_key(string key, string value)
    {
        var ex = Assert.Throws<ConfigurationException>(() =>
        {
            var config = Config((key, value));
            _ = Settings.Decoder(config);
            _ = Settings.Ingestion(config);
        });
        Assert.Equal(key, ex.Key);
    }

    [Fact]
    public void Defaults_follow_the_contract()
    {
        var s = Settings.Ingestion(Config(("Mqtt:Server", "mqtt://broker:1883")));
        Assert.Equal(("$share/ingest/bins/#", $"telemetry-ingest-{Environment.MachineName}", 5000), (s.SubscriptionTopic, s.ClientId, s.BatchSize));
        Assert.Equal("bins/#", Settings.Ingestion(Config()).SubscriptionTopic); // embedded: no shared subscriptions
        Assert.Equal("bins/#", Settings.Ingestion(Config(("Mqtt:Server", "mqtt://b:1883"), ("Mqtt:SharedGroup", ""))).SubscriptionTopic);
        Assert.Equal(TimeSpan.FromDays(7), Settings.Decoder(Config()).MaxAge);
        Assert.Equal(["ingestion"], Telemetry.Host.Commands.RunCommand.ParseRoles(""));
        Assert.Throws<ConfigurationException>(() => Telemetry.Host.Commands.RunCommand.ParseRoles("ingestion,teleport"));
    }
}
