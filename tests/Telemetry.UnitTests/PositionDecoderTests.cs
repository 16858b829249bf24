using System.Text;
using Telemetry.Contracts.Devices;
using Telemetry.Contracts.Readings;
using Telemetry.Ingestion.Decoding;

namespace Telemetry.UnitTests;

/// <summary><c>vehicles/{vehicleId}/position</c> (CONTRACT §2), validated like the bins' messages.</summary>
public class PositionDecoderTests
{
    private const string Position = """{"v":1,"ts":"2026-11-29T08:15:00Z","lat":36.97,"lon":117.18,"speedKmh":32.5}""";

    private static DecodeResult Decode(string topic, string payload, DateTimeOffset? at = null) => DecoderTests.Decode(topic, payload, at);

    private static void AssertRejected(RejectReason reason, DecodeResult r)
    {
        Assert.False(r.IsAccepted, $"expected {reason.Name()}, got {r}");
        Assert.True(reason == r.Rejection!.Reason, $"expected {reason.Name()}, got {r.Rejection.Reason.Name()}: {r.Rejection.Detail}");
        Assert.False(r.Rejection.IsDecoderFault, $"decided by the decoder's safety net, not a check: {r}");
        Assert.Empty(r.Readings);
    }

    [Fact]
    public void Contract_position_example_gives_one_reading_with_the_vehicles_stream()
    {
        var r = Decode("vehicles/REC-01/position", Position);
        Assert.True(r.IsAccepted, r.ToString());
        Assert.Equal((MessageKind.Position, "REC-01"), (r.Kind!.Value, r.BinId));
        var p = Assert.IsType<VehiclePositionReading>(Assert.Single(r.Readings));
        Assert.Equal(new VehiclePositionReading("REC-01", "recyclable", new DateTimeOffset(2026, 11, 29, 8, 15, 0, TimeSpan.Zero), 36.97, 117.18, 32.5), p);
        Assert.Equal("REC-01", p.BinId); // the device id, as bins' readings carry theirs
        var kitchen = Assert.IsType<VehiclePositionReading>(Assert.Single(Decode("vehicles/KIT-03/position", Position).Readings));
        Assert.Equal("kitchen", kitchen.Stream);
    }

    [Fact]
    public void Fields_the_contract_does_not_name_are_ignored_and_ts_is_truncated_to_milliseconds()
    {
        var r = Decode("vehicles/HAZ-01/position", """{"v":1,"ts":"2026-11-29T16:15:00.1239+08:00","lat":36.8,"lon":117.5,"speedKmh":0,"heading":270,"seq":5}""");
        var p = Assert.IsType<VehiclePositionReading>(Assert.Single(r.Readings));
        Assert.Equal(new DateTimeOffset(2026, 11, 29, 8, 15, 0, 123, TimeSpan.Zero), p.Time);
        Assert.Equal((36.8, 117.5, 0.0, "hazardous"), (p.Lat, p.Lon, p.SpeedKmh, p.Stream));
    }

    // The registry's bounds (36.80-37.30 N, 116.90-117.50 E) and the speed limits are inclusive.
    public static TheoryData<string> AcceptedEdges => new(
        """{"v":1,"ts":"2026-11-29T08:15:00Z","lat":36.8,"lon":116.9,"speedKmh":0}""",
        """{"v":1,"ts":"2026-11-29T08:15:00Z","lat":37.3,"lon":117.5,"speedKmh":200}""",
        """{"v":1,"ts":"2026-11-29T08:25:00Z","lat":36.97,"lon":117.18,"speedKmh":1e1}""",
        """{"v":1,"ts":"2026-11-22T08:20:00Z","lat":36.97,"lon":117.18,"speedKmh":32.5}""");

    [Theory]
    [MemberData(nameof(AcceptedEdges))]
    public void Edge_values_inside_the_contract_are_accepted(string payload)
    {
        var r = Decode("vehicles/RES-06/position", payload);
        Assert.True(r.IsAccepted, r.ToString());
        Assert.IsType<VehiclePositionReading>(Assert.Single(r.Readings));
    }

