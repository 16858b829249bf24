using System.Globalization;
using System.Text.Json;
using System.Text.Unicode;
using Telemetry.Contracts.Devices;
using Telemetry.Contracts.Readings;
using Telemetry.Fleet;

namespace Telemetry.Ingestion.Decoding;

/// <summary>
/// Turns one MQTT message (topic, payload bytes, receive time) into typed readings or the single
/// rejection reason CONTRACT §2 assigns. Pure and thread-safe; never throws for any input.
/// </summary>
/// <remarks>
/// The checks are written to decide every input themselves. A safety net still turns an exception
/// escaping them into a <c>malformed-json</c> rejection (one input must never stop ingestion), but
/// marks it <see cref="Rejection.IsDecoderFault"/> and counts it in <see cref="DecoderFaults"/>, so a
/// bug is visible instead of passing as a device's malformed payload.
/// </remarks>
/// <remarks>
/// Every check runs and the failure with the highest precedence wins, so the reason does not
/// depend on the order of properties in the payload. Parsing is strict where System.Text.Json's
/// defaults are lenient: duplicate property names, a byte-order mark, comments and trailing
/// commas are malformed JSON; numbers in strings are wrong types; names are case-sensitive.
/// </remarks>
public sealed class DeviceMessageDecoder(FleetRegistry registry, DecoderSettings settings)
{
    private static readonly JsonDocumentOptions JsonOptions = new()
    {
        AllowTrailingCommas = false,
        CommentHandling = JsonCommentHandling.Disallow,
        MaxDepth = 64,
        AllowDuplicateProperties = false,
    };

    private const long MaxSeq = (1L << 53) - 1;

    private long _decoderFaults;

    public FleetRegistry Registry => registry;

    /// <summary>Messages that reached the safety net (see <see cref="Rejection.IsDecoderFault"/>); zero unless the decoder has a bug.</summary>
    public long DecoderFaults => Interlocked.Read(ref _decoderFaults);

