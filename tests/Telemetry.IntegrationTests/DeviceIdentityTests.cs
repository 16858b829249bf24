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

    // A wrong password is Hosting/FailLoudlyProcessTests' (exit 2 naming Mqtt:Password); this is its
    // other half: no credentials at all, on a listener that requires them.
    [Fact]
    public async Task Ingestion_without_credentials_on_a_listener_that_requires_them_exits_2_naming_Mqtt_Username()
    {
        const string key = "Mqtt:Username";
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
            await using var ingestion = await IngestionProcess.StartAsync(settings, waitConnected: false);
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