    public static TheoryData<string, string, RejectReason> EachRejection => new()
    {
        { "vehicles/REC-01/position", new string(' ', 4097), RejectReason.TooLarge },
        { "vehicles/REC-01/location", Position, RejectReason.UnknownTopic },
        { "vehicles/REC-01/position/extra", Position, RejectReason.UnknownTopic },
        { "vehicles//position", Position, RejectReason.UnknownTopic },
        { "vehicles/REC-01", Position, RejectReason.UnknownTopic },
        { "vehicles/REC-99/position", Position, RejectReason.UnknownVehicle },
        { "vehicles/rec-01/position", Position, RejectReason.UnknownVehicle },
        { "vehicles/JY-001/position", Position, RejectReason.UnknownVehicle }, // a bin is no vehicle
        { "vehicles/REC-01/position", "not json", RejectReason.MalformedJson },
        { "vehicles/REC-01/position", "", RejectReason.MalformedJson },
        { "vehicles/REC-01/position", "[36.97,117.18]", RejectReason.MalformedJson },
        { "vehicles/REC-01/position", """{"v":1,"v":1,"ts":"2026-11-29T08:15:00Z","lat":36.97,"lon":117.18,"speedKmh":32.5}""", RejectReason.MalformedJson },
        { "vehicles/REC-01/position", """{"v":1,"ts":"2026-11-29T08:15:00Z","lat":NaN,"lon":117.18,"speedKmh":32.5}""", RejectReason.MalformedJson },
        { "vehicles/REC-01/position", """{"v":2,"ts":"2026-11-29T08:15:00Z","lat":36.97,"lon":117.18,"speedKmh":32.5}""", RejectReason.UnsupportedVersion },
        { "vehicles/REC-01/position", """{"v":"1","ts":"2026-11-29T08:15:00Z","lat":36.97,"lon":117.18,"speedKmh":32.5}""", RejectReason.UnsupportedVersion },
        { "vehicles/REC-01/position", """{"ts":"2026-11-29T08:15:00Z","lat":36.97,"lon":117.18,"speedKmh":32.5}""", RejectReason.MissingField },
        { "vehicles/REC-01/position", """{"v":1,"lat":36.97,"lon":117.18,"speedKmh":32.5}""", RejectReason.MissingField },
        { "vehicles/REC-01/position", """{"v":1,"ts":"2026-11-29T08:15:00Z","lon":117.18,"speedKmh":32.5}""", RejectReason.MissingField },
        { "vehicles/REC-01/position", """{"v":1,"ts":"2026-11-29T08:15:00Z","lat":36.97,"speedKmh":32.5}""", RejectReason.MissingField },
        { "vehicles/REC-01/position", """{"v":1,"ts":"2026-11-29T08:15:00Z","lat":36.97,"lon":117.18}""", RejectReason.MissingField },
        { "vehicles/REC-01/position", """{"v":1,"ts":"2026-11-29T08:15:00Z","Lat":36.97,"lon":117.18,"speedKmh":32.5}""", RejectReason.MissingField },
        { "vehicles/REC-01/position", """{"v":1,"ts":"2026-11-29T08:15:00Z","lat":"36.97","lon":117.18,"speedKmh":32.5}""", RejectReason.InvalidField },
        { "vehicles/REC-01/position", """{"v":1,"ts":"2026-11-29T08:15:00Z","lat":36.97,"lon":null,"speedKmh":32.5}""", RejectReason.InvalidField },
        { "vehicles/REC-01/position", """{"v":1,"ts":"2026-11-29T08:15:00Z","lat":36.97,"lon":117.18,"speedKmh":true}""", RejectReason.InvalidField },
        { "vehicles/REC-01/position", """{"v":1,"ts":"2026-11-29 08:15:00Z","lat":36.97,"lon":117.18,"speedKmh":32.5}""", RejectReason.InvalidField },
        { "vehicles/REC-01/position", """{"v":1,"ts":1764404100,"lat":36.97,"lon":117.18,"speedKmh":32.5}""", RejectReason.InvalidField },
        { "vehicles/REC-01/position", """{"v":1,"ts":"2026-11-29T08:15:00Z","lat":36.79,"lon":117.18,"speedKmh":32.5}""", RejectReason.OutOfRange },
        { "vehicles/REC-01/position", """{"v":1,"ts":"2026-11-29T08:15:00Z","lat":37.31,"lon":117.18,"speedKmh":32.5}""", RejectReason.OutOfRange },
        { "vehicles/REC-01/position", """{"v":1,"ts":"2026-11-29T08:15:00Z","lat":36.97,"lon":116.89,"speedKmh":32.5}""", RejectReason.OutOfRange },
        { "vehicles/REC-01/position", """{"v":1,"ts":"2026-11-29T08:15:00Z","lat":36.97,"lon":117.51,"speedKmh":32.5}""", RejectReason.OutOfRange },
        { "vehicles/REC-01/position", """{"v":1,"ts":"2026-11-29T08:15:00Z","lat":117.18,"lon":36.97,"speedKmh":32.5}""", RejectReason.OutOfRange }, // swapped
        { "vehicles/REC-01/position", """{"v":1,"ts":"2026-11-29T08:15:00Z","lat":0,"lon":0,"speedKmh":0}""", RejectReason.OutOfRange }, // no fix
        { "vehicles/REC-01/position", """{"v":1,"ts":"2026-11-29T08:15:00Z","lat":1e400,"lon":117.18,"speedKmh":32.5}""", RejectReason.OutOfRange },
        { "vehicles/REC-01/position", """{"v":1,"ts":"2026-11-29T08:15:00Z","lat":36.97,"lon":117.18,"speedKmh":-0.1}""", RejectReason.OutOfRange },
        { "vehicles/REC-01/position", """{"v":1,"ts":"2026-11-29T08:15:00Z","lat":36.97,"lon":117.18,"speedKmh":200.01}""", RejectReason.OutOfRange },
        { "vehicles/REC-01/position", """{"v":1,"ts":"2026-11-29T08:25:00.001Z","lat":36.97,"lon":117.18,"speedKmh":32.5}""", RejectReason.TimestampSkew },
        { "vehicles/REC-01/position", """{"v":1,"ts":"2026-11-22T08:19:59.999Z","lat":36.97,"lon":117.18,"speedKmh":32.5}""", RejectReason.TimestampSkew },
    };

