using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Telemetry.IntegrationTests.Ingestion;

namespace Telemetry.IntegrationTests;

/// <summary>deploy/ enforces that a device publishes only under bins/{its id}/; the test broker runs the same ACL.</summary>
public class DeviceIdentityTests
{
    [Fact]
    public async Task A_device_cannot_publish_for_another_bin()
    {
        var broker = TestServices.MosquittoWithAcl;
        using var device = new MqttClientFactory().CreateMqttClient();
        await device.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer(broker.Host, broker.Port)
            .WithClientId("JY-001").WithCredentials("JY-001", "test-JY-001")
            .WithProtocolVersion(MqttProtocolVersion.V500).Build());

        var own = await device.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("bins/JY-001/status")
            .WithPayload("""{"v":1,"online":true}""").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        var other = await device.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("bins/JY-002/status")
            .WithPayload("""{"v":1,"online":false}""").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

        Assert.Contains(own.ReasonCode, new[] { MqttClientPublishReasonCode.Success, MqttClientPublishReasonCode.NoMatchingSubscribers });
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, other.ReasonCode);
    }

    [Fact]
    public async Task A_device_with_a_wrong_password_is_refused()
    {
        var broker = TestServices.MosquittoWithAcl;
        using var device = new MqttClientFactory().CreateMqttClient();
        var result = await device.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer(broker.Host, broker.Port)
            .WithClientId("JY-001").WithCredentials("JY-001", "wrong")
            .WithProtocolVersion(MqttProtocolVersion.V500).Build());
        Assert.Contains(result.ResultCode, new[] { MqttClientConnectResultCode.BadUserNameOrPassword, MqttClientConnectResultCode.NotAuthorized });
        Assert.False(device.IsConnected);
    }

    [Theory]
    // Mosquitto 2.0 answers a wrong password with "not authorized".
    [InlineData("telemetry-ingest", "wrong", "Mqtt:Password")]
    // No credentials at all, on a listener that requires them.
    [InlineData("", "", "Mqtt:Username")]
    public async Task Ingestion_refused_by_the_broker_stops_at_once_with_exit_code_2_naming_the_key(string username, string password, string key)
    {
        var db = Path.Combine(Path.GetTempPath(), $"refused-{Guid.NewGuid():N}.db");
        try
        {
            var settings = new Dictionary<string, string>
            {
                ["Mqtt:Server"] = TestServices.MosquittoWithAcl.ToString(),
                ["Mqtt:ClientId"] = "ingest-refused-" + Guid.NewGuid().ToString("N")[..6],
                ["Mqtt:SharedGroup"] = "",
                ["Storage:Backend"] = "sqlite",
                ["Storage:Sqlite:Path"] = db,
            };
            if (username.Length > 0)
            {
                settings["Mqtt:Username"] = username;
                settings["Mqtt:Password"] = password;
            }
            await using var ingestion = IngestionProcess.Launch(settings);
            // Within the first connection, not after a minute of retries.
            var code = await ingestion.WaitForExitAsync(TimeSpan.FromSeconds(60));
            Assert.True(code == 2, $"exit code {code}:\n{ingestion.Output}");
            Assert.Contains(key, ingestion.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("subscribed to", ingestion.Output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(db);
        }
    }
}
