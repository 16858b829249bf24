using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Telemetry.Ingestion.Decoding;

namespace Telemetry.UnitTests;

/// <summary>
/// Whatever arrives, one of the decoder's checks decides it: readings, or exactly one reason. The
/// decoder's safety net (an exception turned into a malformed-json rejection, flagged
/// <see cref="Rejection.IsDecoderFault"/>) is never what decides.
/// </summary>
public class DecoderPropertyTests
{
    private static readonly DeviceMessageDecoder Decoder = new(DecoderTests.Registry, new DecoderSettings());
    private static readonly string[] Topics = ["bins/JY-001/fill", "bins/JY-002/weight", "bins/JY-003/status", "vehicles/REC-01/position"];

    private static void Decided_by_a_check(DecodeResult r, string input)
    {
        Assert.False(r.Rejection?.IsDecoderFault == true, $"{input} reached the decoder's safety net: {r}");
        Assert.True(
            r.IsAccepted ? r.Readings.Count > 0 && r.Rejection is null : r.Readings.Count == 0 && Enum.IsDefined(r.Rejection!.Reason),
            $"{input}: not exactly one outcome: {r}");
    }

    [Property(MaxTest = 2000)]
    public void Arbitrary_bytes_on_a_valid_topic_are_decided_by_a_check(byte[] payload, int topic)
    {
        payload ??= [];
        var t = Topics[Math.Abs(topic % Topics.Length)];
        Decided_by_a_check(Decoder.Decode(t, payload, DecoderTests.Now), $"{t} {Convert.ToHexString(payload)}");
    }

    [Property(MaxTest = 2000)]
    public void Arbitrary_topics_are_decided_by_a_check(string topic) =>
        Decided_by_a_check(Decoder.Decode(topic!, """{"v":1,"online":true}"""u8.ToArray(), DecoderTests.Now), $"topic '{topic}'");

    [Property(MaxTest = 1000)]
    public void Arbitrary_topics_built_from_bins_parts_are_decided_by_a_check(string[] parts)
    {
        var topic = "bins/" + string.Join('/', parts ?? []);
        Decided_by_a_check(Decoder.Decode(topic, """{"v":1,"online":true}"""u8.ToArray(), DecoderTests.Now), $"topic '{topic}'");
    }

    [Property(MaxTest = 1000)]
    public void Arbitrary_topics_built_from_vehicles_parts_are_decided_by_a_check(string[] parts)
    {
        var topic = "vehicles/" + string.Join('/', parts ?? []);
        Decided_by_a_check(Decoder.Decode(topic, """{"v":1,"ts":"2026-11-29T08:15:00Z","lat":36.97,"lon":117.18,"speedKmh":1}"""u8.ToArray(), DecoderTests.Now), $"topic '{topic}'");
    }

    [Property(MaxTest = 1000)]
    public void Arbitrary_receive_times_are_decided_by_a_check(DateTimeOffset at, int topic)
    {
        var t = Topics[Math.Abs(topic % Topics.Length)];
        foreach (var ts in new[] { "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-00:00", "2026-11-29T08:15:00Z" })
        {
            var payload = t.EndsWith("/status", StringComparison.Ordinal) ? $$"""{"v":1,"ts":"{{ts}}","online":true}"""
                : t.EndsWith("/position", StringComparison.Ordinal) ? $$"""{"v":1,"ts":"{{ts}}","lat":36.97,"lon":117.18,"speedKmh":32.5}"""
                : $$"""{"v":1,"ts":"{{ts}}","seq":1,"compartments":[{"id":"paper","fillPct":1,"netKg":1}]}""";
            Decided_by_a_check(Decoder.Decode(t, Encoding.UTF8.GetBytes(payload), at), $"{t} {payload} at {at:O}");
        }
    }

    // Structured noise: JSON-like documents assembled from the contract's own vocabulary reach the deeper checks.
    private static readonly string[] Keys = ["v", "ts", "seq", "compartments", "id", "fillPct", "netKg", "depositKg", "online", "batteryPct", "tempC", "tilt", "doorOpen", "lat", "lon", "speedKmh", "x"];

    private static readonly string[] Scalars =
    [
        "1", "0", "-0", "-1", "100", "100.0000000001", "0.5", "1.0", "1e0", "1E+2", "1e400", "-1e400", "1e-400", "1e308",
        "9007199254740991", "9007199254740992", "4503599627370496.5", "-9223372036854775809", "18446744073709551616",
        "\"2026-11-29T08:15:00Z\"", "\"2026-11-29T08:15:00.123456789+14:00\"", "\"9999-12-31T23:59:59Z\"", "\"0001-01-01T00:00:00Z\"",
        "\"2026-02-30T00:00:00Z\"", "\"paper\"", "\"glass\"", "\"kitchen\"", "\"\\ud800\"", "\"pa\\u0000per\"", "\"\"",
        "true", "false", "null", "[]", "{}",
    ];

    private static Gen<string> Value(int depth) => depth <= 0
        ? Gen.Elements(Scalars)
        : Gen.OneOf(
            Value(0),
            Object(depth - 1),
            Gen.ListOf(Object(depth - 1)).Select(items => "[" + string.Join(",", items) + "]"));

    private static Gen<string> Object(int depth) =>
        Gen.ListOf(Gen.Elements(Keys).SelectMany(k => Value(depth).Select(v => $"\"{k}\":{v}")))
            .Select(fields => "{" + string.Join(",", fields.Take(8)) + "}");

