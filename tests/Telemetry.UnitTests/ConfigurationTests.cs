using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Telemetry.Ingestion;
using Telemetry.Ingestion.Hosting;
using Telemetry.Storage.Hosting;
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
    /// <summary>
    /// The one line a process started with these --Key=value switches prints before exiting with code 2,
    /// or null when every setting is fine: the real composition of <c>run</c>, options resolved as at start.
    /// </summary>
    private static string? Problem(params string[] tokens)
    {
        try
        {
            var builder = TelemetryHost.CreateBuilder(tokens, web: false);
            builder.AddTelemetryStore();
            builder.AddIngestion();
            using var host = TelemetryHost.Build(builder);
            _ = host.Services.GetRequiredService<IOptions<StorageOptions>>().Value;
            _ = host.Services.GetRequiredService<IOptions<MqttOptions>>().Value;
            _ = host.Services.GetRequiredService<IOptions<IngestionOptions>>().Value;
            _ = host.Services.GetRequiredService<IOptions<HostSettings>>().Value;
            _ = host.Services.GetRequiredService<IOptions<HealthSettings>>().Value;
            return null;
        }
        catch (Exception ex) when (TelemetryHost.ConfigurationProblem(ex) is { } line)
        {
            return line;
        }
    }

    private static IngestionSettings Ingestion(params string[] tokens)
    {
        var builder = TelemetryHost.CreateBuilder(tokens, web: false);
        builder.AddTelemetryStore();
        builder.AddIngestion();
        using var host = TelemetryHost.Build(builder);
        return host.Services.GetRequiredService<IngestionSettings>();
    }

    [Theory]
    [InlineData("--Storage:Backend=postgres", "Storage:Backend")]
    [InlineData("--Storage:Backend=influxdb", "Storage:InfluxDb:Url")]
    [InlineData("--Ingestion:MaxAge=soon", "Ingestion:MaxAge")]
    [InlineData("--Ingestion:MaxAge=-1.00:00:00", "Ingestion:MaxAge")]
    [InlineData("--Ingestion:BatchSize=0", "Ingestion:BatchSize")]
    [InlineData("--Ingestion:BatchSize=many", "Ingestion:BatchSize")]
    [InlineData("--Ingestion:ReceiveMaximum=70000", "Ingestion:ReceiveMaximum")]
    [InlineData("--Ingestion:MaxPacketSize=100", "Ingestion:MaxPacketSize")]
    [InlineData("--Mqtt:SharedGroup=a/b", "Mqtt:SharedGroup")]
    [InlineData("--Mqtt:Server=http://broker", "Mqtt:Server")]
    [InlineData("--Host:ShutdownTimeout=00:00:00", "Host:ShutdownTimeout")]
    [InlineData("--Host:ProgressFormat=xml", "Host:ProgressFormat")]
    [InlineData("--Health:Url=ftp://x:1", "Health:Url")]
    [InlineData("--Fleet:Registry=/nonexistent/registry.json", "Fleet:Registry")]
    public void A_wrong_setting_names_its_key(string token, string key)
    {
        var line = Problem(token);
        Assert.NotNull(line);
        Assert.StartsWith($"Configuration error: {key}: ", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--Storage:Backnd=influxdb", "Storage:Backnd", "Storage:Backend")]
    [InlineData("--Mqtt:Servr=mqtt://b:1883", "Mqtt:Servr", "Mqtt:Server")]
    [InlineData("--Ingestion:BatchSise=10", "Ingestion:BatchSise", "Ingestion:BatchSize")]
    [InlineData("--Alerts:Nonsense=1", "Alerts:Nonsense", null)]
    public void An_unknown_key_in_an_owned_section_is_an_error(string token, string key, string? suggestion)
    {
        var line = Problem(token);
        Assert.NotNull(line);
        Assert.StartsWith($"Configuration error: {key}: unknown key", line, StringComparison.Ordinal);
        if (suggestion is not null)
        {
            Assert.Contains($"did you mean {suggestion}?", line, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("--sped")]
    [InlineData("3600")]
    [InlineData("--Mqtt:Server")]
    public void A_token_that_is_not_a_setting_is_an_error(string token)
    {
        var ex = Assert.Throws<ConfigurationException>(() => CommandLineConfiguration.SettingTokens([token], ["--speed"]));
        Assert.Equal(token, ex.Key);
        if (token == "--sped")
        {
            Assert.Contains("did you mean --speed?", ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_mistyped_option_written_like_a_setting_is_an_error()
    {
        var ex = Assert.Throws<ConfigurationException>(() => CommandLineConfiguration.SettingTokens(["--sped=3600"], ["--speed", "--seed"]));
        Assert.Contains("did you mean --speed?", ex.Message, StringComparison.Ordinal);
        Assert.Equal(["--Mqtt:Server=mqtt://b:1883", "--Urls=http://127.0.0.1:0"], CommandLineConfiguration.SettingTokens(["--Mqtt:Server=mqtt://b:1883", "--Urls=http://127.0.0.1:0"], ["--speed"]));
    }

    [Fact]
    public void A_value_named_like_an_owned_section_is_not_a_key_of_it()
    {
        // Some shells export HOST=…; as configuration that is the value of the section "Host" itself.
        Assert.Null(Problem("--Host=some-machine", "--Api=x"));
    }

    [Fact]
    public void Known_keys_of_every_owned_section_are_accepted()
    {
        Assert.Null(Problem("--Api:Keys:alice:Role=dispatcher", "--Api:Keys:alice:Sha256=00", "--Bus:Transport=inmemory", "--Scheduling:ThresholdPct=80",
            "--Health:Url=http://127.0.0.1:0", "--Host:ProgressFormat=json", "--Logging:LogLevel:Default=Warning", "--Unrelated:Key=1"));
    }

    [Fact]
    public void InfluxDB_API_2_needs_token_and_org_and_API_1_does_not()
    {
        Assert.StartsWith("Configuration error: Storage:InfluxDb:Token:", Problem("--Storage:Backend=influxdb", "--Storage:InfluxDb:Url=http://influx:8086"), StringComparison.Ordinal);
        Assert.StartsWith("Configuration error: Storage:InfluxDb:Org:", Problem("--Storage:Backend=influxdb", "--Storage:InfluxDb:Url=http://influx:8086", "--Storage:InfluxDb:Token=t"), StringComparison.Ordinal);
        Assert.StartsWith("Configuration error: Storage:InfluxDb:ApiVersion:", Problem("--Storage:Backend=influxdb", "--Storage:InfluxDb:Url=http://influx:8086", "--Storage:InfluxDb:ApiVersion=3"), StringComparison.Ordinal);
        Assert.Null(Problem("--Storage:Backend=influxdb", "--Storage:InfluxDb:Url=http://influx:8086", "--Storage:InfluxDb:ApiVersion=1"));
        // Settings of a backend that is not selected are not checked.
        Assert.Null(Problem("--Storage:InfluxDb:ApiVersion=nonsense"));
    }

    [Fact]
    public void Defaults_follow_the_contract()
    {
        var s = Ingestion("--Mqtt:Server=mqtt://broker:1883");
        Assert.Equal(("bins/#", $"telemetry-ingest-{Environment.MachineName}", 5000), (s.SubscriptionTopic, s.ClientId, s.BatchSize));
        Assert.Equal("bins/#", Ingestion().SubscriptionTopic); // embedded: no shared subscriptions
        Assert.Equal("$share/ingest/bins/#", Ingestion("--Mqtt:Server=mqtt://b:1883", "--Mqtt:SharedGroup=ingest").SubscriptionTopic);
        Assert.Equal(["ingestion", "scheduler", "routing", "api"], Telemetry.Host.Commands.RunCommand.ParseRoles(""));
        Assert.Equal(["scheduler"], Telemetry.Host.Commands.RunCommand.ParseRoles("scheduler"));
        Assert.Equal(["routing"], Telemetry.Host.Commands.RunCommand.ParseRoles("routing"));
        Assert.Throws<ConfigurationException>(() => Telemetry.Host.Commands.RunCommand.ParseRoles("ingestion,teleport"));
    }

    [Fact]
    public void Later_sources_override_earlier_ones()
    {
        // The command line wins over everything before it (appsettings.json ships Mqtt:Server=embedded).
        Assert.Equal("b2", Ingestion("--Mqtt:Server=mqtt://b2:1883").Broker.Host);
    }
}
