using System.Globalization;
using System.Text;
using Telemetry.Contracts.Readings;

namespace Telemetry.Storage.InfluxDb;

/// <summary>
/// InfluxDB line protocol for the measurements of CONTRACT §3. Readings are timed in milliseconds,
/// dead letters in microseconds. Numbers other than <c>seq</c> are floats (written without the
/// <c>i</c> suffix, in round-trip form); <c>seq</c> is an integer.
/// </summary>
/// <remarks>
/// String field values escape only <c>"</c> and <c>\</c>. Newlines, carriage returns and NUL characters
/// are written as they are: influxd 1.6.7 (checked) stores them verbatim inside a quoted string and
/// returns them unchanged; escaping them (<c>\n</c>) would be stored literally as a backslash and an
/// <c>n</c>. Tag values escape commas, equals signs and spaces; a newline in a tag value becomes a
/// space, and a backslash becomes <c>/</c> (influxd 1.x refuses a tag value ending in a backslash,
/// even escaped). An empty tag value is left out (InfluxDB has no empty tags).
/// </remarks>
internal static class LineProtocol
{
    public const string Fill = "fill";
    public const string Weight = "weight";
    public const string Status = "status";
    public const string DeadLetter = "dead_letter";

    public static string Format(Reading reading)
    {
        var sb = new StringBuilder(160);
        switch (reading)
        {
            case FillReading f:
                sb.Append(Fill);
                Tag(sb, "bin", f.BinId);
                Tag(sb, "community", f.Community);
                Tag(sb, "compartment", f.Compartment);
                Tag(sb, "stream", f.Stream);
                sb.Append(' ');
                FloatField(sb, "pct", f.Pct, first: true, reading);
                IntField(sb, "seq", f.Seq);
                break;
            case WeightReading w:
                sb.Append(Weight);
                Tag(sb, "bin", w.BinId);
                Tag(sb, "community", w.Community);
                Tag(sb, "compartment", w.Compartment);
                Tag(sb, "stream", w.Stream);
                sb.Append(' ');
                FloatField(sb, "net_kg", w.NetKg, first: true, reading);
                if (w.DepositKg is { } deposit)
                {
                    FloatField(sb, "deposit_kg", deposit, first: false, reading);
                }
                IntField(sb, "seq", w.Seq);
                break;
            case StatusReading s:
                sb.Append(Status);
                Tag(sb, "bin", s.BinId);
                Tag(sb, "community", s.Community);
                sb.Append(' ');
                var first = true;
                if (s.Online is { } online)
                {
                    BoolField(sb, "online", online, first);
                    first = false;
                }
                if (s.BatteryPct is { } battery)
                {
                    FloatField(sb, "battery_pct", battery, first, reading);
                    first = false;
                }
                if (s.TempC is { } temp)
                {
                    FloatField(sb, "temp_c", temp, first, reading);
                    first = false;
                }
                if (s.Tilt is { } tilt)
                {
                    BoolField(sb, "tilt", tilt, first);
                    first = false;
                }
                if (s.DoorOpen is { } door)
                {
                    BoolField(sb, "door_open", door, first);
                    first = false;
                }
                if (s.Seq is { } seq)
                {
                    if (!first)
                    {
                        sb.Append(',');
                    }
                    sb.Append("seq=").Append(seq.ToString(CultureInfo.InvariantCulture)).Append('i');
                    first = false;
                }
                if (first)
                {
                    throw new StoreRejectedException($"status of {s.BinId} at {s.Time:O} has no field to store");
                }
                break;
            default:
                throw new ArgumentException($"unknown reading type {reading.GetType().Name}", nameof(reading));
        }
        sb.Append(' ').Append(reading.Time.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
        return sb.ToString();
    }

    /// <summary>A dead letter at <paramref name="timeUs"/> (microseconds since the epoch).</summary>
    public static string Format(DeadLetter d, long timeUs)
    {
        var sb = new StringBuilder(256 + d.Payload.Length);
        sb.Append(DeadLetter);
        // Tags in key order (InfluxDB's preferred order): bin, ingester, reason.
        Tag(sb, "bin", d.BinId);
        Tag(sb, "ingester", d.Ingester);
        Tag(sb, "reason", d.Reason);
        sb.Append(' ');
        StringField(sb, "topic", d.Topic, first: true);
        StringField(sb, "payload", d.Payload, first: false);
        StringField(sb, "error", d.Error, first: false);
        sb.Append(' ').Append(timeUs.ToString(CultureInfo.InvariantCulture));
        return sb.ToString();
    }

    public static long ToUnixMicroseconds(DateTimeOffset t) => (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    public static DateTimeOffset FromUnixMicroseconds(long us) => DateTimeOffset.UnixEpoch.AddTicks(us * 10);

    private static void Tag(StringBuilder sb, string key, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return;
        }
        sb.Append(',').Append(key).Append('=');
        foreach (var c in value)
        {
            switch (c)
            {
                case ',' or '=' or ' ':
                    sb.Append('\\').Append(c);
                    break;
                case '\n' or '\r' or '\t':
                    sb.Append("\\ ");
                    break;
                case '\\':
                    sb.Append('/');
                    break;
                default:
                    sb.Append(c);
                    break;
            }
        }
    }

    private static void FloatField(StringBuilder sb, string key, double value, bool first, Reading reading)
    {
        if (!double.IsFinite(value))
        {
            throw new StoreRejectedException($"{key} of {reading.BinId} at {reading.Time:O} is {value.ToString(CultureInfo.InvariantCulture)}; InfluxDB cannot store NaN or infinity");
        }
        if (!first)
        {
            sb.Append(',');
        }
        sb.Append(key).Append('=').Append(value.ToString("R", CultureInfo.InvariantCulture));
    }

    private static void IntField(StringBuilder sb, string key, long value) =>
        sb.Append(',').Append(key).Append('=').Append(value.ToString(CultureInfo.InvariantCulture)).Append('i');

    private static void BoolField(StringBuilder sb, string key, bool value, bool first)
    {
        if (!first)
        {
            sb.Append(',');
        }
        sb.Append(key).Append('=').Append(value ? "true" : "false");
    }

    private static void StringField(StringBuilder sb, string key, string? value, bool first)
    {
        if (!first)
        {
            sb.Append(',');
        }
        sb.Append(key).Append("=\"");
        foreach (var c in value ?? "")
        {
            if (c is '"' or '\\')
            {
                sb.Append('\\');
            }
            sb.Append(c);
        }
        sb.Append('"');
    }
}
