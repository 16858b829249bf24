using System.Globalization;
using System.Text;

namespace Telemetry.IntegrationTests;

/// <summary>
/// One hostile MQTT message the ingestion must reject: the topic it arrives on, its payload bytes,
/// the CONTRACT §2 reason its dead letter must carry, and the dead letter's <c>bin</c> tag
/// (a registry id when the topic names a registered bin or vehicle, else <see langword="null"/> for <c>unknown</c>).
/// </summary>
public sealed record HostileCase(string Name, string Topic, byte[] Payload, string ExpectedReason, string? ExpectedBin)
{
    public override string ToString() => Name;
}

/// <summary>
/// A corpus of rejected device messages: malformed, oversized, badly encoded, wrongly typed, out of
/// range, skewed, and carrying line-protocol and SQL metacharacters. Every case is rejected; its
/// expected reason is the first failing check in CONTRACT §2's order.
/// </summary>
/// <remarks>
/// Two topics (<c>bins/+/fill</c> and <c>bins/#</c>) contain MQTT wildcards, which MQTT forbids in a
/// PUBLISH topic name: a client library refuses to send them, so an end-to-end test over a broker
/// should skip the cases whose <see cref="HostileCase.Topic"/> contains '+' or '#' and feed them to the
/// decoder directly.
/// </remarks>
public static class HostileCorpus
{
    /// <summary>In the name of every case that tries to smuggle a line-protocol point through a dead letter.</summary>
    public const string Smuggling = "(line-protocol smuggling)";

    /// <summary>The bin the smuggling cases try to write a <c>fill</c> point for (they arrive on JY-001's topics).</summary>
    public const string SmuggledBin = "JY-002";

    private const string TooLarge = "too-large";
    private const string UnknownTopic = "unknown-topic";
    private const string UnknownBin = "unknown-bin";
    private const string UnknownVehicle = "unknown-vehicle";
    private const string Malformed = "malformed-json";
    private const string Version = "unsupported-version";
    private const string Missing = "missing-field";
    private const string Invalid = "invalid-field";
    private const string UnknownCompartment = "unknown-compartment";
    private const string OutOfRange = "out-of-range";
    private const string Skew = "timestamp-skew";

    private const string Bin = "JY-001";
    private const string FillTopic = "bins/JY-001/fill";
    private const string WeightTopic = "bins/JY-001/weight";
    private const string StatusTopic = "bins/JY-001/status";

