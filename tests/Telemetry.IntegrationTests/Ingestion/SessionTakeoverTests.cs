using System.Globalization;
using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Xunit.Abstractions;

namespace Telemetry.IntegrationTests.Ingestion;

/// <summary>
/// deploy/'s Mosquitto ties the client id to the username: a device's credential (leaked, say)
/// cannot take over an ingestion replica's session, neither its connection nor its queued backlog.
/// Runs on the test listener configured like deploy/ (TELEMETRY_TEST_MQTT_PROD).
/// </summary>
[Collection("faults")]
public sealed class SessionTakeoverTests(ITestOutputHelper output) : FaultTestBase(output)
{
    // An ingestion user of deploy/'s ACL; services.sh gives it the password test-{user}.
    private const string Ingester = "telemetry-ingest-1";

    private static Dictionary<string, string> LikeDeploy => new()
    {
        ["Mqtt:Server"] = TestServices.MosquittoLikeDeploy.ToString(),
        ["Mqtt:Username"] = Ingester,
        ["Mqtt:Password"] = "test-" + Ingester,
        ["Mqtt:ClientId"] = Ingester, // as deploy/README says: the client id is the username
    };

    private static async Task<(IMqttClient Client, MqttClientConnectResult Result)> ConnectAsync(string username, string clientId, bool cleanStart)
    {
        var broker = TestServices.MosquittoLikeDeploy;
        var client = new MqttClientFactory().CreateMqttClient();
        var result = await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port)
            .WithClientId(clientId).WithCredentials(username, "test-" + username)
            .WithCleanStart(cleanStart).WithSessionExpiryInterval(0)
            .WithProtocolVersion(MqttProtocolVersion.V500).Build());
        return (client, result);
    }

    /// <summary>Ends the replica's session on the broker (clean start, no expiry), so no other test inherits its queue.</summary>
    private static async Task RemoveIngesterSessionAsync()
    {
        var (client, result) = await ConnectAsync(Ingester, Ingester, cleanStart: true);
        using (client)
        {
            Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
            await client.DisconnectAsync();
        }
    }

    /// <summary>A device with its own credentials, posing as the ingestion replica (its client id, clean start).</summary>
    private async Task PoseAsIngesterAsync(bool stayConnectedWhile, Func<Task>? meanwhile = null)
    {
        var (hostile, result) = await ConnectAsync("JY-002", Ingester, cleanStart: true);
        using (hostile)
        {
            // Accepted: as JY-002, whatever client id it asked for.
            Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
            if (stayConnectedWhile && meanwhile is not null)
            {
                await meanwhile();
            }
            await hostile.DisconnectAsync();
        }
        Output.WriteLine("the device JY-002 connected with client id " + Ingester);
    }

    [Fact]
    public async Task A_device_with_the_ingestion_s_client_id_neither_disconnects_it_nor_clears_its_backlog()
    {
        await RemoveIngesterSessionAsync();
        try
        {
            // The replica's persistent session exists and is offline: the broker queues for it.
            var first = await StartIngestionAsync("unused", shared: false, LikeDeploy);
            await first.StopAsync();

            const int backlog = 300;
            var start = TimeProvider.System.GetUtcNow().AddMinutes(-5);
            string Fill(int i) => $$"""{"v":1,"ts":"{{start.AddMilliseconds(i).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)}}","seq":{{i}},"compartments":[{"id":"paper","fillPct":{{i % 100}}}]}""";
            var (device, connected) = await ConnectAsync("JY-001", "JY-001", cleanStart: true);
            using (device)
            {
                Assert.Equal(MqttClientConnectResultCode.Success, connected.ResultCode);
                async Task PublishAsync(int i)
                {
                    var result = await device.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("bins/JY-001/fill")
                        .WithPayload(Encoding.UTF8.GetBytes(Fill(i))).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
                    // Success, not NoMatchingSubscribers: the replica's subscription is there to queue for.
                    Assert.Equal(MqttClientPublishReasonCode.Success, result.ReasonCode);
                }

                for (var i = 0; i < backlog; i++)
                {
                    await PublishAsync(i);
                }

                // With client ids free to choose, this clean start would wipe the replica's session and queue.
                await PoseAsIngesterAsync(stayConnectedWhile: false);

                var again = await StartIngestionAsync("unused", shared: false, LikeDeploy);
                var stored = await WaitForStoredAsync((backlog, 0), TimeSpan.FromSeconds(60));
                Assert.Equal((backlog, 0), ((int)stored.Fill, (int)stored.Weight));

                // While the replica is connected: the same attempt must not disconnect it. The next
                // message is stored only after the attempt, so a takeover would have been logged by then
                // (the broker closes the old connection before it acknowledges the new one).
                await PoseAsIngesterAsync(stayConnectedWhile: true, () => PublishAsync(backlog));
                stored = await WaitForStoredAsync((backlog + 1, 0), TimeSpan.FromSeconds(30));
                Assert.Equal(backlog + 1, (int)stored.Fill);
                Assert.False(again.HasExited);
                Assert.DoesNotContain("connection lost", again.Output, StringComparison.Ordinal);
                Assert.Equal(1, again.Output.Split('\n').Count(l => l.Contains("subscribed to", StringComparison.Ordinal)));
                await again.StopAsync();
            }
        }
        finally
        {
            await RemoveIngesterSessionAsync();
        }
    }
}
