using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Telemetry.IntegrationTests.Ingestion;

namespace Telemetry.IntegrationTests;

/// <summary>deploy/ enforces that a device publishes only under bins/{its id}/ (a truck: only vehicles/{its id}/position); the test broker runs the same ACL.</summary>
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

    [Theory]
    [InlineData(false)] // the test broker's ACL
    [InlineData(true)] // deploy/'s own ACL file, on a listener configured like deploy/
    public async Task A_truck_may_publish_only_its_own_position(bool likeDeploy)
    {
        var broker = likeDeploy ? TestServices.MosquittoLikeDeploy : TestServices.MosquittoWithAcl;
        using var truck = new MqttClientFactory().CreateMqttClient();
        var connected = await truck.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer(broker.Host, broker.Port)
            .WithClientId("REC-01").WithCredentials("REC-01", "test-REC-01")
            .WithProtocolVersion(MqttProtocolVersion.V500).Build());
        Assert.Equal(MqttClientConnectResultCode.Success, connected.ResultCode);

        async Task<MqttClientPublishReasonCode> PublishAsync(string topic) => (await truck.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic)
            .WithPayload("""{"v":1,"ts":"2026-11-29T08:15:00Z","lat":36.97,"lon":117.18,"speedKmh":32.5}""")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build())).ReasonCode;

        Assert.Contains(await PublishAsync("vehicles/REC-01/position"), new[] { MqttClientPublishReasonCode.Success, MqttClientPublishReasonCode.NoMatchingSubscribers });
        // As another truck, on another topic of its own, or as a bin: dropped by the broker.
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, await PublishAsync("vehicles/REC-02/position"));
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, await PublishAsync("vehicles/REC-01/status"));
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, await PublishAsync("bins/JY-001/fill"));
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, await PublishAsync("bins/JY-001/status"));
        Assert.True(truck.IsConnected);

        // And a bin may not publish a truck's position.
        using var bin = new MqttClientFactory().CreateMqttClient();
        await bin.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port)
            .WithClientId("JY-001").WithCredentials("JY-001", "test-JY-001").WithProtocolVersion(MqttProtocolVersion.V500).Build());
        var asTruck = await bin.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("vehicles/REC-01/position").WithPayload("{}")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, asTruck.ReasonCode);
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
