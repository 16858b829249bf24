using System.Text;
using Telemetry.Contracts.Devices;
using Telemetry.Contracts.Readings;
using Telemetry.Fleet;
using Telemetry.Ingestion.Decoding;

namespace Telemetry.UnitTests;

public class DecoderTests
{
    internal static readonly FleetRegistry Registry = FleetRegistryLoader.LoadDefault();
    internal static readonly DateTimeOffset Now = new(2026, 11, 29, 8, 20, 0, TimeSpan.Zero);
    private static readonly DeviceMessageDecoder Decoder = new(Registry, new DecoderSettings());

    private const string Fill = """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1042,"compartments":[{"id":"paper","fillPct":63.5},{"id":"plastic","fillPct":41.0}]}""";
    private const string Weight = """{"v":1,"ts":"2026-11-29T08:15:02Z","seq":1043,"compartments":[{"id":"paper","netKg":41.2,"depositKg":0.8}]}""";
    private const string Status = """{"v":1,"ts":"2026-11-29T08:15:05Z","seq":1044,"online":true,"batteryPct":87,"tempC":21.5,"tilt":false,"doorOpen":false}""";

    internal static DecodeResult Decode(string topic, string payload, DateTimeOffset? at = null) =>
        Decoder.Decode(topic, Encoding.UTF8.GetBytes(payload), at ?? Now);

    private static void AssertRejected(RejectReason reason, DecodeResult r)
    {
        Assert.False(r.IsAccepted, $"expected {reason.Name()}, got {r}");
        Assert.True(reason == r.Rejection!.Reason, $"expected {reason.Name()}, got {r.Rejection.Reason.Name()}: {r.Rejection.Detail}");
        Assert.False(r.Rejection.IsDecoderFault, $"decided by the decoder's safety net, not a check: {r}");
        Assert.Empty(r.Readings);
    }

    private static void AssertAccepted(DecodeResult r)
    {
        Assert.True(r.IsAccepted, r.ToString());
        Assert.NotEmpty(r.Readings);
    }

    [Fact]
    public void Contract_fill_example_gives_one_reading_per_compartment_with_tags()
    {
        var r = Decode("bins/JY-001/fill", Fill);
        AssertAccepted(r);
        var readings = r.Readings.Cast<FillReading>().ToList();
        Assert.Equal(["paper", "plastic"], readings.Select(x => x.Compartment));
        Assert.All(readings, x => Assert.Equal("recyclable", x.Stream));
        Assert.All(readings, x => Assert.Equal(Registry.FindBin("JY-001")!.Community, x.Community));
        Assert.Equal(63.5, readings[0].Pct);
        Assert.Equal(1042, readings[0].Seq);
        Assert.Equal(new DateTimeOffset(2026, 11, 29, 8, 15, 0, TimeSpan.Zero), readings[0].Time);
    }

    [Fact]
    public void Contract_weight_example_keeps_deposit()
    {
        var r = Decode("bins/JY-002/weight", Weight);
        AssertAccepted(r);
        var w = Assert.IsType<WeightReading>(Assert.Single(r.Readings));
        Assert.Equal((41.2, 0.8, 1043L), (w.NetKg, w.DepositKg!.Value, w.Seq));
        var without = Decode("bins/JY-002/weight", """{"v":1,"ts":"2026-11-29T08:15:02Z","seq":7,"compartments":[{"id":"kitchen","netKg":12}]}""");
        Assert.Null(Assert.IsType<WeightReading>(Assert.Single(without.Readings)).DepositKg);
        Assert.Equal("kitchen", ((WeightReading)without.Readings[0]).Stream);
    }