    public DecodeResult Decode(string topic, ReadOnlyMemory<byte> payload, DateTimeOffset receivedAt)
    {
        try
        {
            return DecodeCore(topic ?? "", payload, receivedAt);
        }
#pragma warning disable CA1031 // The decoder's promise is that no input escapes as an exception; the fault is flagged and counted.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Interlocked.Increment(ref _decoderFaults);
            return DecodeResult.Fault($"decoder fault: {ex.GetType().Name}: {Shorten(ex.Message)}", SafeTopicBin(topic ?? ""));
        }
    }

    private string? SafeTopicBin(string topic)
    {
        try
        {
            return TopicBin(topic);
        }
#pragma warning disable CA1031 // Already handling a fault: a second one must not escape; the dead letter is tagged unknown instead.
        catch (Exception)
#pragma warning restore CA1031
        {
            return null;
        }
    }

    /// <summary>
    /// The registered device a topic names, if any: a bin (<c>bins/{id}/…</c>) or a vehicle (<c>vehicles/{id}/…</c>); the
    /// dead letter's <c>bin</c> tag (a registry id, else <c>unknown</c>), so an operator finds a misconfigured truck by its id.
    /// </summary>
    public string? TopicBin(string topic)
    {
        var parts = topic.Split('/');
        if (parts.Length < 2)
        {
            return null;
        }
        return parts[0] switch
        {
            DeviceTopics.Root when registry.FindBin(parts[1]) is not null => parts[1],
            DeviceTopics.VehicleRoot when registry.FindVehicle(parts[1]) is not null => parts[1],
            _ => null,
        };
    }

    private DecodeResult DecodeCore(string topic, ReadOnlyMemory<byte> payload, DateTimeOffset receivedAt)
    {
        if (payload.Length > DeviceTopics.MaxPayloadBytes)
        {
            return DecodeResult.Reject(RejectReason.TooLarge, $"payload is {payload.Length} bytes; the limit is {DeviceTopics.MaxPayloadBytes}", TopicBin(topic));
        }

        var parts = topic.Split('/');
        if (parts[0] == DeviceTopics.VehicleRoot)
        {
            return DecodeVehicle(topic, parts, payload, receivedAt);
        }
        MessageKind kind;
        if (parts.Length != 3 || parts[0] != DeviceTopics.Root || parts[1].Length == 0 || !TryKind(parts[2], out kind))
        {
            return DecodeResult.Reject(RejectReason.UnknownTopic, $"topic '{Shorten(topic)}' is not bins/{{binId}}/fill|weight|status", TopicBin(topic));
        }

        var bin = registry.FindBin(parts[1]);
        if (bin is null)
        {
            return DecodeResult.Reject(RejectReason.UnknownBin, $"bin '{Shorten(parts[1])}' is not in the registry", null);
        }

        if (ParseObject(payload, bin.Id, out var doc) is { } malformed)
        {
            return malformed;
        }

        using (doc)
        {
            var root = doc!.RootElement;
            var check = new Checks();
            var readings = kind == MessageKind.Status
                ? DecodeStatus(root, bin, receivedAt, ref check)
                : DecodeCompartments(kind, root, bin, receivedAt, ref check);
            return check.Reason is { } reason
                ? DecodeResult.Reject(reason, check.Detail!, bin.Id)
                : DecodeResult.Accept(kind, bin.Id, readings!);
        }
    }

    /// <summary>The payload as a JSON object, or the <c>malformed-json</c> rejection (not UTF-8, a byte-order mark, not JSON, not an object).</summary>
    private static DecodeResult? ParseObject(ReadOnlyMemory<byte> payload, string deviceId, out JsonDocument? doc)
    {
        doc = null;
        var span = payload.Span;
        if (!Utf8.IsValid(span))
        {
            return DecodeResult.Reject(RejectReason.MalformedJson, "payload is not valid UTF-8", deviceId);
        }
        if (span.StartsWith("\uFEFF"u8))
        {
            return DecodeResult.Reject(RejectReason.MalformedJson, "payload starts with a byte-order mark", deviceId);
        }
        JsonDocument parsed;
        try
        {
            parsed = JsonDocument.Parse(payload, JsonOptions);
        }
        catch (JsonException ex)
        {
            return DecodeResult.Reject(RejectReason.MalformedJson, $"not JSON: {ex.Message}", deviceId);
        }
        if (parsed.RootElement.ValueKind != JsonValueKind.Object)
        {
            var kind = parsed.RootElement.ValueKind.ToString().ToLowerInvariant();
            parsed.Dispose();
            return DecodeResult.Reject(RejectReason.MalformedJson, $"payload is a JSON {kind}, not an object", deviceId);
        }
        doc = parsed;
        return null;
    }

    /// <summary>
    /// <c>vehicles/{vehicleId}/position</c>: checked in the bins' order (topic, vehicle, JSON, version, fields, ranges, clock).
    /// <c>v</c>, <c>ts</c>, <c>lat</c>, <c>lon</c> and <c>speedKmh</c> are required; lat and lon must lie within the registry's
    /// bounds (a truck of the district is in the district), the speed from 0 to <see cref="MaxSpeedKmh"/>.
    /// </summary>
    private DecodeResult DecodeVehicle(string topic, string[] parts, ReadOnlyMemory<byte> payload, DateTimeOffset receivedAt)
    {
        if (parts.Length != 3 || parts[1].Length == 0 || parts[2] != DeviceTopics.PositionSuffix)
        {
            return DecodeResult.Reject(RejectReason.UnknownTopic, $"topic '{Shorten(topic)}' is not vehicles/{{vehicleId}}/position", TopicBin(topic));
        }
        var vehicle = registry.FindVehicle(parts[1]);
        if (vehicle is null)
        {
            return DecodeResult.Reject(RejectReason.UnknownVehicle, $"vehicle '{Shorten(parts[1])}' is not in the registry", null);
        }
        if (ParseObject(payload, vehicle.Id, out var doc) is { } malformed)
        {
            return malformed;
        }
        using (doc)
        {
            var root = doc!.RootElement;
            var check = new Checks();
            CheckVersion(root, ref check, required: true);
            var ts = ReadTimestamp(root, required: true, receivedAt, ref check);
            var bounds = registry.Bounds;
            var lat = ReadNumber(root, "lat", default, required: true, ref check);
            if (lat is { } la)
            {
                CheckRange(la, bounds.South, bounds.North, default, "lat", ref check);
            }
            var lon = ReadNumber(root, "lon", default, required: true, ref check);
            if (lon is { } lo)
            {
                CheckRange(lo, bounds.West, bounds.East, default, "lon", ref check);
            }
            var speed = ReadNumber(root, "speedKmh", default, required: true, ref check);
            if (speed is { } sp)
            {
                CheckRange(sp, 0, MaxSpeedKmh, default, "speedKmh", ref check);
            }
            if (check.Reason is { } reason)
            {
                return DecodeResult.Reject(reason, check.Detail!, vehicle.Id);
            }
            return DecodeResult.Accept(MessageKind.Position, vehicle.Id,
                [new VehiclePositionReading(vehicle.Id, vehicle.Stream.Name(), ts!.Value, lat!.Value, lon!.Value, speed!.Value)]);
        }
    }

    /// <summary>The highest speed a position may report, km/h: above any truck's, so a larger figure is a faulty unit.</summary>
    public const double MaxSpeedKmh = 200;

    private List<Reading>? DecodeCompartments(MessageKind kind, JsonElement root, Bin bin, DateTimeOffset receivedAt, ref Checks check)
    {
        CheckVersion(root, ref check, required: true);
        var ts = ReadTimestamp(root, required: true, receivedAt, ref check);
        var seq = ReadSeq(root, required: true, ref check);

        var community = bin.Community;
        var readings = new List<Reading>();
        if (!root.TryGetProperty("compartments"u8, out var list))
        {
            check.Fail(RejectReason.MissingField, "compartments is required");
            return null;
        }
        if (list.ValueKind != JsonValueKind.Array)
        {
            check.Fail(RejectReason.InvalidField, $"compartments must be an array, not {Describe(list)}");
            return null;
        }
        if (list.GetArrayLength() == 0)
        {
            check.Fail(RejectReason.MissingField, "compartments is empty");
            return null;
        }

        var valueName = kind == MessageKind.Fill ? "fillPct" : "netKg";
        // Compartments seen so far: a bin has a handful, so a list beats a hash set (and its allocations).
        var seen = new List<string>(list.GetArrayLength());
        var index = -1;
        foreach (var item in list.EnumerateArray())
        {
            index++;
            // Named in failure details only: built when a check fails, not for every compartment of every message.
            var at = new ItemPath(index);
            if (item.ValueKind != JsonValueKind.Object)
            {
                check.Fail(RejectReason.InvalidField, $"{at} must be an object, not {Describe(item)}");
                continue;
            }

            Compartment? compartment = null;
            if (!item.TryGetProperty("id"u8, out var idElement))
            {
                check.Fail(RejectReason.MissingField, $"{at}.id is required");
            }
            else if (idElement.ValueKind != JsonValueKind.String || TryGetString(idElement) is not { } id)
            {
                check.Fail(RejectReason.InvalidField, $"{at}.id must be a string, not {Describe(idElement)}");
            }
            else if (seen.Contains(id))
            {
                check.Fail(RejectReason.InvalidField, $"{at}.id '{Shorten(id)}' appears more than once");
            }
            else if ((compartment = bin.FindCompartment(id)) is null)
            {
                seen.Add(id);
                check.Fail(RejectReason.UnknownCompartment, $"{at}.id: bin {bin.Id} has no compartment '{Shorten(id)}'");
            }
            else
            {
                seen.Add(id);
            }

            var value = ReadNumber(item, valueName, at, required: true, ref check);
            if (kind == MessageKind.Fill)
            {
                if (value is { } pct)
                {
                    CheckRange(pct, 0, 100, at, "fillPct", ref check);
                }
                if (compartment is not null && value is { } p && ts is { } t && seq is { } s)
                {
                    readings.Add(new FillReading(bin.Id, community, compartment.Id, compartment.Stream.Name(), t, s, p));
                }
            }
            else
            {
                if (value is { } kg && compartment is not null)
                {
                    CheckRange(kg, 0, 2 * compartment.MaxKg, at, "netKg", ref check);
                }
                double? deposit = null;
                if (item.TryGetProperty("depositKg"u8, out _))
                {
                    deposit = ReadNumber(item, "depositKg", at, required: false, ref check);
                    if (deposit is { } d && !(d > 0 && d <= 100))
                    {
                        check.Fail(RejectReason.OutOfRange, $"{at}.depositKg {Format(d)} must be greater than 0 and at most 100");
                    }
                }
                if (compartment is not null && value is { } net && ts is { } t && seq is { } s)
                {
                    readings.Add(new WeightReading(bin.Id, community, compartment.Id, compartment.Stream.Name(), t, s, net, deposit));
                }
            }
        }
        return readings;
    }

    private List<Reading>? DecodeStatus(JsonElement root, Bin bin, DateTimeOffset receivedAt, ref Checks check)
    {
        CheckVersion(root, ref check, required: true);
        var ts = ReadTimestamp(root, required: false, receivedAt, ref check);
        var seq = ReadSeq(root, required: false, ref check);

        var any = false;
        var online = ReadBool(root, "online", ref check, ref any);
        var tilt = ReadBool(root, "tilt", ref check, ref any);
        var doorOpen = ReadBool(root, "doorOpen", ref check, ref any);
        double? battery = null, temp = null;
        if (root.TryGetProperty("batteryPct"u8, out _))
        {
            any = true;
            battery = ReadNumber(root, "batteryPct", default, required: false, ref check);
            if (battery is { } b)
            {
                CheckRange(b, 0, 100, default, "batteryPct", ref check);
            }
        }
        if (root.TryGetProperty("tempC"u8, out _))
        {
            any = true;
            temp = ReadNumber(root, "tempC", default, required: false, ref check);
            if (temp is { } c)
            {
                CheckRange(c, -50, 150, default, "tempC", ref check);
            }
        }
        if (!any)
        {
            check.Fail(RejectReason.MissingField, "status needs at least one of online, batteryPct, tempC, tilt, doorOpen");
        }
        var time = ts ?? Rfc3339.TruncateToMilliseconds(receivedAt);
        return [new StatusReading(bin.Id, bin.Community, time, seq, ts is not null, online, battery, temp, tilt, doorOpen)];
    }

    private static void CheckVersion(JsonElement root, ref Checks check, bool required)
    {
        if (!root.TryGetProperty("v"u8, out var v))
        {
            if (required)
            {
                check.Fail(RejectReason.MissingField, "v is required");
            }
            return;
        }
        // decimal, not double: 1.0000000000000001 is not the number 1.
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDecimal(out var d) || d != 1m)
        {
            check.Fail(RejectReason.UnsupportedVersion, $"v must be the number 1, not {Describe(v)}");
        }
    }

    private DateTimeOffset? ReadTimestamp(JsonElement root, bool required, DateTimeOffset receivedAt, ref Checks check)
    {
        if (!root.TryGetProperty("ts"u8, out var ts))
        {
            if (required)
            {
                check.Fail(RejectReason.MissingField, "ts is required");
            }
            return null;
        }
        if (ts.ValueKind != JsonValueKind.String || TryGetString(ts) is not { } text || !Rfc3339.TryParse(text, out var parsed))
        {
            check.Fail(RejectReason.InvalidField, $"ts must be an RFC 3339 date-time string, not {Describe(ts)}");
            return null;
        }
        // Only ts is truncated (CONTRACT §2); the receiver's clock is taken as it is.
        var t = Rfc3339.TruncateToMilliseconds(parsed);
        var received = receivedAt;
        if (t - received > settings.MaxFutureSkew)
        {
            check.Fail(RejectReason.TimestampSkew, $"ts {Format(t)} is more than {settings.MaxFutureSkew.TotalMinutes:0.#} min ahead of the receiver's clock ({Format(received)})");
        }
        else if (received - t > settings.MaxAge)
        {
            check.Fail(RejectReason.TimestampSkew, $"ts {Format(t)} is older than Ingestion:MaxAge ({settings.MaxAge}) at {Format(received)}");
        }
        return t;
    }

    private static long? ReadSeq(JsonElement root, bool required, ref Checks check)
    {
        if (!root.TryGetProperty("seq"u8, out var seq))
        {
            if (required)
            {
                check.Fail(RejectReason.MissingField, "seq is required");
            }
            return null;
        }
        if (seq.ValueKind == JsonValueKind.Number)
        {
            if (seq.TryGetInt64(out var l) && l is >= 0 and <= MaxSeq)
            {
                return l;
            }
            // 1042.0 or 1.042e3 are integers too, written differently; decimal keeps 4503599627370496.5 from rounding.
            if (seq.TryGetDecimal(out var d) && d >= 0 && d <= MaxSeq && decimal.Truncate(d) == d)
            {
                return (long)d;
            }
        }
        check.Fail(RejectReason.InvalidField, $"seq must be an integer from 0 to 2^53-1, not {Describe(seq)}");
        return null;
    }

    private static double? ReadNumber(JsonElement obj, string name, ItemPath at, bool required, ref Checks check)
    {
        if (!obj.TryGetProperty(name, out var e))
        {
            if (required)
            {
                check.Fail(RejectReason.MissingField, $"{at.Of(name)} is required");
            }
            return null;
        }
        if (e.ValueKind != JsonValueKind.Number)
        {
            check.Fail(RejectReason.InvalidField, $"{at.Of(name)} must be a number, not {Describe(e)}");
            return null;
        }
        if (!e.TryGetDouble(out var d))
        {
            check.Fail(RejectReason.OutOfRange, $"{at.Of(name)} {Shorten(e.GetRawText())} is too large for a double");
            return null;
        }
        return d;
    }

    private static bool? ReadBool(JsonElement root, string name, ref Checks check, ref bool any)
    {
        if (!root.TryGetProperty(name, out var e))
        {
            return null;
        }
        any = true;
        if (e.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return e.GetBoolean();
        }
        check.Fail(RejectReason.InvalidField, $"{name} must be a boolean, not {Describe(e)}");
        return null;
    }

    private static void CheckRange(double value, double min, double max, ItemPath at, string name, ref Checks check)
    {
        if (!(value >= min && value <= max))
        {
            check.Fail(RejectReason.OutOfRange, $"{at.Of(name)} {Format(value)} is outside {Format(min)}–{Format(max)}");
        }
    }

    /// <summary>Where a field is: <c>compartments[i]</c>, or the payload's top level (<c>default</c>); text only on demand.</summary>
    private readonly struct ItemPath(int index)
    {
        private readonly int _index = index + 1; // 0: top level

        public string Of(string name) => _index == 0 ? name : $"{this}.{name}";

        public override string ToString() => _index == 0 ? "" : $"compartments[{_index - 1}]";
    }

    private static string? TryGetString(JsonElement e)
    {
        try
        {
            return e.GetString();
        }
        catch (InvalidOperationException)
        {
            // An escaped lone surrogate ("\ud800") is valid JSON text but no valid string.
            return null;
        }
    }

    private static bool TryKind(string suffix, out MessageKind kind)
    {
        switch (suffix)
        {
            case DeviceTopics.FillSuffix: kind = MessageKind.Fill; return true;
            case DeviceTopics.WeightSuffix: kind = MessageKind.Weight; return true;
            case DeviceTopics.StatusSuffix: kind = MessageKind.Status; return true;
            default: kind = default; return false;
        }
    }

    private static string Describe(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => $"the string {Shorten(e.GetRawText())}",
        JsonValueKind.Number => $"the number {Shorten(e.GetRawText())}",
        JsonValueKind.True or JsonValueKind.False => $"the boolean {e.GetRawText()}",
        JsonValueKind.Null => "null",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => e.ValueKind.ToString(),
    };

    private static string Format(double d) => d.ToString("R", CultureInfo.InvariantCulture);

    private static string Format(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static string Shorten(string s) => s.Length <= 64 ? s : string.Concat(s.AsSpan(0, 61), "...");

    /// <summary>Keeps the failure with the highest precedence (lowest reason number) seen so far.</summary>
    private struct Checks
    {
        public RejectReason? Reason;
        public string? Detail;

        public void Fail(RejectReason reason, string detail)
        {
            if (Reason is null || reason < Reason)
            {
                Reason = reason;
                Detail = detail;
            }
        }
    }
}
