using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Telemetry.Ingestion.Decoding;
using Telemetry.Storage;
using Xunit.Abstractions;

namespace Telemetry.IntegrationTests.Ingestion;

[Collection("faults")]
public sealed class HostileInputTests(ITestOutputHelper output) : FaultTestBase(output)
{
    private static List<string> Except(List<string> a, List<string> b)
    {
        var left = b.GroupBy(x => x, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var result = new List<string>();
        foreach (var x in a)
        {
            if (left.TryGetValue(x, out var n) && n > 0)
            {
                left[x] = n - 1;
            }
            else
            {
                result.Add(x);
            }
        }
        return result;
    }

    private static string Short(string s) => s.Length > 300 ? s[..300] + "…" : s;

    [Fact]
    public void Every_hostile_case_gets_its_reason_from_the_decoder()
    {
        var now = TimeProvider.System.GetUtcNow();
        var decoder = new DeviceMessageDecoder(Registry, new DecoderSettings());
        var corpus = HostileCorpus.Build(now);
        Assert.True(corpus.Count >= 100);
        Assert.Equal(RejectReasons.All.Select(r => r.Name()).ToHashSet(), corpus.Select(c => c.ExpectedReason).ToHashSet());
        foreach (var c in corpus)
        {
            var r = decoder.Decode(c.Topic, c.Payload, now);
            Assert.False(r.IsAccepted, c.Name);
            Assert.True(c.ExpectedReason == r.Rejection!.Reason.Name(), $"{c.Name}: expected {c.ExpectedReason}, got {r.Rejection.Reason.Name()} ({r.Rejection.Detail})");
            Assert.Equal(c.ExpectedBin, r.Rejection.BinId);
        }
    }

    [Fact]
    public async Task Hostile_messages_through_Mosquitto_become_the_right_dead_letters_and_harm_nothing_else()
    {
        var ingestion = await StartIngestionAsync("ingest-hostile");
        using var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(TestServices.Mosquitto.Host, TestServices.Mosquitto.Port)
            .WithClientId("hostile-" + Guid.NewGuid().ToString("N")[..6]).WithProtocolVersion(MqttProtocolVersion.V500).Build());

        async Task PublishAsync(string topic, byte[] payload)
        {
            var result = await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
            Assert.True(result.ReasonCode == MqttClientPublishReasonCode.Success, $"{topic}: {result.ReasonCode}");
        }

        // A good reading from another bin first: it must come through unchanged.
        var now = TimeProvider.System.GetUtcNow();
        var goodTs = now.AddSeconds(-30).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        await PublishAsync("bins/JY-005/fill", System.Text.Encoding.UTF8.GetBytes($$"""{"v":1,"ts":"{{goodTs}}","seq":1,"compartments":[{"id":"paper","fillPct":42.5}]}"""));
        await WaitForStoredAsync((1, 0), TimeSpan.FromSeconds(30));

        // Topics a broker refuses outright (MQTT forbids wildcards and NUL in topic names; Mosquitto also
        // disconnects a client for control characters) never reach ingestion; the decoder test covers them.
        static bool Publishable(string topic) => topic.IndexOfAny(['+', '#']) < 0 && !topic.Any(ch => ch < 0x20 || ch is >= '\u007f' and <= '\u009f');
        var all = HostileCorpus.Build(TimeProvider.System.GetUtcNow());
        // "5 minutes 1 ms ahead" holds only at the instant the corpus was built; by the time the broker
        // delivers it, it is inside the window (the decoder test checks that boundary exactly).
        var publishable = all.Where(c => Publishable(c.Topic) && !c.Name.Contains("1 ms ahead", StringComparison.Ordinal)).ToList();
        // Packets over the broker's max_packet_size (deploy/'s) are refused from the device and never
        // reach ingestion (CONTRACT §2); each is sent on a connection of its own, which the broker closes.
        var oversized = publishable.Where(c => !FitsBroker(c.Topic, c.Payload.Length)).ToList();
        var corpus = publishable.Except(oversized).ToList();
        Assert.Contains(corpus, c => c.ExpectedReason == "too-large");
        Assert.True(corpus.Count >= 100, $"only {corpus.Count} publishable cases");
        Assert.NotEmpty(oversized);
        foreach (var c in corpus)
        {
            await PublishAsync(c.Topic, c.Payload);
        }
        foreach (var c in oversized)
        {
            using var device = new MqttClientFactory().CreateMqttClient();
            await device.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(TestServices.Mosquitto.Host, TestServices.Mosquitto.Port)
                .WithClientId("oversized-" + Guid.NewGuid().ToString("N")[..6]).WithProtocolVersion(MqttProtocolVersion.V500).Build());
            await Assert.ThrowsAnyAsync<MQTTnet.Exceptions.MqttCommunicationException>(() => device.PublishAsync(new MqttApplicationMessageBuilder()
                .WithTopic(c.Topic).WithPayload(c.Payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build()));
        }

        var from = now.AddMinutes(-1);
        IReadOnlyList<DeadLetter> letters = [];
        var until = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < until)
        {
            letters = await Store.GetDeadLettersAsync(from, TimeProvider.System.GetUtcNow().AddMinutes(1), 10_000, DeadLetterFilter.None, CancellationToken.None);
            if (letters.Count >= corpus.Count)
            {
                break;
            }
            await Task.Delay(250);
        }

