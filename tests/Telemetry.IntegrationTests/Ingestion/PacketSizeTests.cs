using System.Globalization;
using System.Text;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Microsoft.Extensions.Logging.Abstractions;
using Telemetry.Contracts.Configuration;
using Telemetry.Host.Embedded;
using Telemetry.Ingestion;
using Telemetry.Storage;
using Xunit.Abstractions;

namespace Telemetry.IntegrationTests.Ingestion;

/// <summary>
/// CONTRACT §2 on sizes: over 4,096 bytes a message is a <c>too-large</c> dead letter; a packet over
/// the ingestion's Maximum Packet Size never reaches it (in production the broker's max_packet_size
/// refuses it from the device), and ingestion goes on.
/// </summary>
[Collection("faults")]
public sealed class PacketSizeTests(ITestOutputHelper output) : FaultTestBase(output)
{
    private readonly DateTimeOffset _start = TimeProvider.System.GetUtcNow();

    private string Ts(int i) => _start.AddSeconds(-30).AddMilliseconds(i).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private byte[] Fill(int i) => Encoding.UTF8.GetBytes($$"""{"v":1,"ts":"{{Ts(i)}}","seq":{{i}},"compartments":[{"id":"paper","fillPct":{{i % 100}}}]}""");

    /// <summary>A syntactically valid fill message padded to <paramref name="bytes"/>: only its size is wrong.</summary>
    private byte[] Padded(int i, int bytes)
    {
        var core = Encoding.UTF8.GetString(Fill(i));
        return Encoding.UTF8.GetBytes(core[..^1] + ",\"pad\":\"" + new string('x', bytes - core.Length - 9) + "\"}");
    }