    [Property(MaxTest = 3000)]
    public Property Contract_shaped_documents_are_decided_by_a_check() =>
        Prop.ForAll(Object(2).ToArbitrary(), Gen.Elements(Topics).ToArbitrary(), (json, topic) =>
            Decided_by_a_check(Decoder.Decode(topic, Encoding.UTF8.GetBytes(json), DecoderTests.Now), $"{topic} {json}"));

    // Near-valid messages: the contract's messages with each field kept (mostly), replaced by noise or
    // left out, so every check past the shape (compartments, ranges, clock) is reached, not only the first.
    private static Gen<string> Slot(string key, Gen<string> valid) =>
        Gen.Frequency(
            (6, valid.Select(v => $"\"{key}\":{v}")),
            (2, Value(1).Select(v => $"\"{key}\":{v}")),
            (1, Gen.Constant("")));

    private static Gen<string> Members(params Gen<string>[] slots) =>
        slots.Aggregate(Gen.Constant(""), (acc, slot) => acc.SelectMany(a => slot.Select(b => a.Length == 0 ? b : b.Length == 0 ? a : a + "," + b)))
            .Select(m => "{" + m + "}");

    private static readonly Gen<string> Timestamps = Gen.Elements(
        "\"2026-11-29T08:15:00Z\"", "\"2026-11-29T16:15:00.5+08:00\"", "\"2026-11-29T08:24:59.999Z\"",
        "\"2026-11-29T08:26:00Z\"", "\"2026-11-01T00:00:00Z\"", "\"2026-11-29 08:15:00\"");

    private static readonly Gen<string> CompartmentIds = Gen.Elements("\"paper\"", "\"plastic\"", "\"glass\"", "\"kitchen\"", "\"residual\"", "\"textile\"", "\"bogus\"");

    private static Gen<string> Compartments(params (string Key, Gen<string> Valid)[] fields) =>
        Gen.ListOf(Members([Slot("id", CompartmentIds), .. fields.Select(f => Slot(f.Key, f.Valid))]))
            .Select(items => "[" + string.Join(",", items.Take(4)) + "]");

    private static readonly Gen<(string Topic, string Json)> NearValid = Gen.OneOf(
        Members(Slot("v", Gen.Constant("1")), Slot("ts", Timestamps), Slot("seq", Gen.Elements("0", "1042", "1042.0")),
                Slot("compartments", Compartments(("fillPct", Gen.Elements("0", "63.5", "100", "100.5", "-0.5")))))
            .Select(json => ("bins/JY-001/fill", json)),
        Members(Slot("v", Gen.Constant("1")), Slot("ts", Timestamps), Slot("seq", Gen.Elements("0", "1043")),
                Slot("compartments", Compartments(("netKg", Gen.Elements("0", "41.2", "1000000")), ("depositKg", Gen.Elements("0.8", "0", "100", "101")))))
            .Select(json => ("bins/JY-002/weight", json)),
        Members(Slot("v", Gen.Constant("1")), Slot("ts", Timestamps), Slot("seq", Gen.Constant("1044")), Slot("online", Gen.Elements("true", "false")),
                Slot("batteryPct", Gen.Elements("87", "100", "101")), Slot("tempC", Gen.Elements("21.5", "-50", "150.5")),
                Slot("tilt", Gen.Elements("true", "false")), Slot("doorOpen", Gen.Elements("true", "false")))
            .Select(json => ("bins/JY-003/status", json)),
        Members(Slot("v", Gen.Constant("1")), Slot("ts", Timestamps), Slot("lat", Gen.Elements("36.97", "36.8", "37.31", "\"36.97\"")),
                Slot("lon", Gen.Elements("117.18", "117.5", "116.89")), Slot("speedKmh", Gen.Elements("0", "32.5", "200", "-1", "1e400")))
            .Select(json => ("vehicles/REC-01/position", json)));

    [Property(MaxTest = 3000)]
    public Property Near_valid_messages_are_decided_by_a_check() =>
        Prop.ForAll(NearValid.ToArbitrary(), m =>
            Decided_by_a_check(Decoder.Decode(m.Topic, Encoding.UTF8.GetBytes(m.Json), DecoderTests.Now), $"{m.Topic} {m.Json}"));

    [Fact]
    public void Near_valid_generator_yields_accepted_and_rejected_messages()
    {
        // Guards the generator itself: if every near-valid message were rejected early, the property above would test little.
        // Enough draws that each deep reason appears with overwhelming probability (500 missed timestamp-skew once).
        var samples = NearValid.Sample(5000, 3);
        var results = samples.Select(m => Decoder.Decode(m.Topic, Encoding.UTF8.GetBytes(m.Json), DecoderTests.Now)).ToList();
        Assert.Contains(results, r => r.IsAccepted);
        var reasons = results.Where(r => !r.IsAccepted).Select(r => r.Rejection!.Reason).ToHashSet();
        RejectReason[] deep = [RejectReason.UnsupportedVersion, RejectReason.MissingField, RejectReason.InvalidField,
            RejectReason.UnknownCompartment, RejectReason.OutOfRange, RejectReason.TimestampSkew];
        Assert.True(deep.All(reasons.Contains), $"reached only {string.Join(", ", reasons)}");
    }
}