        static string Key(string reason, string bin, string topic, string payload) => $"{reason}|{bin}|{topic}|{payload}";
        var expected = corpus.Select(c => Key(c.ExpectedReason, c.ExpectedBin ?? DeadLetters.UnknownBin,
            DeadLetters.SafeText(System.Text.Encoding.UTF8.GetBytes(c.Topic), DeadLetters.MaxTopicBytes), DeadLetters.PayloadText(c.Payload))).Order(StringComparer.Ordinal).ToList();
        var actual = letters.Select(l => Key(l.Reason, l.BinId, l.Topic, l.Payload)).Order(StringComparer.Ordinal).ToList();
        var missing = Except(expected, actual);
        var extra = Except(actual, expected);
        Assert.True(missing.Count == 0 && extra.Count == 0,
            $"{expected.Count} expected, {actual.Count} stored\nmissing:\n{string.Join('\n', missing.Take(5).Select(Short))}\nunexpected:\n{string.Join('\n', extra.Take(5).Select(Short))}");
        Assert.All(letters, l => Assert.StartsWith("ingest-hostile-", l.Ingester, StringComparison.Ordinal));

        // Payloads that tried to smuggle a point through the dead letter's line came back exactly (checked above) and
        // wrote nothing: the bin they aimed at has no reading at any time (a smuggled timestamp may be read in any precision).
        Assert.Contains(corpus, c => c.Name.Contains(HostileCorpus.Smuggling, StringComparison.Ordinal));
        Assert.Equal(0, (await Store.CountAsync(DateTimeOffset.UnixEpoch.AddYears(-100), DateTimeOffset.UnixEpoch.AddYears(200), HostileCorpus.SmuggledBin, CancellationToken.None)).Readings);

        // No other bin's data changed, nothing was stored for the hostile messages, and ingestion still works.
        var latest = await Store.GetLatestAsync(CancellationToken.None);
        var only = Assert.Single(latest);
        Assert.Equal(("JY-005", "paper", 42.5), (only.BinId, only.Compartment, only.FillPct!.Value));
        Assert.Empty(await Store.GetLatestVehiclePositionsAsync(CancellationToken.None));
        Assert.False(ingestion.HasExited);
        await PublishAsync("bins/JY-006/fill", System.Text.Encoding.UTF8.GetBytes($$"""{"v":1,"ts":"{{goodTs}}","seq":2,"compartments":[{"id":"glass","fillPct":7}]}"""));
        await WaitForStoredAsync((2, 0), TimeSpan.FromSeconds(30));
        Assert.Equal(2, (await Store.GetLatestAsync(CancellationToken.None)).Count);
        Output.WriteLine($"{corpus.Count} hostile messages published, {oversized.Count} refused by the broker ({all.Count - publishable.Count} unpublishable skipped), {letters.Count} dead letters stored");
    }

    /// <summary>
    /// Whether Mosquitto takes this QoS 1 PUBLISH (MQTT 5, no properties) from a device: it compares
    /// the remaining length plus one byte with max_packet_size.
    /// </summary>
    private static bool FitsBroker(string topic, int payloadLength) =>
        2 + System.Text.Encoding.UTF8.GetByteCount(topic) + 2 + 1 + payloadLength + 1 <= TestServices.MosquittoMaxPacketSize;
}