    private static async Task<IMqttClient> ConnectAsync(MqttEndpoint broker, string name)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var result = await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port)
            .WithClientId($"{name}-{Guid.NewGuid():N}"[..20]).WithProtocolVersion(MqttProtocolVersion.V500).Build());
        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        return client;
    }

    private static async Task PublishAsync(IMqttClient client, string topic, byte[] payload)
    {
        var result = await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        Assert.True(result.ReasonCode is MqttClientPublishReasonCode.Success, $"{topic} ({payload.Length} bytes): {result.ReasonCode}");
    }

    /// <summary>Publishes a packet the broker must refuse: no acknowledgement, and the broker closes the connection.</summary>
    private static async Task PublishRefusedAsync(MqttEndpoint broker, string topic, byte[] payload)
    {
        using var client = await ConnectAsync(broker, "oversize");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var refused = await Assert.ThrowsAnyAsync<MqttCommunicationException>(() => client.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), timeout.Token));
        Assert.False(timeout.IsCancellationRequested, "the broker neither acknowledged nor refused the packet");
        // MQTTnet fails the pending publish first and marks the client disconnected just after.
        var until = DateTime.UtcNow.AddSeconds(10);
        while (client.IsConnected && DateTime.UtcNow < until)
        {
            await Task.Delay(10);
        }
        Assert.False(client.IsConnected, $"still connected after {refused.GetType().Name}: {refused.Message}");
    }

    private async Task<IReadOnlyList<DeadLetter>> WaitForDeadLettersAsync(int count)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        IReadOnlyList<DeadLetter> letters;
        while (true)
        {
            letters = await Store.GetDeadLettersAsync(_start.AddMinutes(-1), TimeProvider.System.GetUtcNow().AddMinutes(1), 100, DeadLetterFilter.None, CancellationToken.None);
            if (letters.Count >= count || DateTime.UtcNow > until)
            {
                return letters;
            }
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task Through_Mosquitto_a_10_kB_message_is_a_too_large_dead_letter_and_a_100_kB_one_never_reaches_ingestion()
    {
        var broker = TestServices.Mosquitto;
        var ingestion = await StartIngestionAsync("ingest-size", shared: false);
        using var device = await ConnectAsync(broker, "size-device");

        await PublishAsync(device, "bins/JY-001/fill", Fill(0));
        await WaitForStoredAsync((1, 0), TimeSpan.FromSeconds(30));

        // 10 kB, and a 64 KiB-class packet with a long topic just under the broker's limit: both
        // reach ingestion, both become too-large dead letters.
        await PublishAsync(device, "bins/JY-001/fill", Padded(1, 10_000));
        var longTopic = "bins/JY-001/fill/" + new string('t', 2000);
        var nearLimit = TestServices.MosquittoMaxPacketSize - 100 - Encoding.UTF8.GetByteCount(longTopic);
        Assert.InRange(nearLimit, 60_000, 65_536);
        await PublishAsync(device, longTopic, Padded(2, nearLimit));

        // 100 kB: refused by the broker from the device, never queued for ingestion.
        await PublishRefusedAsync(broker, "bins/JY-001/fill", Padded(3, 100_000));

        // Messages of one connection arrive in order: once the next valid one is stored, anything
        // the 100 kB one could have become would be stored too.
        await PublishAsync(device, "bins/JY-001/fill", Fill(4));
        var stored = await WaitForStoredAsync((2, 0), TimeSpan.FromSeconds(30));
        Assert.Equal(2, stored.Fill);
        var letters = await WaitForDeadLettersAsync(2);
        Assert.Equal([("too-large", "JY-001"), ("too-large", "JY-001")], letters.Select(l => (l.Reason, l.BinId)).ToList());
        Assert.Contains(letters, l => l.Error.Contains($"{nearLimit} bytes", StringComparison.Ordinal));
        Assert.Contains(letters, l => l.Error.Contains("10000 bytes", StringComparison.Ordinal));
        Assert.False(ingestion.HasExited);
        Assert.DoesNotContain("connection lost", ingestion.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mosquitto_drops_a_packet_above_the_ingestion_s_Maximum_Packet_Size_and_ingestion_goes_on()
    {
        // The client's own limit, below the broker's: Mosquitto takes the 30 kB message from the device
        // (acknowledging it) but must not send it to a client that announced 16 KiB.
        var settings = new IngestionSettings
        {
            Broker = TestServices.Mosquitto,
            ClientId = "ingest-maxpacket-" + Group,
            SessionExpiry = TimeSpan.FromMinutes(10),
            MaximumPacketSize = 16_384,
        };
        await using var ingestion = new InProcessIngestion(settings, Store, Registry);
        await ingestion.WaitConnectedAsync();
        using var device = await ConnectAsync(settings.Broker, "size-device");

        await PublishAsync(device, "bins/JY-002/fill", Padded(1, 10_000)); // under 16 KiB: a dead letter
        await PublishAsync(device, "bins/JY-002/fill", Padded(2, 30_000)); // over it: dropped by the broker
        await PublishAsync(device, "bins/JY-002/fill", Fill(3));
        await WaitForStoredAsync((1, 0), TimeSpan.FromSeconds(30));
        var letters = await WaitForDeadLettersAsync(1);
        Assert.Equal("too-large", Assert.Single(letters).Reason);
        Assert.Contains("10000 bytes", letters[0].Error, StringComparison.Ordinal);
        Assert.Equal(2, ingestion.Metrics.MessagesIn);
        Assert.True(ingestion.IsRunning);
        Assert.True(ingestion.Source.IsConnected);
        Assert.Null(ingestion.Source.LastDisconnectReason);
    }

    [Fact]
    public async Task The_embedded_broker_ignores_Maximum_Packet_Size_so_a_100_kB_message_arrives_and_becomes_a_too_large_dead_letter()
    {
        // MQTTnet's server (5.2) reads the client's Maximum Packet Size but never checks it when
        // sending, and has no limit of its own on incoming packets: with the embedded broker an
        // oversized packet reaches ingestion. Ingestion must still take it in its stride.
        var port = TestServices.FreePort();
        await using var broker = new EmbeddedBroker(port, NullLogger.Instance);
        await broker.StartAsync(CancellationToken.None);
        var endpoint = MqttEndpoint.Parse($"mqtt://127.0.0.1:{port}");
        var settings = new IngestionSettings { Broker = endpoint, ClientId = "ingest-embedded-" + Group };
        await using var ingestion = new InProcessIngestion(settings, Store, Registry);
        await ingestion.WaitConnectedAsync();
        using var device = await ConnectAsync(endpoint, "size-device");

        await PublishAsync(device, "bins/JY-003/fill", Padded(1, 100_000));
        await PublishAsync(device, "bins/JY-003/fill", Fill(2));
        await WaitForStoredAsync((1, 0), TimeSpan.FromSeconds(30));
        var letter = Assert.Single(await WaitForDeadLettersAsync(1));
        Assert.Equal(("too-large", "JY-003"), (letter.Reason, letter.BinId));
        Assert.Contains("100000 bytes", letter.Error, StringComparison.Ordinal);
        Assert.Equal(2, ingestion.Metrics.MessagesIn);
        Assert.True(ingestion.IsRunning);
    }
}
