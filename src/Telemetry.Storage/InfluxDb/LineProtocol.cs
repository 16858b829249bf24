using System.Globalization;
using System.Text;
using Telemetry.Contracts.Readings;

namespace Telemetry.Storage.InfluxDb;

/// <summary>
/// InfluxDB line protocol for the measurements of CONTRACT §3. Readings (and vehicle positions), collections, device events, alert
/// events, job events and route plans are timed in milliseconds, dead letters in microseconds. Numbers other than <c>seq</c> are floats (written without the
/// <c>i</c> suffix, in round-trip form); <c>seq</c> is an integer.
/// </summary>
/// <remarks>
/// <para>
/// Text (CONTRACT §3): in every string field and tag value, <c>\</c> is written as <c>\\</c>, CR as
/// <c>\r</c>, LF as <c>\n</c> and NUL as <c>\0</c> (<see cref="EscapeText"/>) before line-protocol
/// escaping, so a line never carries a raw CR, LF or NUL: a value cannot end its line early and smuggle
/// in a point of its own. <see cref="UnescapeText"/> restores the exact text on reading.
/// </para>
/// <para>
/// Line-protocol escaping then follows what influxd 1.6.7 does (checked on the real server):
/// in a string field it unescapes <c>\"</c> and <c>\\</c>, so both are escaped; in a tag value it
/// unescapes only <c>\,</c>, <c>\=</c> and <c>\ </c> and keeps every other backslash as it is
/// (<c>t=a\\b</c> is stored as <c>a\\b</c>), so only commas, equals signs and spaces are escaped there.
/// influxd 1.6.7 takes a comma or space right after any backslash for an escaped one, so it refuses a
/// tag value that ends in a backslash, escaped or not (<c>t=a\\ f=1</c>: "invalid tag format"); the
/// contract's escaping yields exactly that for a text ending in <c>\</c>. Such a tag value gets
/// <c>\.</c> appended (<see cref="TagText"/>: <c>a\</c> is stored as <c>a\\\.</c>); in escaped text a
/// backslash is only ever followed by <c>\</c>, <c>r</c>, <c>n</c> or <c>0</c>, so the marker cannot be
/// mistaken for text, and <see cref="UnescapeText"/> drops it. Tag values come from the registry and
/// the configuration (bin, community, compartment, stream, ingester, reason), never from a device, so
/// the marker is for odd configurations only. An empty tag value is left out (InfluxDB has no empty tags).
/// </para>
/// </remarks>
internal static class LineProtocol
{
    public const string Fill = "fill";
    public const string Weight = "weight";
    public const string Status = "status";
    public const string DeadLetter = "dead_letter";
    public const string Collection = "collection";
    public const string DeviceEvent = "device_event";
    public const string AlertEvent = "alert_event";
    public const string JobEvent = "job_event";
    public const string VehiclePosition = "vehicle_position";
    public const string RoutePlan = "route_plan";

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
                FloatField(sb, "pct", f.Pct, first: true, reading.BinId, reading.Time);
                IntField(sb, "seq", f.Seq);
                break;
            case WeightReading w:
                sb.Append(Weight);
                Tag(sb, "bin", w.BinId);
                Tag(sb, "community", w.Community);
                Tag(sb, "compartment", w.Compartment);
                Tag(sb, "stream", w.Stream);
                sb.Append(' ');
                FloatField(sb, "net_kg", w.NetKg, first: true, reading.BinId, reading.Time);
                if (w.DepositKg is { } deposit)
                {
                    FloatField(sb, "deposit_kg", deposit, first: false, reading.BinId, reading.Time);
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
                    FloatField(sb, "battery_pct", battery, first, reading.BinId, reading.Time);
                    first = false;
                }
                if (s.TempC is { } temp)
                {
                    FloatField(sb, "temp_c", temp, first, reading.BinId, reading.Time);
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
            case VehiclePositionReading p:
                sb.Append(VehiclePosition);
                Tag(sb, "stream", p.Stream);
                Tag(sb, "vehicle", p.VehicleId);
                sb.Append(' ');
                FloatField(sb, "lat", p.Lat, first: true, p.VehicleId, p.Time);
                FloatField(sb, "lon", p.Lon, first: false, p.VehicleId, p.Time);
                FloatField(sb, "speed_kmh", p.SpeedKmh, first: false, p.VehicleId, p.Time);
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
        var sb = new StringBuilder(256 + (2 * d.Payload.Length));
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

    /// <summary>A collection (measurement <c>collection</c>), timed in milliseconds.</summary>
    public static string Format(CollectionEvent e)
    {
        var sb = new StringBuilder(192);
        sb.Append(Collection);
        Tag(sb, "bin", e.BinId);
        Tag(sb, "community", e.Community);
        Tag(sb, "compartment", e.Compartment);
        Tag(sb, "stream", e.Stream);
        sb.Append(' ');
        FloatField(sb, "kg_collected", e.KgCollected, first: true, e.BinId, e.Time);
        FloatField(sb, "fill_before_pct", e.FillBeforePct, first: false, e.BinId, e.Time);
        FloatField(sb, "fill_after_pct", e.FillAfterPct, first: false, e.BinId, e.Time);
        sb.Append(' ').Append(e.Time.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
        return sb.ToString();
    }

    /// <summary>A device event (measurement <c>device_event</c>), timed in milliseconds; <c>seq</c> only when known.</summary>
    public static string Format(DeviceEvent e)
    {
        var sb = new StringBuilder(160 + (2 * (e.Detail?.Length ?? 0)));
        sb.Append(DeviceEvent);
        Tag(sb, "bin", e.BinId);
        Tag(sb, "community", e.Community);
        Tag(sb, "kind", e.Kind);
        sb.Append(' ');
        if (e.Seq is { } seq)
        {
            sb.Append("seq=").Append(seq.ToString(CultureInfo.InvariantCulture)).Append("i,");
        }
        StringField(sb, "detail", e.Detail, first: true);
        sb.Append(' ').Append(e.Time.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
        return sb.ToString();
    }

    /// <summary>
    /// An alert event (measurement <c>alert_event</c>), timed in milliseconds at <see cref="StoredAlertEvent.At"/>. Tags in key
    /// order: <c>bin</c>, <c>community</c>, <c>compartment</c> (left out for a bin's alerts), <c>kind</c>, <c>severity</c>,
    /// <c>type</c>. String fields <c>alert_id</c> and <c>raised_at</c>, and <c>cleared_at</c>, <c>acknowledged_at</c> and
    /// <c>acknowledged_by</c> only when set; times as RFC 3339 UTC text with milliseconds (<see cref="AlertTime"/>).
    /// </summary>
    public static string Format(StoredAlertEvent e)
    {
        var sb = new StringBuilder(256 + (2 * (e.AcknowledgedBy?.Length ?? 0)));
        sb.Append(AlertEvent);
        Tag(sb, "bin", e.BinId);
        Tag(sb, "community", e.Community);
        Tag(sb, "compartment", e.Compartment);
        Tag(sb, "kind", e.Kind);
        Tag(sb, "severity", e.Severity);
        Tag(sb, "type", e.Type);
        sb.Append(' ');
        StringField(sb, "alert_id", e.AlertId, first: true);
        StringField(sb, "raised_at", AlertTime(e.RaisedAt), first: false);
        if (e.ClearedAt is { } cleared)
        {
            StringField(sb, "cleared_at", AlertTime(cleared), first: false);
        }
        if (e.AcknowledgedAt is { } acknowledged)
        {
            StringField(sb, "acknowledged_at", AlertTime(acknowledged), first: false);
        }
        if (e.AcknowledgedBy is { } by)
        {
            StringField(sb, "acknowledged_by", by, first: false);
        }
        sb.Append(' ').Append(e.At.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
        return sb.ToString();
    }

    /// <summary>
    /// A job event (measurement <c>job_event</c>), timed in milliseconds at <see cref="StoredJobEvent.At"/>. Tags in key order:
    /// <c>bin</c>, <c>community</c>, <c>job</c> (the job id: two jobs' events at one time are two points), <c>stream</c>,
    /// <c>type</c>. String fields <c>job_id</c>, <c>compartments</c> (<see cref="JobCompartments.Join"/>), <c>reason</c>,
    /// <c>priority</c>, <c>state</c>, <c>deadline</c>, <c>requested_at</c> and <c>requested_by</c>, and <c>predicted_full_at</c>,
    /// <c>vehicle</c>, <c>planned_at</c>, <c>completed_at</c>, <c>cancelled_at</c> and <c>by</c> only when set; times as RFC 3339
    /// UTC text with milliseconds (<see cref="AlertTime"/>).
    /// </summary>
    public static string Format(StoredJobEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var compartments = JobCompartments.Join(e);
        var sb = new StringBuilder(512 + (2 * ((e.Vehicle?.Length ?? 0) + (e.By?.Length ?? 0) + e.RequestedBy.Length)));
        sb.Append(JobEvent);
        Tag(sb, "bin", e.BinId);
        Tag(sb, "community", e.Community);
        Tag(sb, "job", e.JobId);
        Tag(sb, "stream", e.Stream);
        Tag(sb, "type", e.Type);
        sb.Append(' ');
        StringField(sb, "job_id", e.JobId, first: true);
        StringField(sb, "compartments", compartments, first: false);
        StringField(sb, "reason", e.Reason, first: false);
        StringField(sb, "priority", e.Priority, first: false);
        StringField(sb, "state", e.State, first: false);
        StringField(sb, "deadline", AlertTime(e.Deadline), first: false);
        StringField(sb, "requested_at", AlertTime(e.RequestedAt), first: false);
        StringField(sb, "requested_by", e.RequestedBy, first: false);
        OptionalTime("predicted_full_at", e.PredictedFullAt);
        if (e.Vehicle is { } vehicle)
        {
            StringField(sb, "vehicle", vehicle, first: false);
        }
        OptionalTime("planned_at", e.PlannedAt);
        OptionalTime("completed_at", e.CompletedAt);
        OptionalTime("cancelled_at", e.CancelledAt);
        if (e.By is { } by)
        {
            StringField(sb, "by", by, first: false);
        }
        sb.Append(' ').Append(e.At.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
        return sb.ToString();

        void OptionalTime(string key, DateTimeOffset? t)
        {
            if (t is { } value)
            {
                StringField(sb, key, AlertTime(value), first: false);
            }
        }
    }

    /// <summary>
    /// A route plan (measurement <c>route_plan</c>), timed in milliseconds at <see cref="StoredRoutePlan.PlannedAt"/>. Tags in key
    /// order: <c>plan</c> (the plan id), <c>revision</c> (its number as text: a tag, so that each revision is a point of its own and
    /// the same revision written again is one, and no integer field breaks CONTRACT §3's floats), <c>stream</c>. Fields:
    /// <c>shift_start_ms</c> and <c>shift_end_ms</c> (floats of Unix milliseconds, so that a query selects the shifts of a period
    /// with a comparison) and <c>body</c> (the <c>RoutePlanned</c> JSON, a string field).
    /// </summary>
    public static string Format(StoredRoutePlan p)
    {
        ArgumentNullException.ThrowIfNull(p);
        var sb = new StringBuilder(256 + (2 * p.Body.Length));
        sb.Append(RoutePlan);
        Tag(sb, "plan", p.PlanId);
        Tag(sb, "revision", p.Revision.ToString(CultureInfo.InvariantCulture));
        Tag(sb, "stream", p.Stream);
        sb.Append(' ');
        FloatField(sb, "shift_start_ms", p.ShiftStart.ToUnixTimeMilliseconds(), first: true, p.PlanId, p.PlannedAt);
        FloatField(sb, "shift_end_ms", p.ShiftEnd.ToUnixTimeMilliseconds(), first: false, p.PlanId, p.PlannedAt);
        StringField(sb, "body", p.Body, first: false);
        sb.Append(' ').Append(p.PlannedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
        return sb.ToString();
    }

    /// <summary>An alert's time as stored in a string field: RFC 3339, UTC, milliseconds (<c>2026-11-02T00:10:00.000Z</c>).</summary>
    public static string AlertTime(DateTimeOffset t) =>
        DateTimeOffset.FromUnixTimeMilliseconds(t.ToUnixTimeMilliseconds()).UtcDateTime.ToString(AlertTimeFormat, CultureInfo.InvariantCulture);

    /// <summary>The time of <see cref="AlertTime"/>'s text; null when the text is not one.</summary>
    public static DateTimeOffset? ParseAlertTime(string? text) =>
        DateTimeOffset.TryParseExact(text, AlertTimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t)
            ? t
            : null;

    private const string AlertTimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    public static long ToUnixMicroseconds(DateTimeOffset t) => (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    public static DateTimeOffset FromUnixMicroseconds(long us) => DateTimeOffset.UnixEpoch.AddTicks(us * 10);

    private static void Tag(StringBuilder sb, string key, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return;
        }
        sb.Append(',').Append(key).Append('=');
        foreach (var c in TagText(value))
        {
            if (c is ',' or '=' or ' ')
            {
                sb.Append('\\');
            }
            sb.Append(c);
        }
    }

    /// <summary>CONTRACT §3's escaping of a text: <c>\</c>, CR, LF and NUL become <c>\\</c>, <c>\r</c>, <c>\n</c>, <c>\0</c>.</summary>
    public static string EscapeText(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.AsSpan().IndexOfAny(TextSpecials) < 0)
        {
            return value;
        }
        var sb = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            _ = c switch
            {
                '\\' => sb.Append(@"\\"),
                '\r' => sb.Append(@"\r"),
                '\n' => sb.Append(@"\n"),
                '\0' => sb.Append(@"\0"),
                _ => sb.Append(c),
            };
        }
        return sb.ToString();
    }

    /// <summary>
    /// A tag value as stored: <see cref="EscapeText"/>, and <c>\.</c> after a final backslash, which
    /// influxd 1.x cannot store (see the remarks). What a query compares a tag with.
    /// </summary>
    public static string TagText(string value)
    {
        var escaped = EscapeText(value);
        return escaped.EndsWith('\\') ? escaped + EndMarker : escaped;
    }

    private const string EndMarker = @"\.";

    private static readonly System.Buffers.SearchValues<char> TextSpecials = System.Buffers.SearchValues.Create("\\\r\n\0");

    /// <summary>
    /// The exact text of a stored string field or tag value (the inverse of <see cref="EscapeText"/> and
    /// <see cref="TagText"/>). A backslash followed by anything else is kept as it is, so values written
    /// before this escaping read back as they were stored.
    /// </summary>
    public static string UnescapeText(string stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        var at = stored.IndexOf('\\', StringComparison.Ordinal);
        if (at < 0)
        {
            return stored;
        }
        var sb = new StringBuilder(stored.Length);
        sb.Append(stored, 0, at);
        for (var i = at; i < stored.Length; i++)
        {
            var c = stored[i];
            if (c != '\\' || i + 1 == stored.Length)
            {
                sb.Append(c);
                continue;
            }
            var next = stored[i + 1];
            switch (next)
            {
                case '\\':
                    sb.Append('\\');
                    break;
                case 'r':
                    sb.Append('\r');
                    break;
                case 'n':
                    sb.Append('\n');
                    break;
                case '0':
                    sb.Append('\0');
                    break;
                case '.' when i + 2 == stored.Length:
                    break;
                default:
                    sb.Append(c).Append(next);
                    break;
            }
            i++;
        }
        return sb.ToString();
    }

    /// <summary>A float field; <paramref name="bin"/> and <paramref name="time"/> name the point when the value cannot be stored.</summary>
    private static void FloatField(StringBuilder sb, string key, double value, bool first, string bin, DateTimeOffset time)
    {
        if (!double.IsFinite(value))
        {
            throw new StoreRejectedException($"{key} of {bin} at {time:O} is {value.ToString(CultureInfo.InvariantCulture)}; InfluxDB cannot store NaN or infinity");
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
        foreach (var c in EscapeText(value ?? ""))
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