    [Fact]
    public void Contract_status_example_and_last_will_are_accepted()
    {
        var s = Assert.IsType<StatusReading>(Assert.Single(Decode("bins/JY-003/status", Status).Readings));
        Assert.Equal((true, 87.0, 21.5, false, false, 1044L, true), (s.Online!.Value, s.BatteryPct!.Value, s.TempC!.Value, s.Tilt!.Value, s.DoorOpen!.Value, s.Seq!.Value, s.TimeFromDevice));
        var will = Assert.IsType<StatusReading>(Assert.Single(Decode("bins/JY-003/status", """{"v":1,"online":false}""", Now.AddTicks(5555)).Readings));
        Assert.False(will.Online);
        Assert.False(will.TimeFromDevice);
        Assert.Null(will.Seq);
        Assert.Equal(Now, will.Time); // receive time, truncated to milliseconds
    }

    public static TheoryData<string, string, RejectReason> EachReason => new()
    {
        { "bins/JY-001/fill", new string(' ', 4097), RejectReason.TooLarge },
        { "bins/JY-001/level", Fill, RejectReason.UnknownTopic },
        { "bins/JY-001/fill/extra", Fill, RejectReason.UnknownTopic },
        { "bins//fill", Fill, RejectReason.UnknownTopic },
        { "bins/JY-999/fill", Fill, RejectReason.UnknownBin },
        { "bins/jy-001/fill", Fill, RejectReason.UnknownBin },
        { "bins/JY-001/fill", "not json", RejectReason.MalformedJson },
        { "bins/JY-001/fill", "[1,2]", RejectReason.MalformedJson },
        { "bins/JY-001/fill", "\"text\"", RejectReason.MalformedJson },
        { "bins/JY-001/fill", "", RejectReason.MalformedJson },
        { "bins/JY-001/fill", """{"v":1,"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":"paper","fillPct":1}]}""", RejectReason.MalformedJson },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":"paper","fillPct":1}],}""", RejectReason.MalformedJson },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":"paper","fillPct":NaN}]}""", RejectReason.MalformedJson },
        { "bins/JY-001/fill", """{"v":2,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":"paper","fillPct":1}]}""", RejectReason.UnsupportedVersion },
        { "bins/JY-001/fill", """{"v":"1","ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":"paper","fillPct":1}]}""", RejectReason.UnsupportedVersion },
        { "bins/JY-001/status", """{"v":null,"online":true}""", RejectReason.UnsupportedVersion },
        { "bins/JY-001/fill", """{"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":"paper","fillPct":1}]}""", RejectReason.MissingField },
        { "bins/JY-001/fill", """{"v":1,"seq":1,"compartments":[{"id":"paper","fillPct":1}]}""", RejectReason.MissingField },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","compartments":[{"id":"paper","fillPct":1}]}""", RejectReason.MissingField },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1}""", RejectReason.MissingField },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[]}""", RejectReason.MissingField },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":"paper"}]}""", RejectReason.MissingField },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":"paper","FillPct":1}]}""", RejectReason.MissingField },
        { "bins/JY-001/weight", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":"paper","depositKg":1}]}""", RejectReason.MissingField },
        { "bins/JY-001/status", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1}""", RejectReason.MissingField },
        { "bins/JY-001/status", """{"V":1,"online":true}""", RejectReason.MissingField },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":"paper","fillPct":"63.5"}]}""", RejectReason.InvalidField },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29 08:15:00Z","seq":1,"compartments":[{"id":"paper","fillPct":1}]}""", RejectReason.InvalidField },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00","seq":1,"compartments":[{"id":"paper","fillPct":1}]}""", RejectReason.InvalidField },
        { "bins/JY-001/fill", """{"v":1,"ts":1764404100,"seq":1,"compartments":[{"id":"paper","fillPct":1}]}""", RejectReason.InvalidField },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":-1,"compartments":[{"id":"paper","fillPct":1}]}""", RejectReason.InvalidField },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":9007199254740992,"compartments":[{"id":"paper","fillPct":1}]}""", RejectReason.InvalidField },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1.5,"compartments":[{"id":"paper","fillPct":1}]}""", RejectReason.InvalidField },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":"1","compartments":[{"id":"paper","fillPct":1}]}""", RejectReason.InvalidField },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1.0000000000000001,"compartments":[{"id":"paper","fillPct":1}]}""", RejectReason.InvalidField },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":4503599627370496.5,"compartments":[{"id":"paper","fillPct":1}]}""", RejectReason.InvalidField },
        { "bins/JY-001/fill", """{"v":1.0000000000000001,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":"paper","fillPct":1}]}""", RejectReason.UnsupportedVersion },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":{"id":"paper","fillPct":1}}""", RejectReason.InvalidField },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":"paper","fillPct":1},{"id":"paper","fillPct":2}]}""", RejectReason.InvalidField },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":7,"fillPct":1}]}""", RejectReason.InvalidField },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":"\ud800","fillPct":1}]}""", RejectReason.InvalidField },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[5]}""", RejectReason.InvalidField },
        { "bins/JY-001/status", """{"v":1,"online":"true"}""", RejectReason.InvalidField },
        { "bins/JY-001/status", """{"v":1,"batteryPct":null}""", RejectReason.InvalidField },
        { "bins/JY-001/weight", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":"paper","netKg":1,"depositKg":"0.8"}]}""", RejectReason.InvalidField },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":"Paper","fillPct":1}]}""", RejectReason.UnknownCompartment },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":"batteries","fillPct":1}]}""", RejectReason.UnknownCompartment },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":"paper","fillPct":100.5}]}""", RejectReason.OutOfRange },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":"paper","fillPct":-0.1}]}""", RejectReason.OutOfRange },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":"paper","fillPct":1e400}]}""", RejectReason.OutOfRange },
        { "bins/JY-001/weight", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":"paper","netKg":-1}]}""", RejectReason.OutOfRange },
        { "bins/JY-001/weight", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":"paper","netKg":1,"depositKg":0}]}""", RejectReason.OutOfRange },
        { "bins/JY-001/weight", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":"paper","netKg":1,"depositKg":100.01}]}""", RejectReason.OutOfRange },
        { "bins/JY-001/status", """{"v":1,"batteryPct":101}""", RejectReason.OutOfRange },
        { "bins/JY-001/status", """{"v":1,"tempC":-50.5}""", RejectReason.OutOfRange },
        { "bins/JY-001/status", """{"v":1,"tempC":150.01}""", RejectReason.OutOfRange },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:25:00.001Z","seq":1,"compartments":[{"id":"paper","fillPct":1}]}""", RejectReason.TimestampSkew },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-22T08:19:59.999Z","seq":1,"compartments":[{"id":"paper","fillPct":1}]}""", RejectReason.TimestampSkew },
        { "bins/JY-001/status", """{"v":1,"ts":"2020-01-01T00:00:00Z","online":true}""", RejectReason.TimestampSkew },
    };

    [Theory]
    [MemberData(nameof(EachReason))]
    public void Message_gets_the_contract_reason(string topic, string payload, RejectReason reason) =>
        AssertRejected(reason, Decode(topic, payload));

    public static TheoryData<string, string> AcceptedEdges => new()
    {
        // Boundaries are inclusive.
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":0,"compartments":[{"id":"paper","fillPct":0},{"id":"glass","fillPct":100}]}""" },
        { "bins/JY-001/fill", """{"v":1.0,"ts":"2026-11-29T08:15:00Z","seq":9007199254740991,"compartments":[{"id":"paper","fillPct":1}]}""" },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1042.0,"compartments":[{"id":"paper","fillPct":1}]}""" },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1.042e3,"compartments":[{"id":"paper","fillPct":1}]}""" },
        { "bins/JY-001/weight", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":"paper","netKg":0,"depositKg":100}]}""" },
        { "bins/JY-001/weight", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":"paper","netKg":120,"depositKg":0.001}]}""" },
        { "bins/JY-001/status", """{"v":1,"batteryPct":0,"tempC":-50}""" },
        { "bins/JY-001/status", """{"v":1,"batteryPct":100,"tempC":150}""" },
        // Exactly 5 minutes ahead; the sub-millisecond part is truncated before the check.
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:25:00.0009Z","seq":1,"compartments":[{"id":"paper","fillPct":1}]}""" },
        // Exactly 7 days old.
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-22T08:20:00Z","seq":1,"compartments":[{"id":"paper","fillPct":1}]}""" },
        // Offsets, lower-case separators, fields the contract does not name.
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29t16:15:00.5+08:00","seq":1,"fw":"2.1","compartments":[{"id":"paper","fillPct":1,"raw":[1,2]}]}""" },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T03:15:00-05:00","seq":1,"compartments":[{"id":"paper","fillPct":1e1}]}""" },
        { "bins/JY-001/status", """{"v":1,"doorOpen":true}""" },
    };

    [Theory]
    [MemberData(nameof(AcceptedEdges))]
    public void Edge_values_inside_the_contract_are_accepted(string topic, string payload) => AssertAccepted(Decode(topic, payload));

    [Fact]
    public void Weight_may_reach_twice_the_compartment_maximum_load_but_not_more()
    {
        var paper = Registry.FindBin("JY-001")!.FindCompartment("paper")!;
        string Msg(double kg) => $$"""{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":"paper","netKg":{{kg.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}}}]}""";
        AssertAccepted(Decode("bins/JY-001/weight", Msg(2 * paper.MaxKg)));
        AssertRejected(RejectReason.OutOfRange, Decode("bins/JY-001/weight", Msg((2 * paper.MaxKg) + 0.01)));
    }

    [Fact]
    public void Size_limit_is_4096_bytes()
    {
        var head = """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":"paper","fillPct":1}],"pad":""" + "\"";
        var exact = head + new string('x', 4096 - head.Length - 2) + "\"}";
        Assert.Equal(4096, Encoding.UTF8.GetByteCount(exact));
        AssertAccepted(Decode("bins/JY-001/fill", exact));
        AssertRejected(RejectReason.TooLarge, Decode("bins/JY-001/fill", exact.Insert(exact.Length - 2, "x")));
    }

    [Fact]
    public void Invalid_utf8_and_byte_order_mark_are_malformed_json()
    {
        var bad = Encoding.UTF8.GetBytes(Fill);
        bad[30] = 0xC3;
        bad[31] = 0x28;
        AssertRejected(RejectReason.MalformedJson, Decoder.Decode("bins/JY-001/fill", bad, Now));
        AssertRejected(RejectReason.MalformedJson, Decoder.Decode("bins/JY-001/fill", (byte[])[0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(Fill)], Now));
    }

    public static TheoryData<string, string, RejectReason> Precedence => new()
    {
        // too-large before unknown-topic
        { "nope/x", new string('{', 5000), RejectReason.TooLarge },
        // unknown-topic before unknown-bin
        { "bins/JY-999/level", Fill, RejectReason.UnknownTopic },
        // unknown-bin before malformed-json
        { "bins/JY-999/fill", "{{{", RejectReason.UnknownBin },
        // malformed-json before unsupported-version
        { "bins/JY-001/fill", """{"v":2,}""", RejectReason.MalformedJson },
        // unsupported-version before missing-field
        { "bins/JY-001/fill", """{"v":3}""", RejectReason.UnsupportedVersion },
        // missing-field before invalid-field, wherever each appears in the payload
        { "bins/JY-001/fill", """{"v":1,"ts":"yesterday","compartments":[{"id":"paper","fillPct":1}]}""", RejectReason.MissingField },
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":5,"fillPct":1},{"id":"glass"}]}""", RejectReason.MissingField },
        // invalid-field before unknown-compartment
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":"batteries","fillPct":1},{"id":"paper","fillPct":"1"}]}""", RejectReason.InvalidField },
        // unknown-compartment before out-of-range
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":"paper","fillPct":500},{"id":"batteries","fillPct":1}]}""", RejectReason.UnknownCompartment },
        // out-of-range before timestamp-skew
        { "bins/JY-001/fill", """{"v":1,"ts":"2030-01-01T00:00:00Z","seq":1,"compartments":[{"id":"paper","fillPct":101}]}""", RejectReason.OutOfRange },
        // all or nothing: one bad compartment rejects the others too
        { "bins/JY-001/fill", """{"v":1,"ts":"2026-11-29T08:15:00Z","seq":1,"compartments":[{"id":"paper","fillPct":10},{"id":"glass","fillPct":101}]}""", RejectReason.OutOfRange },
    };

    [Theory]
    [MemberData(nameof(Precedence))]
    public void The_first_failing_check_in_contract_order_wins(string topic, string payload, RejectReason reason) =>
        AssertRejected(reason, Decode(topic, payload));

    [Fact]
    public void Dead_letter_bin_is_the_registry_id_or_none()
    {
        Assert.Equal("JY-001", Decode("bins/JY-001/level", Fill).Rejection!.BinId);
        Assert.Equal("JY-001", Decode("bins/JY-001/fill", "oops").Rejection!.BinId);
        Assert.Null(Decode("bins/JY-999/fill", Fill).Rejection!.BinId);
        Assert.Null(Decode("elsewhere", Fill).Rejection!.BinId);
    }

    [Fact]
    public void Max_age_follows_the_setting()
    {
        var strict = new DeviceMessageDecoder(Registry, new DecoderSettings { MaxAge = TimeSpan.FromHours(1) });
        var old = Encoding.UTF8.GetBytes("""{"v":1,"ts":"2026-11-29T07:19:59Z","seq":1,"compartments":[{"id":"paper","fillPct":1}]}""");
        Assert.Equal(RejectReason.TimestampSkew, strict.Decode("bins/JY-001/fill", old, Now).Rejection!.Reason);
        Assert.True(Decoder.Decode("bins/JY-001/fill", old, Now).IsAccepted);
    }

    [Fact]
    public void An_exception_inside_the_decoder_is_one_flagged_and_counted_malformed_json_rejection()
    {
        // A registry built by hand, past the loader's validation, with a stream the decoder cannot name:
        // a real way for the decoder to fail that no device payload can cause.
        var valid = Registry.FindBin("JY-001")!;
        var broken = new Bin(valid.Id, valid.Community, valid.Location, valid.Address, [new Compartment("paper", (WasteStream)42, 240, 60)]);
        var registry = new FleetRegistry(Registry.District, Registry.City, Registry.TimeZone, Registry.Bounds, Registry.Communities, Registry.Facilities, [broken], Registry.Vehicles);
        var decoder = new DeviceMessageDecoder(registry, new DecoderSettings());

        var r = decoder.Decode("bins/JY-001/fill", Encoding.UTF8.GetBytes(Fill.Replace(",{\"id\":\"plastic\",\"fillPct\":41.0}", "", StringComparison.Ordinal)), Now);

        Assert.False(r.IsAccepted);
        Assert.Empty(r.Readings);
        Assert.Equal(RejectReason.MalformedJson, r.Rejection!.Reason);
        Assert.True(r.Rejection.IsDecoderFault, r.ToString());
        Assert.Equal("JY-001", r.Rejection.BinId);
        Assert.Contains("ArgumentOutOfRangeException", r.Rejection.Detail, StringComparison.Ordinal);
        Assert.Equal(1, decoder.DecoderFaults);

        // A message that a check decides does not count.
        Assert.False(decoder.Decode("bins/JY-001/fill", "oops"u8.ToArray(), Now).Rejection!.IsDecoderFault);
        Assert.Equal(1, decoder.DecoderFaults);
    }
}
