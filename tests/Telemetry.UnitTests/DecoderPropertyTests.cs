using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Telemetry.Ingestion.Decoding;

namespace Telemetry.UnitTests;

/// <summary>Whatever arrives, the decoder returns readings or exactly one reason, and never throws.</summary>
public class DecoderPropertyTests
{
    private static readonly DeviceMessageDecoder Decoder = new(DecoderTests.Registry, new DecoderSettings());
    private static readonly string[] Topics = ["bins/JY-001/fill", "bins/JY-002/weight", "bins/JY-003/status"];

    private static bool Exactly_one_outcome(DecodeResult r) =>
        r.IsAccepted ? r.Readings.Count > 0 && r.Rejection is null : r.Readings.Count == 0 && Enum.IsDefined(r.Rejection!.Reason);

    [Property(MaxTest = 2000)]
    public bool Arbitrary_bytes_on_a_valid_topic_never_throw(byte[] payload, int topic) =>
        Exactly_one_outcome(Decoder.Decode(Topics[Math.Abs(topic % 3)], payload ?? [], DecoderTests.Now));

    [Property(MaxTest = 2000)]
    public bool Arbitrary_topics_never_throw(string topic) =>
        Exactly_one_outcome(Decoder.Decode(topic!, """{"v":1,"online":true}"""u8.ToArray(), DecoderTests.Now));

    [Property(MaxTest = 1000)]
    public bool Arbitrary_receive_times_never_throw(DateTimeOffset at) =>
        Exactly_one_outcome(Decoder.Decode("bins/JY-001/fill", """{"v":1,"ts":"0001-01-01T00:00:00+14:00","seq":1,"compartments":[{"id":"paper","fillPct":1}]}"""u8.ToArray(), at));

    // Structured noise: JSON-like documents assembled from the contract's own vocabulary reach the deeper checks.
    private static readonly string[] Keys = ["v", "ts", "seq", "compartments", "id", "fillPct", "netKg", "depositKg", "online", "batteryPct", "tempC", "tilt", "doorOpen", "x"];

    private static Gen<string> Value(int depth) => depth <= 0
        ? Gen.Elements("1", "0", "-1", "100", "1e400", "\"2026-11-29T08:15:00Z\"", "\"paper\"", "\"glass\"", "true", "null", "\"\"", "9007199254740992", "0.5")
        : Gen.OneOf(
            Value(0),
            Object(depth - 1),
            Gen.ListOf(Object(depth - 1)).Select(items => "[" + string.Join(",", items) + "]"));

    private static Gen<string> Object(int depth) =>
        Gen.ListOf(Gen.Elements(Keys).SelectMany(k => Value(depth).Select(v => $"\"{k}\":{v}")))
            .Select(fields => "{" + string.Join(",", fields.Take(8)) + "}");

    [Property(MaxTest = 3000)]
    public Property Contract_shaped_documents_never_throw() =>
        Prop.ForAll(Object(2).ToArbitrary(), Gen.Elements(Topics).ToArbitrary(), (json, topic) =>
            Exactly_one_outcome(Decoder.Decode(topic, Encoding.UTF8.GetBytes(json), DecoderTests.Now)));
}