    [Theory]
    [MemberData(nameof(EachRejection))]
    public void Position_gets_the_contract_reason(string topic, string payload, RejectReason reason) =>
        AssertRejected(reason, Decode(topic, payload));

    public static TheoryData<string, RejectReason> Precedence => new()
    {
        // Each payload fails two checks; the earlier one in the contract's order is the reason, whatever the property order.
        { """{"speedKmh":-5,"v":2,"ts":"2026-11-29T08:15:00Z","lat":36.97,"lon":117.18}""", RejectReason.UnsupportedVersion },
        { """{"lat":99,"v":1,"ts":"2026-11-29T08:15:00Z","lon":117.18}""", RejectReason.MissingField },
        { """{"lat":99,"v":1,"ts":"2026-11-29T08:15:00Z","lon":"117.18","speedKmh":1}""", RejectReason.InvalidField },
        { """{"v":1,"ts":"2020-01-01T00:00:00Z","lat":99,"lon":117.18,"speedKmh":1}""", RejectReason.OutOfRange },
    };

    [Theory]
    [MemberData(nameof(Precedence))]
    public void The_first_failing_check_in_contract_order_wins(string payload, RejectReason reason) =>
        AssertRejected(reason, Decode("vehicles/REC-02/position", payload));

    [Fact]
    public void Invalid_utf8_and_byte_order_mark_are_malformed_json()
    {
        var decoder = new DeviceMessageDecoder(DecoderTests.Registry, new DecoderSettings());
        AssertRejected(RejectReason.MalformedJson, decoder.Decode("vehicles/REC-01/position", new byte[] { 0x7B, 0xFF, 0x7D }, DecoderTests.Now));
        AssertRejected(RejectReason.MalformedJson, decoder.Decode("vehicles/REC-01/position", Encoding.UTF8.GetBytes("\uFEFF" + Position), DecoderTests.Now));
    }

    [Fact]
    public void Dead_letter_bin_tag_is_the_registered_vehicle_or_none()
    {
        Assert.Equal("REC-01", Decode("vehicles/REC-01/position", "oops").Rejection!.BinId);
        Assert.Equal("REC-01", Decode("vehicles/REC-01/location", Position).Rejection!.BinId);
        Assert.Equal("REC-01", Decode("vehicles/REC-01/position", new string(' ', 5000)).Rejection!.BinId);
        Assert.Null(Decode("vehicles/REC-99/position", Position).Rejection!.BinId);
        Assert.Null(Decode("vehicles//position", Position).Rejection!.BinId);
        Assert.Equal("unknown-vehicle", RejectReason.UnknownVehicle.Name());
    }

    [Fact]
    public void Max_age_follows_the_setting()
    {
        var decoder = new DeviceMessageDecoder(DecoderTests.Registry, new DecoderSettings { MaxAge = TimeSpan.FromMinutes(10) });
        var old = Encoding.UTF8.GetBytes("""{"v":1,"ts":"2026-11-29T08:09:59Z","lat":36.97,"lon":117.18,"speedKmh":32.5}""");
        AssertRejected(RejectReason.TimestampSkew, decoder.Decode("vehicles/REC-01/position", old, DecoderTests.Now));
        Assert.True(decoder.Decode("vehicles/REC-01/position", old, DecoderTests.Now.AddMinutes(-1)).IsAccepted);
    }
}