    /// <summary>Receive time the cases were written for (timestamps in payloads are relative to it).</summary>
    public static IReadOnlyList<HostileCase> Build(DateTimeOffset receivedAt)
    {
        var cases = new List<HostileCase>();
        var names = new HashSet<string>(StringComparer.Ordinal);

        void AddBytes(string name, string topic, byte[] payload, string reason, string? bin)
        {
            if (!names.Add(name))
            {
                throw new InvalidOperationException($"duplicate hostile case name '{name}'");
            }
            cases.Add(new HostileCase(name, topic, payload, reason, bin));
        }

        void Add(string name, string topic, string payload, string reason, string? bin) =>
            AddBytes(name, topic, Encoding.UTF8.GetBytes(payload), reason, bin);

        // A timestamp one minute before the receive time: valid, never skewed.
        var ts = Ts(receivedAt.AddMinutes(-1));
        var future = Ts(receivedAt.AddMinutes(6));
        var ancient = Ts(receivedAt.AddDays(-8));

        string Fill(string compartments, string seq = "1") =>
            $$"""{"v":1,"ts":"{{ts}}","seq":{{seq}},"compartments":[{{compartments}}]}""";
        string Weight(string compartments) =>
            $$"""{"v":1,"ts":"{{ts}}","seq":1,"compartments":[{{compartments}}]}""";
        string FillTs(string tsJson) =>
            $$"""{"v":1,"ts":{{tsJson}},"seq":1,"compartments":[{"id":"paper","fillPct":50}]}""";
        string FillSeq(string seqJson) => Fill("""{"id":"paper","fillPct":50}""", seqJson);
        string FillPct(string pctJson) => Fill($$"""{"id":"paper","fillPct":{{pctJson}}}""");
        string FillId(string idJson) => Fill($$"""{"id":{{idJson}},"fillPct":50}""");
        string FillVersion(string vJson) =>
            $$"""{"v":{{vJson}},"ts":"{{ts}}","seq":1,"compartments":[{"id":"paper","fillPct":50}]}""";
        var valid = Fill("""{"id":"paper","fillPct":63.5},{"id":"plastic","fillPct":41.0}""");
        var validStatus = $$"""{"v":1,"ts":"{{ts}}","seq":1,"online":true,"batteryPct":87,"tempC":21.5,"tilt":false,"doorOpen":false}""";

        // ---------------------------------------------------------------- too-large (checked first)
        Add("too-large: 4097 spaces", FillTopic, new string(' ', 4097), TooLarge, Bin);
        Add("too-large: valid fill padded to 4097 bytes", FillTopic, PadTo(valid, 4097), TooLarge, Bin);
        Add("too-large: valid fill padded to 64 KiB", FillTopic, PadTo(valid, 64 * 1024), TooLarge, Bin);
        Add("too-large: valid fill padded to 1 MiB", FillTopic, PadTo(valid, 1024 * 1024), TooLarge, Bin);
        Add("too-large: 4097 bytes of 3-byte characters", FillTopic, PadTo(valid, 4097, '中'), TooLarge, Bin);
        Add("too-large: valid status padded to 4097 bytes", "bins/JY-055/status", PadTo(validStatus, 4097), TooLarge, "JY-055");
        Add("too-large: 10000 nested arrays (over 4096 bytes, before malformed-json)", FillTopic,
            WithExtra(valid, "\"deep\":" + new string('[', 10000) + new string(']', 10000)), TooLarge, Bin);
        Add("too-large: 5000 open braces", FillTopic, new string('{', 5000), TooLarge, Bin);
        AddBytes("too-large: 5000 bytes of 0xFF (before malformed-json)", FillTopic, Filled(5000, 0xFF), TooLarge, Bin);
        Add("too-large: on a wrong topic of a registered bin (before unknown-topic)", "bins/JY-001/level", PadTo(valid, 5000), TooLarge, Bin);
        Add("too-large: on an unregistered bin (before unknown-bin)", "bins/JY-999/fill", PadTo(valid, 5000), TooLarge, null);

        // ---------------------------------------------------------------- unknown-topic
        Add("unknown-topic: bins/JY-001 (no kind)", "bins/JY-001", valid, UnknownTopic, Bin);
        Add("unknown-topic: bins/JY-001/ (empty kind)", "bins/JY-001/", valid, UnknownTopic, Bin);
        Add("unknown-topic: bins/JY-001/fill/x", "bins/JY-001/fill/x", valid, UnknownTopic, Bin);
        Add("unknown-topic: bins/JY-001/fill/ (trailing slash)", "bins/JY-001/fill/", valid, UnknownTopic, Bin);
        Add("unknown-topic: bins/JY-001/FILL", "bins/JY-001/FILL", valid, UnknownTopic, Bin);
        Add("unknown-topic: bins/JY-001/Fill", "bins/JY-001/Fill", valid, UnknownTopic, Bin);
        Add("unknown-topic: bins/JY-001/level", "bins/JY-001/level", valid, UnknownTopic, Bin);
        Add("unknown-topic: bins/JY-001/weights", "bins/JY-001/weights", valid, UnknownTopic, Bin);
        Add("unknown-topic: bins/JY-001/status/extra", "bins/JY-001/status/extra", validStatus, UnknownTopic, Bin);
        Add("unknown-topic: bins/JY-001//fill", "bins/JY-001//fill", valid, UnknownTopic, Bin);
        Add("unknown-topic: kind with trailing space", "bins/JY-001/fill ", valid, UnknownTopic, Bin);
        Add("unknown-topic: kind with line-protocol metacharacters", "bins/JY-001/fill,reason=ok", valid, UnknownTopic, Bin);
        Add("unknown-topic: bins//fill (empty id)", "bins//fill", valid, UnknownTopic, null);
        Add("unknown-topic: bins/ (nothing)", "bins/", valid, UnknownTopic, null);
        Add("unknown-topic: bins/# (wildcard, not publishable over MQTT)", "bins/#", valid, UnknownTopic, null);
        Add("unknown-topic: unregistered bin on a wrong kind (before unknown-bin)", "bins/JY-999/level", valid, UnknownTopic, null);
        Add("unknown-topic: SQL in the kind", "bins/JY-002/fill'; DROP TABLE fill; --", valid, UnknownTopic, "JY-002");
        Add("unknown-topic: malformed payload on a wrong kind (before malformed-json)", "bins/JY-003/temperature", "{{{", UnknownTopic, "JY-003");

        // ---------------------------------------------------------------- unknown-bin
        Add("unknown-bin: JY-000", "bins/JY-000/fill", valid, UnknownBin, null);
        Add("unknown-bin: JY-056", "bins/JY-056/fill", valid, UnknownBin, null);
        Add("unknown-bin: JY-999", "bins/JY-999/weight", valid, UnknownBin, null);
        Add("unknown-bin: lower-case jy-001", "bins/jy-001/fill", valid, UnknownBin, null);
        Add("unknown-bin: trailing space 'JY-001 '", "bins/JY-001 /fill", valid, UnknownBin, null);
        Add("unknown-bin: leading space ' JY-001'", "bins/ JY-001/fill", valid, UnknownBin, null);
        Add("unknown-bin: JY-1 (unpadded)", "bins/JY-1/fill", valid, UnknownBin, null);
        Add("unknown-bin: JY-0001 (over-padded)", "bins/JY-0001/fill", valid, UnknownBin, null);
        Add("unknown-bin: unicode hyphen JY\u2010001", "bins/JY\u2010001/fill", valid, UnknownBin, null);
        Add("unknown-bin: fullwidth \uFF2A\uFF39-001", "bins/\uFF2A\uFF39-001/fill", valid, UnknownBin, null);
        Add("unknown-bin: line-protocol tag injection 'JY-001,community=x'", "bins/JY-001,community=x/fill", valid, UnknownBin, null);
        Add("unknown-bin: space and equals 'JY-001 bin=JY-002'", "bins/JY-001 bin=JY-002/fill", valid, UnknownBin, null);
        Add("unknown-bin: equals sign 'JY-001=x'", "bins/JY-001=x/status", validStatus, UnknownBin, null);
        Add("unknown-bin: double quote in id", "bins/JY-\"001/fill", valid, UnknownBin, null);
        Add("unknown-bin: trailing backslash in id", "bins/JY-001\\/fill", valid, UnknownBin, null);
        Add("unknown-bin: newline in id", "bins/JY-001\nweight,bin=JY-002 net_kg=1/fill", valid, UnknownBin, null);
        Add("unknown-bin: SQL drop table in id", "bins/'; DROP TABLE fill; --/fill", valid, UnknownBin, null);
        Add("unknown-bin: SQL OR 1=1 in id", "bins/\" OR 1=1/fill", valid, UnknownBin, null);
        Add("unknown-bin: SQL OR '1'='1' in id", "bins/JY-001' OR '1'='1/weight", valid, UnknownBin, null);
        Add("unknown-bin: 300-character id", "bins/" + new string('J', 300) + "/fill", valid, UnknownBin, null);
        Add("unknown-bin: 4000-character id", "bins/JY-" + new string('0', 4000) + "1/fill", valid, UnknownBin, null);
        Add("unknown-bin: malformed payload on an unregistered bin (before malformed-json)", "bins/JY-999/fill", "{{{", UnknownBin, null);
        AddBytes("unknown-bin: invalid UTF-8 on an unregistered bin", "bins/JY-100/fill", Filled(16, 0xFF), UnknownBin, null);
        // '+' is one topic level, so the topic has the form bins/{id}/fill and "+" is an id not in the registry.
        Add("unknown-bin: bins/+/fill (wildcard, not publishable over MQTT)", "bins/+/fill", valid, UnknownBin, null);

        // ---------------------------------------------------------------- malformed-json
        Add("malformed-json: empty payload", FillTopic, "", Malformed, Bin);
        Add("malformed-json: whitespace only", FillTopic, " \t\r\n  ", Malformed, Bin);
        Add("malformed-json: empty status payload", StatusTopic, "", Malformed, Bin);
        Add("malformed-json: truncated after the ts member", FillTopic, valid[..(valid.IndexOf("\"seq\"", StringComparison.Ordinal) - 1)], Malformed, Bin);
        Add("malformed-json: truncated inside a string", FillTopic, valid[..(valid.IndexOf("paper", StringComparison.Ordinal) + 3)], Malformed, Bin);
        Add("malformed-json: missing final brace", FillTopic, valid[..^1], Malformed, Bin);
        Add("malformed-json: single open brace", FillTopic, "{", Malformed, Bin);
        Add("malformed-json: trailing garbage", FillTopic, valid + "x", Malformed, Bin);
        Add("malformed-json: two objects", FillTopic, valid + valid, Malformed, Bin);
        Add("malformed-json: trailing closing brace", FillTopic, valid + "}", Malformed, Bin);
        Add("malformed-json: single-quoted strings", FillTopic, valid.Replace('"', '\''), Malformed, Bin);
        Add("malformed-json: unquoted keys", FillTopic, $$"""{v:1,ts:"{{ts}}",seq:1,compartments:[{id:"paper",fillPct:1}]}""", Malformed, Bin);
        Add("malformed-json: line comment", FillTopic, "// firmware 2.1\n" + valid, Malformed, Bin);
        Add("malformed-json: block comment", FillTopic, valid.Replace("\"seq\"", "/* c */\"seq\"", StringComparison.Ordinal), Malformed, Bin);
        Add("malformed-json: trailing comma in object", FillTopic, valid[..^1] + ",}", Malformed, Bin);
        Add("malformed-json: trailing comma in array", FillTopic, Fill("""{"id":"paper","fillPct":1},"""), Malformed, Bin);
        Add("malformed-json: NaN literal", FillTopic, FillPct("NaN"), Malformed, Bin);
        Add("malformed-json: Infinity literal", FillTopic, FillPct("Infinity"), Malformed, Bin);
        Add("malformed-json: -Infinity literal", FillTopic, FillPct("-Infinity"), Malformed, Bin);
        Add("malformed-json: NaN batteryPct in status", StatusTopic, """{"v":1,"batteryPct":NaN}""", Malformed, Bin);
        Add("malformed-json: hexadecimal number", FillTopic, FillPct("0x10"), Malformed, Bin);
        Add("malformed-json: leading zero", FillTopic, FillPct("050"), Malformed, Bin);
        Add("malformed-json: leading plus sign", FillTopic, FillPct("+50"), Malformed, Bin);
        Add("malformed-json: leading decimal point", FillTopic, FillPct(".5"), Malformed, Bin);
        Add("malformed-json: trailing decimal point", FillTopic, FillPct("5."), Malformed, Bin);
        Add("malformed-json: bare word", FillTopic, "hello", Malformed, Bin);
        Add("malformed-json: undefined value", FillTopic, FillPct("undefined"), Malformed, Bin);
        Add("malformed-json: null document", FillTopic, "null", Malformed, Bin);
        Add("malformed-json: true document", StatusTopic, "true", Malformed, Bin);
        Add("malformed-json: number document", FillTopic, "1042", Malformed, Bin);
        Add("malformed-json: string document", FillTopic, "\"paper\"", Malformed, Bin);
        Add("malformed-json: array document", FillTopic, "[" + valid + "]", Malformed, Bin);
        Add("malformed-json: duplicate key v", FillTopic, "{\"v\":1," + valid[1..], Malformed, Bin);
        Add("malformed-json: duplicate key ts with different values", FillTopic, $$"""{"ts":"{{future}}",""" + valid[1..], Malformed, Bin);
        Add("malformed-json: duplicate key via escape (v and \\u0076)", FillTopic, "{\"\\u0076\":1," + valid[1..], Malformed, Bin);
        Add("malformed-json: duplicate key inside a compartment", FillTopic, Fill("""{"id":"paper","fillPct":1,"fillPct":2}"""), Malformed, Bin);
        Add("malformed-json: duplicate key online in status", StatusTopic, """{"v":1,"online":true,"online":false}""", Malformed, Bin);
        Add("malformed-json: raw newline inside a string", FillTopic, FillId("\"pa\nper\""), Malformed, Bin);
        Add("malformed-json: raw tab inside a string", FillTopic, FillId("\"pa\tper\""), Malformed, Bin);
        Add("malformed-json: invalid escape \\x", FillTopic, FillId("\"pa\\x41per\""), Malformed, Bin);
        Add("malformed-json: short unicode escape", FillTopic, FillId("\"pa\\u41\""), Malformed, Bin);
        Add("malformed-json: form feed as whitespace", FillTopic, "\f" + valid, Malformed, Bin);
        Add("malformed-json: no-break space as whitespace", FillTopic, "\u00A0" + valid, Malformed, Bin);
        Add("malformed-json: 100 nested arrays (depth over 64)", FillTopic,
            WithExtra(valid, "\"deep\":" + new string('[', 100) + new string(']', 100)), Malformed, Bin);
        Add("malformed-json: 100 nested objects (depth over 64)", FillTopic,
            WithExtra(valid, "\"deep\":" + string.Concat(Enumerable.Repeat("{\"a\":", 100)) + "1" + new string('}', 100)), Malformed, Bin);
        Add("malformed-json: 2000 unclosed arrays", FillTopic, new string('[', 2000), Malformed, Bin);
        AddBytes("malformed-json: UTF-16LE encoded", FillTopic, Encoding.Unicode.GetBytes(valid), Malformed, Bin);
        AddBytes("malformed-json: UTF-8 byte-order mark", FillTopic, [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(valid)], Malformed, Bin);
        AddBytes("malformed-json: NUL byte alone", FillTopic, [0x00], Malformed, Bin);
        AddBytes("malformed-json: NUL byte between members", FillTopic, Splice(valid, "\"seq\"", [0x00]), Malformed, Bin);
        AddBytes("malformed-json: trailing NUL byte", FillTopic, [.. Encoding.UTF8.GetBytes(valid), 0x00], Malformed, Bin);
        AddBytes("malformed-json: raw NUL inside a string", StatusTopic, Splice("""{"v":1,"online":true,"fw":"2.1"}""", "2.1", [0x00]), Malformed, Bin);
        AddBytes("malformed-json: lone continuation byte 0x80", FillTopic, Splice(valid, "paper", [0x80]), Malformed, Bin);
        AddBytes("malformed-json: lone continuation byte 0xBF in a key", FillTopic, Splice(valid, "seq", [0xBF]), Malformed, Bin);
        AddBytes("malformed-json: overlong '/' C0 AF", FillTopic, Splice(valid, "paper", [0xC0, 0xAF]), Malformed, Bin);
        AddBytes("malformed-json: overlong NUL C0 80", FillTopic, Splice(valid, "paper", [0xC0, 0x80]), Malformed, Bin);
        AddBytes("malformed-json: overlong 3-byte E0 80 AF", FillTopic, Splice(valid, "paper", [0xE0, 0x80, 0xAF]), Malformed, Bin);
        AddBytes("malformed-json: overlong 4-byte F0 80 80 AF", FillTopic, Splice(valid, "paper", [0xF0, 0x80, 0x80, 0xAF]), Malformed, Bin);
        AddBytes("malformed-json: UTF-8 encoded high surrogate ED A0 80", FillTopic, Splice(valid, "paper", [0xED, 0xA0, 0x80]), Malformed, Bin);
        AddBytes("malformed-json: UTF-8 encoded low surrogate ED BF BF", FillTopic, Splice(valid, "paper", [0xED, 0xBF, 0xBF]), Malformed, Bin);
        AddBytes("malformed-json: UTF-8 encoded surrogate pair (CESU-8)", FillTopic, Splice(valid, "paper", [0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80]), Malformed, Bin);
        AddBytes("malformed-json: truncated 3-byte sequence E4 B8", FillTopic, Splice(valid, "\",\"fillPct\"", [0xE4, 0xB8]), Malformed, Bin);
        AddBytes("malformed-json: truncated multi-byte at end of payload", FillTopic, [.. Encoding.UTF8.GetBytes(valid), 0xE4, 0xB8], Malformed, Bin);
        AddBytes("malformed-json: byte 0xFF", FillTopic, Splice(valid, "paper", [0xFF]), Malformed, Bin);
        AddBytes("malformed-json: byte 0xFE", FillTopic, Splice(valid, "paper", [0xFE]), Malformed, Bin);
        AddBytes("malformed-json: code point above U+10FFFF (F4 90 80 80)", FillTopic, Splice(valid, "paper", [0xF4, 0x90, 0x80, 0x80]), Malformed, Bin);
        AddBytes("malformed-json: invalid UTF-8 in status", "bins/JY-004/status", Splice(validStatus, "online", [0xC3, 0x28]), Malformed, "JY-004");

        // ---------------------------------------------------------------- unsupported-version
        Add("unsupported-version: v 2", FillTopic, FillVersion("2"), Version, Bin);
        Add("unsupported-version: v 0", FillTopic, FillVersion("0"), Version, Bin);
        Add("unsupported-version: v -1", FillTopic, FillVersion("-1"), Version, Bin);
        Add("unsupported-version: v 1.5", FillTopic, FillVersion("1.5"), Version, Bin);
        Add("unsupported-version: v 1e309", FillTopic, FillVersion("1e309"), Version, Bin);
        Add("unsupported-version: v string \"1\"", FillTopic, FillVersion("\"1\""), Version, Bin);
        Add("unsupported-version: v string \"v1\"", WeightTopic, $$"""{"v":"v1","ts":"{{ts}}","seq":1,"compartments":[{"id":"paper","netKg":1}]}""", Version, Bin);
        Add("unsupported-version: v null", FillTopic, FillVersion("null"), Version, Bin);
        Add("unsupported-version: v true", FillTopic, FillVersion("true"), Version, Bin);
        Add("unsupported-version: v array [1]", FillTopic, FillVersion("[1]"), Version, Bin);
        Add("unsupported-version: v object", FillTopic, FillVersion("{\"major\":1}"), Version, Bin);
        Add("unsupported-version: v 2 on status", StatusTopic, """{"v":2,"online":true}""", Version, Bin);
        Add("unsupported-version: v 2 alone (before missing-field)", FillTopic, """{"v":2}""", Version, Bin);
        Add("unsupported-version: v 2 with every other check failing", FillTopic,
            $$"""{"v":2,"ts":"{{future}}","seq":-1,"compartments":[{"id":"batteries","fillPct":500},{"id":"paper"}]}""", Version, Bin);

        // ---------------------------------------------------------------- missing-field
        Add("missing-field: v missing on fill", FillTopic, "{" + valid[(valid.IndexOf("\"ts\"", StringComparison.Ordinal))..], Missing, Bin);
        Add("missing-field: V instead of v", FillTopic, "{\"V\"" + valid[4..], Missing, Bin);
        Add("missing-field: v missing on status", StatusTopic, """{"online":true,"batteryPct":87}""", Missing, Bin);
        Add("missing-field: status {\"v\":1}", StatusTopic, """{"v":1}""", Missing, Bin);
        Add("missing-field: status with ts and seq only", StatusTopic, $$"""{"v":1,"ts":"{{ts}}","seq":1}""", Missing, Bin);
        Add("missing-field: status with case-variant names only", StatusTopic, """{"v":1,"Online":true,"BatteryPct":87,"door_open":false}""", Missing, Bin);
        Add("missing-field: empty object on fill", FillTopic, "{}", Missing, Bin);
        Add("missing-field: empty object on status", StatusTopic, "{}", Missing, Bin);
        Add("missing-field: ts missing", FillTopic, """{"v":1,"seq":1,"compartments":[{"id":"paper","fillPct":50}]}""", Missing, Bin);
        Add("missing-field: seq missing", FillTopic, $$"""{"v":1,"ts":"{{ts}}","compartments":[{"id":"paper","fillPct":50}]}""", Missing, Bin);
        Add("missing-field: compartments missing", FillTopic, $$"""{"v":1,"ts":"{{ts}}","seq":1}""", Missing, Bin);
        Add("missing-field: compartments empty", FillTopic, Fill(""), Missing, Bin);
        Add("missing-field: compartments empty on weight", WeightTopic, Weight(""), Missing, Bin);
        Add("missing-field: compartment id missing", FillTopic, Fill("""{"fillPct":50}"""), Missing, Bin);
        Add("missing-field: compartment is an empty object", FillTopic, Fill("{}"), Missing, Bin);
        Add("missing-field: fillPct missing", FillTopic, Fill("""{"id":"paper"}"""), Missing, Bin);
        Add("missing-field: FillPct instead of fillPct", FillTopic, Fill("""{"id":"paper","FillPct":50}"""), Missing, Bin);
        Add("missing-field: netKg missing (only depositKg)", WeightTopic, Weight("""{"id":"paper","depositKg":0.8}"""), Missing, Bin);
        Add("missing-field: fillPct sent on the weight topic", WeightTopic, Weight("""{"id":"paper","fillPct":50}"""), Missing, Bin);
        Add("missing-field: second compartment lacks fillPct, first out of range", FillTopic,
            Fill("""{"id":"paper","fillPct":101},{"id":"glass"}"""), Missing, Bin);
        Add("missing-field: v missing, ts invalid (before invalid-field)", FillTopic,
            """{"ts":"yesterday","seq":1,"compartments":[{"id":"paper","fillPct":50}]}""", Missing, Bin);
        Add("missing-field: seq missing, unknown compartment", FillTopic,
            $$"""{"v":1,"ts":"{{ts}}","compartments":[{"id":"batteries","fillPct":50}]}""", Missing, Bin);

        // ---------------------------------------------------------------- invalid-field
        Add("invalid-field: fillPct number in a string", FillTopic, FillPct("\"63.5\""), Invalid, Bin);
        Add("invalid-field: fillPct boolean", FillTopic, FillPct("true"), Invalid, Bin);
        Add("invalid-field: fillPct null", FillTopic, FillPct("null"), Invalid, Bin);
        Add("invalid-field: fillPct object", FillTopic, FillPct("{\"value\":50}"), Invalid, Bin);
        Add("invalid-field: fillPct array", FillTopic, FillPct("[50]"), Invalid, Bin);
        Add("invalid-field: netKg number in a string", WeightTopic, Weight("""{"id":"paper","netKg":"41.2"}"""), Invalid, Bin);
        Add("invalid-field: netKg null", WeightTopic, Weight("""{"id":"paper","netKg":null}"""), Invalid, Bin);
        Add("invalid-field: depositKg number in a string", WeightTopic, Weight("""{"id":"paper","netKg":41.2,"depositKg":"0.8"}"""), Invalid, Bin);
        Add("invalid-field: depositKg null", WeightTopic, Weight("""{"id":"paper","netKg":41.2,"depositKg":null}"""), Invalid, Bin);
        Add("invalid-field: depositKg boolean", WeightTopic, Weight("""{"id":"paper","netKg":41.2,"depositKg":false}"""), Invalid, Bin);
        Add("invalid-field: compartments object", FillTopic,
            $$$"""{"v":1,"ts":"{{{ts}}}","seq":1,"compartments":{"id":"paper","fillPct":50}}""", Invalid, Bin);
        Add("invalid-field: compartments map by id", FillTopic,
            $$$"""{"v":1,"ts":"{{{ts}}}","seq":1,"compartments":{"paper":50,"plastic":41}}""", Invalid, Bin);
        Add("invalid-field: compartments string", FillTopic, $$"""{"v":1,"ts":"{{ts}}","seq":1,"compartments":"paper"}""", Invalid, Bin);
        Add("invalid-field: compartments null", FillTopic, $$"""{"v":1,"ts":"{{ts}}","seq":1,"compartments":null}""", Invalid, Bin);
        Add("invalid-field: compartments number", WeightTopic, $$"""{"v":1,"ts":"{{ts}}","seq":1,"compartments":3}""", Invalid, Bin);
        Add("invalid-field: compartment is a number", FillTopic, Fill("5"), Invalid, Bin);
        Add("invalid-field: compartment is null", FillTopic, Fill("null"), Invalid, Bin);
        Add("invalid-field: compartment is an array", FillTopic, Fill("""["paper",50]"""), Invalid, Bin);
        Add("invalid-field: compartment is a string", FillTopic, Fill("\"paper\""), Invalid, Bin);
        Add("invalid-field: compartment id number", FillTopic, FillId("7"), Invalid, Bin);
        Add("invalid-field: compartment id null", FillTopic, FillId("null"), Invalid, Bin);
        Add("invalid-field: compartment id boolean", FillTopic, FillId("true"), Invalid, Bin);
        Add("invalid-field: compartment id array", FillTopic, FillId("[\"paper\"]"), Invalid, Bin);
        Add("invalid-field: compartment id object", FillTopic, FillId("{\"name\":\"paper\"}"), Invalid, Bin);
        Add("invalid-field: compartment id escaped lone surrogate", FillTopic, FillId("\"\\ud800\""), Invalid, Bin);
        Add("invalid-field: duplicate compartment id", FillTopic, Fill("""{"id":"paper","fillPct":10},{"id":"paper","fillPct":20}"""), Invalid, Bin);
        Add("invalid-field: duplicate compartment id on weight", WeightTopic,
            Weight("""{"id":"kitchen","netKg":10},{"id":"plastic","netKg":5},{"id":"kitchen","netKg":11}"""), Invalid, Bin);
        Add("invalid-field: duplicate unknown compartment id (before unknown-compartment)", FillTopic,
            Fill("""{"id":"batteries","fillPct":10},{"id":"batteries","fillPct":20}"""), Invalid, Bin);
        Add("invalid-field: number in a string beside an unknown compartment", FillTopic,
            Fill("""{"id":"batteries","fillPct":1},{"id":"paper","fillPct":"1"}"""), Invalid, Bin);
        Add("invalid-field: ts unix epoch seconds", FillTopic, FillTs(receivedAt.AddMinutes(-1).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)), Invalid, Bin);
        Add("invalid-field: ts unix epoch milliseconds", FillTopic, FillTs(receivedAt.AddMinutes(-1).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)), Invalid, Bin);
        Add("invalid-field: ts epoch in a string", FillTopic, FillTs("\"" + receivedAt.AddMinutes(-1).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture) + "\""), Invalid, Bin);
        Add("invalid-field: ts with a space separator", FillTopic, FillTs(Quote(Format(receivedAt.AddMinutes(-1), "yyyy-MM-dd' 'HH:mm:ss'Z'"))), Invalid, Bin);
        Add("invalid-field: ts without an offset", FillTopic, FillTs(Quote(Format(receivedAt.AddMinutes(-1), "yyyy-MM-dd'T'HH:mm:ss"))), Invalid, Bin);
        Add("invalid-field: ts offset without a colon", FillTopic, FillTs(Quote(Format(receivedAt.AddMinutes(-1), "yyyy-MM-dd'T'HH:mm:ss'+0000'"))), Invalid, Bin);
        Add("invalid-field: ts offset +24:00", FillTopic, FillTs(Quote(Format(receivedAt.AddMinutes(-1), "yyyy-MM-dd'T'HH:mm:ss'+24:00'"))), Invalid, Bin);
        Add("invalid-field: ts date only", FillTopic, FillTs(Quote(Format(receivedAt.AddMinutes(-1), "yyyy-MM-dd"))), Invalid, Bin);
        Add("invalid-field: ts basic format", FillTopic, FillTs(Quote(Format(receivedAt.AddMinutes(-1), "yyyyMMdd'T'HHmmss'Z'"))), Invalid, Bin);
        Add("invalid-field: ts RFC 1123", FillTopic, FillTs(Quote(Format(receivedAt.AddMinutes(-1), "R"))), Invalid, Bin);
        Add("invalid-field: ts empty fraction", FillTopic, FillTs(Quote(Format(receivedAt.AddMinutes(-1), "yyyy-MM-dd'T'HH:mm:ss'.Z'"))), Invalid, Bin);
        Add("invalid-field: ts February 30", FillTopic, FillTs("\"2026-02-30T08:15:00Z\""), Invalid, Bin);
        Add("invalid-field: ts hour 24", FillTopic, FillTs("\"2026-11-29T24:00:00Z\""), Invalid, Bin);
        Add("invalid-field: ts year 0000", FillTopic, FillTs("\"0000-01-01T00:00:00Z\""), Invalid, Bin);
        Add("invalid-field: ts empty string", FillTopic, FillTs("\"\""), Invalid, Bin);
        Add("invalid-field: ts 'now'", FillTopic, FillTs("\"now\""), Invalid, Bin);
        Add("invalid-field: ts null", FillTopic, FillTs("null"), Invalid, Bin);
        Add("invalid-field: ts boolean", FillTopic, FillTs("true"), Invalid, Bin);
        Add("invalid-field: ts object", FillTopic, FillTs($$"""{"iso":"{{ts}}"}"""), Invalid, Bin);
        Add("invalid-field: ts SQL injection", FillTopic, FillTs("\"2026-01-01'; DROP TABLE fill; --\""), Invalid, Bin);
        Add("invalid-field: ts not RFC 3339 on status", StatusTopic, """{"v":1,"ts":"2026-11-29 08:15:00Z","online":true}""", Invalid, Bin);
        Add("invalid-field: ts far future but not RFC 3339 (before timestamp-skew)", FillTopic, FillTs("\"9999-12-31 23:59:59Z\""), Invalid, Bin);
        Add("invalid-field: seq -1", FillTopic, FillSeq("-1"), Invalid, Bin);
        Add("invalid-field: seq 2^53", FillTopic, FillSeq("9007199254740992"), Invalid, Bin);
        Add("invalid-field: seq 2^64", FillTopic, FillSeq("18446744073709551616"), Invalid, Bin);
        Add("invalid-field: seq 1e309", FillTopic, FillSeq("1e309"), Invalid, Bin);
        Add("invalid-field: seq 1.5", FillTopic, FillSeq("1.5"), Invalid, Bin);
        Add("invalid-field: seq string \"5\"", FillTopic, FillSeq("\"5\""), Invalid, Bin);
        Add("invalid-field: seq null", FillTopic, FillSeq("null"), Invalid, Bin);
        Add("invalid-field: seq boolean", FillTopic, FillSeq("false"), Invalid, Bin);
        Add("invalid-field: seq -1 on status", StatusTopic, """{"v":1,"seq":-1,"online":true}""", Invalid, Bin);
        Add("invalid-field: online \"yes\"", StatusTopic, """{"v":1,"online":"yes"}""", Invalid, Bin);
        Add("invalid-field: online \"true\"", StatusTopic, """{"v":1,"online":"true"}""", Invalid, Bin);
        Add("invalid-field: online 1 (bool as number)", StatusTopic, """{"v":1,"online":1}""", Invalid, Bin);
        Add("invalid-field: online null", StatusTopic, """{"v":1,"online":null}""", Invalid, Bin);
        Add("invalid-field: tilt array", StatusTopic, """{"v":1,"online":true,"tilt":[false]}""", Invalid, Bin);
        Add("invalid-field: doorOpen object", StatusTopic, """{"v":1,"online":true,"doorOpen":{"open":false}}""", Invalid, Bin);
        Add("invalid-field: batteryPct number in a string", StatusTopic, """{"v":1,"batteryPct":"87"}""", Invalid, Bin);
        Add("invalid-field: batteryPct null", StatusTopic, """{"v":1,"batteryPct":null}""", Invalid, Bin);
        Add("invalid-field: tempC boolean", StatusTopic, """{"v":1,"online":true,"tempC":true}""", Invalid, Bin);
        Add("invalid-field: tempC string with unit", StatusTopic, """{"v":1,"tempC":"21.5C"}""", Invalid, Bin);
        Add("invalid-field: wrong type beside an out-of-range value", StatusTopic, """{"v":1,"batteryPct":101,"tilt":"no"}""", Invalid, Bin);

        // ---------------------------------------------------------------- unknown-compartment
        Add("unknown-compartment: textile on JY-001 (which has none)", FillTopic, Fill("""{"id":"textile","fillPct":50}"""), UnknownCompartment, Bin);
        Add("unknown-compartment: textile weight on JY-002 (which has none)", "bins/JY-002/weight", Weight("""{"id":"textile","netKg":5}"""), UnknownCompartment, "JY-002");
        Add("unknown-compartment: Paper (case)", FillTopic, FillId("\"Paper\""), UnknownCompartment, Bin);
        Add("unknown-compartment: PAPER", FillTopic, FillId("\"PAPER\""), UnknownCompartment, Bin);
        Add("unknown-compartment: batteries", FillTopic, FillId("\"batteries\""), UnknownCompartment, Bin);
        Add("unknown-compartment: empty id", FillTopic, FillId("\"\""), UnknownCompartment, Bin);
        Add("unknown-compartment: trailing space 'paper '", FillTopic, FillId("\"paper \""), UnknownCompartment, Bin);
        Add("unknown-compartment: stream name 'recyclable'", FillTopic, FillId("\"recyclable\""), UnknownCompartment, Bin);
        Add("unknown-compartment: Chinese name", FillTopic, FillId("\"\u7EB8\""), UnknownCompartment, Bin);
        Add("unknown-compartment: escaped NUL 'paper\\u0000'", FillTopic, FillId("\"paper\\u0000\""), UnknownCompartment, Bin);
        Add("unknown-compartment: line-protocol tag injection 'paper,bin=JY-002'", FillTopic, FillId("\"paper,bin=JY-002\""), UnknownCompartment, Bin);
        Add("unknown-compartment: space and field injection 'paper pct=0'", FillTopic, FillId("\"paper pct=0\""), UnknownCompartment, Bin);
        Add("unknown-compartment: equals sign 'paper=x'", FillTopic, FillId("\"paper=x\""), UnknownCompartment, Bin);
        Add("unknown-compartment: double quote in id", FillTopic, FillId("\"pa\\\"per\""), UnknownCompartment, Bin);
        Add("unknown-compartment: backslash in id", FillTopic, FillId("\"paper\\\\\""), UnknownCompartment, Bin);
        Add("unknown-compartment: escaped newline in id (new line-protocol line)", FillTopic,
            FillId("\"paper\\nfill,bin=JY-002,compartment=paper pct=99\""), UnknownCompartment, Bin);
        Add("unknown-compartment: escaped carriage return in id", WeightTopic, Weight("""{"id":"paper\r","netKg":1}"""), UnknownCompartment, Bin);
        Add("unknown-compartment: SQL drop table", FillTopic, FillId("\"'; DROP TABLE fill; --\""), UnknownCompartment, Bin);
        Add("unknown-compartment: SQL OR 1=1", FillTopic, FillId("\"\\\" OR 1=1\""), UnknownCompartment, Bin);
        Add("unknown-compartment: SQL OR 1=1 on weight", WeightTopic, Weight("""{"id":"\" OR 1=1 --","netKg":1}"""), UnknownCompartment, Bin);
        Add("unknown-compartment: 2000-character id", FillTopic, FillId("\"" + new string('p', 2000) + "\""), UnknownCompartment, Bin);
        Add("unknown-compartment: first fine, second unknown", FillTopic,
            Fill("""{"id":"paper","fillPct":10},{"id":"batteries","fillPct":20}"""), UnknownCompartment, Bin);
        Add("unknown-compartment: unknown beside out-of-range (before out-of-range)", FillTopic,
            Fill("""{"id":"paper","fillPct":500},{"id":"batteries","fillPct":1}"""), UnknownCompartment, Bin);
        Add("unknown-compartment: unknown with a skewed ts (before timestamp-skew)", "bins/JY-010/fill",
            $$"""{"v":1,"ts":"{{future}}","seq":1,"compartments":[{"id":"textile","fillPct":1}]}""", UnknownCompartment, "JY-010");

        // ---------------------------------------------------------------- out-of-range
        Add("out-of-range: fillPct 101", FillTopic, FillPct("101"), OutOfRange, Bin);
        Add("out-of-range: fillPct 100.0001", FillTopic, FillPct("100.0001"), OutOfRange, Bin);
        Add("out-of-range: fillPct -0.1", FillTopic, FillPct("-0.1"), OutOfRange, Bin);
        Add("out-of-range: fillPct 1e309", FillTopic, FillPct("1e309"), OutOfRange, Bin);
        Add("out-of-range: fillPct -1e309", FillTopic, FillPct("-1e309"), OutOfRange, Bin);
        Add("out-of-range: fillPct 1e400", FillTopic, FillPct("1e400"), OutOfRange, Bin);
        Add("out-of-range: fillPct 400-digit integer", FillTopic, FillPct("1" + new string('0', 400)), OutOfRange, Bin);
        Add("out-of-range: fillPct 1.7976931348623157e308", FillTopic, FillPct("1.7976931348623157e308"), OutOfRange, Bin);
        Add("out-of-range: netKg over twice maxKg (paper 120.01)", WeightTopic, Weight("""{"id":"paper","netKg":120.01}"""), OutOfRange, Bin);
        Add("out-of-range: netKg over twice maxKg (kitchen on JY-007, 600.5)", "bins/JY-007/weight",
            Weight("""{"id":"kitchen","netKg":600.5}"""), OutOfRange, "JY-007");
        Add("out-of-range: netKg -0.001", WeightTopic, Weight("""{"id":"paper","netKg":-0.001}"""), OutOfRange, Bin);
        Add("out-of-range: netKg 1e309", WeightTopic, Weight("""{"id":"paper","netKg":1e309}"""), OutOfRange, Bin);
        Add("out-of-range: netKg -1e309", WeightTopic, Weight("""{"id":"paper","netKg":-1e309}"""), OutOfRange, Bin);
        Add("out-of-range: depositKg 0", WeightTopic, Weight("""{"id":"paper","netKg":10,"depositKg":0}"""), OutOfRange, Bin);
        Add("out-of-range: depositKg -0.5", WeightTopic, Weight("""{"id":"paper","netKg":10,"depositKg":-0.5}"""), OutOfRange, Bin);
        Add("out-of-range: depositKg 100.5", WeightTopic, Weight("""{"id":"paper","netKg":10,"depositKg":100.5}"""), OutOfRange, Bin);
        Add("out-of-range: depositKg 1e400", WeightTopic, Weight("""{"id":"paper","netKg":10,"depositKg":1e400}"""), OutOfRange, Bin);
        Add("out-of-range: batteryPct 101", StatusTopic, """{"v":1,"batteryPct":101}""", OutOfRange, Bin);
        Add("out-of-range: batteryPct -1", StatusTopic, """{"v":1,"online":true,"batteryPct":-1}""", OutOfRange, Bin);
        Add("out-of-range: batteryPct 1e309", StatusTopic, """{"v":1,"batteryPct":1e309}""", OutOfRange, Bin);
        Add("out-of-range: tempC -51", StatusTopic, """{"v":1,"tempC":-51}""", OutOfRange, Bin);
        Add("out-of-range: tempC 150.5", StatusTopic, """{"v":1,"tempC":150.5}""", OutOfRange, Bin);
        Add("out-of-range: tempC -1e309", StatusTopic, """{"v":1,"tempC":-1e309}""", OutOfRange, Bin);
        Add("out-of-range: first compartment fine, second out of range", FillTopic,
            Fill("""{"id":"paper","fillPct":10},{"id":"glass","fillPct":101}"""), OutOfRange, Bin);
        Add("out-of-range: every compartment but the last fine", "bins/JY-004/fill",
            Fill("""{"id":"paper","fillPct":1},{"id":"plastic","fillPct":2},{"id":"metal","fillPct":3},{"id":"glass","fillPct":4},{"id":"textile","fillPct":5},{"id":"kitchen","fillPct":6},{"id":"hazardous","fillPct":7},{"id":"residual","fillPct":100.01}"""),
            OutOfRange, "JY-004");
        Add("out-of-range: out of range with a future ts (before timestamp-skew)", FillTopic,
            $$"""{"v":1,"ts":"{{future}}","seq":1,"compartments":[{"id":"paper","fillPct":101}]}""", OutOfRange, Bin);

        // ---------------------------------------------------------------- timestamp-skew
        Add("timestamp-skew: ts 6 minutes ahead", FillTopic, FillTs(Quote(future)), Skew, Bin);
        Add("timestamp-skew: ts 5 minutes 1 ms ahead", FillTopic, FillTs(Quote(Ts(receivedAt.AddMinutes(5).AddMilliseconds(1)))), Skew, Bin);
        Add("timestamp-skew: ts 8 days old", FillTopic, FillTs(Quote(ancient)), Skew, Bin);
        Add("timestamp-skew: ts 7 days 1 ms old", FillTopic, FillTs(Quote(Ts(receivedAt.AddDays(-7).AddMilliseconds(-1)))), Skew, Bin);
        Add("timestamp-skew: ts 6 minutes ahead written with +08:00", FillTopic,
            FillTs(Quote(receivedAt.AddMinutes(6).ToOffset(TimeSpan.FromHours(8)).ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture))), Skew, Bin);
        Add("timestamp-skew: year 1970", FillTopic, FillTs("\"1970-01-01T00:00:00Z\""), Skew, Bin);
        Add("timestamp-skew: year 0001", FillTopic, FillTs("\"0001-01-01T00:00:00Z\""), Skew, Bin);
        Add("timestamp-skew: year 9999", FillTopic, FillTs("\"9999-12-31T23:59:59.999Z\""), Skew, Bin);
        Add("timestamp-skew: weight 8 days old", WeightTopic,
            $$"""{"v":1,"ts":"{{ancient}}","seq":1,"compartments":[{"id":"paper","netKg":41.2,"depositKg":0.8}]}""", Skew, Bin);
        Add("timestamp-skew: status 6 minutes ahead", StatusTopic, $$"""{"v":1,"ts":"{{future}}","seq":1,"online":true}""", Skew, Bin);
        Add("timestamp-skew: status 8 days old without seq", "bins/JY-055/status", $$"""{"v":1,"ts":"{{ancient}}","batteryPct":50}""", Skew, "JY-055");

        // ---------------------------------------------------------------- line-protocol smuggling
        // Each tries to end the dead letter's line early and start a fill point of another bin, with a raw
        // LF, CR or NUL, or by closing the string field first; the reason is whatever check fails first.
        var point = $"fill,bin={SmuggledBin},community=c02,compartment=paper,stream=recyclable pct=99,seq=1i {receivedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)}";
        var ms = receivedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        Add($"malformed-json: raw LF then a fill point for another bin {Smuggling}", FillTopic, valid + "\n" + point, Malformed, Bin);
        Add($"malformed-json: raw CR LF then a fill point for another bin {Smuggling}", FillTopic, valid + "\r\n" + point + "\r\n", Malformed, Bin);
        Add($"malformed-json: raw CR then a fill point for another bin {Smuggling}", WeightTopic, valid + "\r" + point, Malformed, Bin);
        Add($"malformed-json: raw NUL then a fill point for another bin {Smuggling}", StatusTopic, validStatus + "\0" + point, Malformed, Bin);
        Add($"malformed-json: a point alone, as if the payload were line protocol {Smuggling}", FillTopic, point, Malformed, Bin);
        Add($"malformed-json: closes the string field, then LF and a fill point {Smuggling}", FillTopic,
            "{\"v\":1}\\\",error=\"x\" " + ms + "000\n" + point + "\ndead_letter payload=\"", Malformed, Bin);
        Add($"malformed-json: backslash before the LF {Smuggling}", FillTopic, valid + "\\\n" + point + "\\", Malformed, Bin);
        Add($"unknown-compartment: escaped quote, backslash and LF in the id carry a fill point into the error {Smuggling}", FillTopic,
            FillId("\"paper\\\\\\\",x=\\\"\\n" + point.Replace("\"", "\\\"", StringComparison.Ordinal) + "\\r\\n\\u0000\""), UnknownCompartment, Bin);
        Add($"unknown-topic: raw LF in the kind then a fill point {Smuggling}", "bins/JY-001/fill\n" + point, valid, UnknownTopic, Bin);
        Add($"unknown-topic: raw CR in the kind then a fill point {Smuggling}", "bins/JY-001/fill\r" + point, valid, UnknownTopic, Bin);
        Add($"unknown-topic: NUL in the kind then a fill point {Smuggling}", "bins/JY-001/fill\0" + point, valid, UnknownTopic, Bin);
        Add($"unknown-topic: backslash closing the kind, then LF and a point {Smuggling}", "bins/JY-001/fill\\\",x=\"\n" + point, valid, UnknownTopic, Bin);
        Add($"unknown-bin: raw CR LF in the id then a fill point {Smuggling}", "bins/JY-001\r\n" + point + "/fill", valid, UnknownBin, null);

        // ---------------------------------------------------------------- vehicles/{id}/position (CONTRACT §2: validated like the bins')
        // Only topics of the form vehicles/+/position, the ingestion's subscription: anything else under vehicles/ never reaches it.
        const string Vehicle = "REC-01";
        const string PositionTopic = "vehicles/REC-01/position";
        string Position(string lat = "36.97", string lon = "117.18", string speed = "32.5", string? tsJson = null) =>
            $$"""{"v":1,"ts":{{tsJson ?? Quote(ts)}},"lat":{{lat}},"lon":{{lon}},"speedKmh":{{speed}}}""";
        var validPosition = Position();
        Add("too-large: a position padded to 4097 bytes", PositionTopic, PadTo(validPosition, 4097), TooLarge, Vehicle);
        Add("too-large: a position of an unregistered vehicle (before unknown-vehicle)", "vehicles/REC-99/position", PadTo(validPosition, 5000), TooLarge, null);
        Add("unknown-topic: vehicles//position (empty id)", "vehicles//position", validPosition, UnknownTopic, null);
        Add("unknown-vehicle: REC-99", "vehicles/REC-99/position", validPosition, UnknownVehicle, null);
        Add("unknown-vehicle: rec-01 (ids are case-sensitive)", "vehicles/rec-01/position", validPosition, UnknownVehicle, null);
        Add("unknown-vehicle: a bin's id", "vehicles/JY-001/position", validPosition, UnknownVehicle, null);
        Add("unknown-vehicle: quotes, commas and equals signs in the id", "vehicles/REC\"01,bin=JY-002 x=1/position", validPosition, UnknownVehicle, null);
        Add("unknown-vehicle: SQL in the id", "vehicles/REC-01' OR '1'='1/position", validPosition, UnknownVehicle, null);
        Add("malformed-json: a position that is not JSON", PositionTopic, "lat=36.97 lon=117.18", Malformed, Vehicle);
        Add("malformed-json: a position as an array", PositionTopic, "[36.97,117.18,32.5]", Malformed, Vehicle);
        AddBytes("malformed-json: a position in Latin-1", PositionTopic, [.. Encoding.UTF8.GetBytes(validPosition[..^1]), .. ",\"note\":\""u8, 0xE9, .. "\"}"u8], Malformed, Vehicle);
        Add($"malformed-json: a position, LF, then a fill point for another bin {Smuggling}", PositionTopic,
            validPosition + "\n" + $"fill,bin={SmuggledBin},community=c01,compartment=paper,stream=recyclable pct=99,seq=1i 1700000000000", Malformed, Vehicle);
        Add("unsupported-version: a position of v 2", PositionTopic, validPosition.Replace("\"v\":1", "\"v\":2", StringComparison.Ordinal), Version, Vehicle);
        Add("missing-field: a position without lat", PositionTopic, $$"""{"v":1,"ts":"{{ts}}","lon":117.18,"speedKmh":32.5}""", Missing, Vehicle);
        Add("missing-field: a position without speedKmh", PositionTopic, $$"""{"v":1,"ts":"{{ts}}","lat":36.97,"lon":117.18}""", Missing, Vehicle);
        Add("missing-field: a position without ts", PositionTopic, """{"v":1,"lat":36.97,"lon":117.18,"speedKmh":32.5}""", Missing, Vehicle);
        Add("invalid-field: lat as a string", PositionTopic, Position(lat: "\"36.97\""), Invalid, Vehicle);
        Add("invalid-field: lon null", PositionTopic, Position(lon: "null"), Invalid, Vehicle);
        Add("invalid-field: speedKmh an object", PositionTopic, Position(speed: "{\"value\":32.5}"), Invalid, Vehicle);
        Add("invalid-field: a position's ts in local time", PositionTopic, Position(tsJson: "\"2026-11-29 16:15:00\""), Invalid, Vehicle);
        Add("out-of-range: lat south of the district", PositionTopic, Position(lat: "36.7"), OutOfRange, Vehicle);
        Add("out-of-range: lon east of the district", PositionTopic, Position(lon: "117.6"), OutOfRange, Vehicle);
        Add("out-of-range: lat and lon swapped", PositionTopic, Position(lat: "117.18", lon: "36.97"), OutOfRange, Vehicle);
        Add("out-of-range: no GPS fix (0, 0)", PositionTopic, Position(lat: "0", lon: "0"), OutOfRange, Vehicle);
        Add("out-of-range: a negative speed", PositionTopic, Position(speed: "-3"), OutOfRange, Vehicle);
        Add("out-of-range: an absurd speed", PositionTopic, Position(speed: "900"), OutOfRange, Vehicle);
        Add("out-of-range: a speed too large for a double", PositionTopic, Position(speed: "1e400"), OutOfRange, Vehicle);
        Add("timestamp-skew: a position 6 minutes ahead", PositionTopic, Position(tsJson: Quote(future)), Skew, Vehicle);
        Add("timestamp-skew: a position 8 days old", PositionTopic, Position(tsJson: Quote(ancient)), Skew, Vehicle);

        return cases;
    }

    private static string Ts(DateTimeOffset t) => Format(t, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'");

    private static string Format(DateTimeOffset t, string format) =>
        t.ToUniversalTime().ToString(format, CultureInfo.InvariantCulture);

    private static string Quote(string s) => "\"" + s + "\"";

    /// <summary>Adds a member before the closing brace of a JSON object.</summary>
    private static string WithExtra(string json, string member) => json[..^1] + "," + member + "}";

    /// <summary>Pads a valid JSON object with an ignored string member to exactly <paramref name="bytes"/> UTF-8 bytes.</summary>
    private static string PadTo(string json, int bytes, char fill = 'x')
    {
        var head = json[..^1] + ",\"pad\":\"";
        const string Tail = "\"}";
        var room = bytes - Encoding.UTF8.GetByteCount(head) - Tail.Length;
        var fillBytes = Encoding.UTF8.GetByteCount(fill.ToString());
        var sb = new StringBuilder(head);
        sb.Append(fill, room / fillBytes);
        sb.Append('x', room % fillBytes);
        sb.Append(Tail);
        var result = sb.ToString();
        return Encoding.UTF8.GetByteCount(result) == bytes
            ? result
            : throw new InvalidOperationException($"padding produced {Encoding.UTF8.GetByteCount(result)} bytes, not {bytes}");
    }

    private static byte[] Filled(int count, byte value)
    {
        var bytes = new byte[count];
        Array.Fill(bytes, value);
        return bytes;
    }

    /// <summary>The UTF-8 bytes of <paramref name="json"/> with <paramref name="raw"/> inserted before the first occurrence of <paramref name="marker"/>.</summary>
    private static byte[] Splice(string json, string marker, byte[] raw)
    {
        var at = json.IndexOf(marker, StringComparison.Ordinal);
        if (at < 0)
        {
            throw new ArgumentException($"marker '{marker}' not found", nameof(marker));
        }
        return [.. Encoding.UTF8.GetBytes(json[..at]), .. raw, .. Encoding.UTF8.GetBytes(json[at..])];
    }
}
