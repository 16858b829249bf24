using System.Text;
using FsCheck.Xunit;
using Microsoft.Data.Sqlite;
using Telemetry.Contracts.Readings;
using Telemetry.Storage;
using Telemetry.Storage.InfluxDb;
using Telemetry.Storage.Sqlite;

namespace Telemetry.UnitTests;

/// <summary>CONTRACT §3's text escaping, the dead-letter payload and how SQLite errors are classified: pure logic, no server.</summary>
public class StoredTextTests
{
    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("a\\b", @"a\\b")]
    [InlineData("a\r\nb", @"a\r\nb")]
    [InlineData("nul\0end", @"nul\0end")]
    [InlineData("\\n is not a newline", @"\\n is not a newline")]
    [InlineData("\"quoted\", a=b c", "\"quoted\", a=b c")]
    public void Text_escaping_follows_the_contract(string text, string escaped)
    {
        Assert.Equal(escaped, LineProtocol.EscapeText(text));
        Assert.Equal(text, LineProtocol.UnescapeText(escaped));
    }

    [Theory]
    [InlineData("ends\\", @"ends\\\.")]
    [InlineData("\\", @"\\\.")]
    [InlineData("ends\\\\", @"ends\\\\\.")]
    [InlineData("ends\\.", @"ends\\.")]
    [InlineData("c01", "c01")]
    public void A_tag_value_never_ends_in_a_backslash(string text, string stored)
    {
        var tag = LineProtocol.TagText(text);
        Assert.Equal(stored, tag);
        Assert.False(tag.EndsWith('\\'));
        Assert.Equal(text, LineProtocol.UnescapeText(tag));
    }

    [Theory]
    [InlineData(@"a\b", @"a\b")] // written before the escaping: a lone backslash stays
    [InlineData("raw\nnewline", "raw\nnewline")]
    [InlineData(@"x\.y", @"x\.y")] // the end marker means nothing except at the end
    [InlineData("trailing\\", "trailing\\")]
    public void Text_that_is_not_an_escape_reads_back_as_stored(string stored, string text) =>
        Assert.Equal(text, LineProtocol.UnescapeText(stored));

    [Property(MaxTest = 2000)]
    public bool Any_text_round_trips_and_escaped_text_holds_no_CR_LF_or_NUL(string text)
    {
        text ??= "";
        var field = LineProtocol.EscapeText(text);
        var tag = LineProtocol.TagText(text);
        return LineProtocol.UnescapeText(field) == text
            && LineProtocol.UnescapeText(tag) == text
            && field.IndexOfAny(['\r', '\n', '\0']) < 0
            && tag.IndexOfAny(['\r', '\n', '\0']) < 0
            && !tag.EndsWith('\\');
    }

    [Fact]
    public void A_dead_letter_line_carries_no_raw_CR_LF_or_NUL_and_keeps_its_fields()
    {
        var letter = new DeadLetter(DateTimeOffset.UnixEpoch, "malformed-json", "JY-001", "in\\gest", "bins/JY-001/fill\r\n",
            "{}\nfill,bin=JY-002 pct=99 1\r\0\"\\", "e\n");
        var line = LineProtocol.Format(letter, 7);
        Assert.Equal(@"dead_letter,bin=JY-001,ingester=in\\gest,reason=malformed-json topic=""bins/JY-001/fill\\r\\n"",payload=""{}\\nfill,bin=JY-002 pct=99 1\\r\\0\""\\\\"",error=""e\\n"" 7", line);
        Assert.True(line.IndexOfAny(['\r', '\n', '\0']) < 0);
    }

    [Fact]
    public void A_reading_whose_tags_hold_odd_text_is_escaped_in_its_line()
    {
        var line = LineProtocol.Format(new FillReading("JY-0\\1", "c 01,x=y\\", "pa\nper", "recyclable", DateTimeOffset.FromUnixTimeMilliseconds(5), 1, 2));
        Assert.Equal(@"fill,bin=JY-0\\1,community=c\ 01\,x\=y\\\.,compartment=pa\nper,stream=recyclable pct=2,seq=1i 5", line);
    }

    [Fact]
    public void A_dead_letter_keeps_the_first_4096_bytes_as_text_when_they_are_valid_UTF8()
    {
        var chinese = Encoding.UTF8.GetBytes(new string('中', 1300)); // 3,900 bytes, valid
        Assert.Equal(new string('中', 1300), DeadLetters.PayloadText(chinese));
        var exactly = Encoding.UTF8.GetBytes(new string('x', 4096));
        Assert.Equal(4096, DeadLetters.PayloadText(exactly).Length);
        var longer = Encoding.UTF8.GetBytes(new string('y', 5000));
        Assert.Equal(new string('y', 4096), DeadLetters.PayloadText(longer));
        Assert.Equal("a\0\r\nb", DeadLetters.PayloadText("a\0\r\nb"u8));
        Assert.Equal("", DeadLetters.PayloadText([]));
        var letter = DeadLetters.Create(DateTimeOffset.UnixEpoch, "too-large", null, "i", "bins/x", new byte[5000], "e");
        Assert.Equal(("unknown", new string('\0', 4096)), (letter.BinId, letter.Payload));
    }

    [Fact]
    public void A_dead_letter_keeps_bytes_that_are_not_valid_UTF8_as_base64()
    {
        byte[] invalid = [(byte)'a', 0xFF, (byte)'b'];
        Assert.Equal("base64:" + Convert.ToBase64String(invalid), DeadLetters.PayloadText(invalid));
        var big = Enumerable.Range(0, 5000).Select(i => (byte)(i * 7)).ToArray();
        var text = DeadLetters.PayloadText(big);
        Assert.StartsWith("base64:", text, StringComparison.Ordinal);
        Assert.Equal(big[..4096], Convert.FromBase64String(text["base64:".Length..]));
    }

    [Fact]
    public void A_cut_that_splits_a_UTF8_character_keeps_the_exact_4096_bytes_as_base64()
    {
        // 4,095 ASCII bytes, then a 3-byte character: the first 4,096 bytes end inside it.
        var bytes = Encoding.UTF8.GetBytes(new string('x', 4095) + "中中");
        var text = DeadLetters.PayloadText(bytes);
        Assert.StartsWith(DeadLetters.Base64Prefix, text, StringComparison.Ordinal);
        Assert.Equal(bytes[..4096], Convert.FromBase64String(text[DeadLetters.Base64Prefix.Length..]));
        // Cut on a boundary instead: text.
        var aligned = Encoding.UTF8.GetBytes(new string('x', 4093) + "中中");
        Assert.Equal(new string('x', 4093) + "中", DeadLetters.PayloadText(aligned));
    }

    // Every primary result code of https://www.sqlite.org/rescode.html, and what it means for a write.
    public static TheoryData<int, string, string> SqliteCodes() => new()
    {
        { 0, "SQLITE_OK", "failed" },
        { 1, "SQLITE_ERROR", "failed" },
        { 2, "SQLITE_INTERNAL", "failed" },
        { 3, "SQLITE_PERM", "failed" },
        { 4, "SQLITE_ABORT", "retry" },
        { 5, "SQLITE_BUSY", "retry" },
        { 6, "SQLITE_LOCKED", "retry" },
        { 7, "SQLITE_NOMEM", "retry" },
        { 8, "SQLITE_READONLY", "failed" },
        { 9, "SQLITE_INTERRUPT", "retry" },
        { 10, "SQLITE_IOERR", "retry" },
        { 11, "SQLITE_CORRUPT", "failed" },
        { 12, "SQLITE_NOTFOUND", "failed" },
        { 13, "SQLITE_FULL", "retry" },
        { 14, "SQLITE_CANTOPEN", "failed" },
        { 15, "SQLITE_PROTOCOL", "retry" },
        { 16, "SQLITE_EMPTY", "failed" },
        { 17, "SQLITE_SCHEMA", "retry" },
        { 18, "SQLITE_TOOBIG", "refused" },
        { 19, "SQLITE_CONSTRAINT", "refused" },
        { 20, "SQLITE_MISMATCH", "refused" },
        { 21, "SQLITE_MISUSE", "failed" },
        { 22, "SQLITE_NOLFS", "failed" },
        { 23, "SQLITE_AUTH", "failed" },
        { 24, "SQLITE_FORMAT", "failed" },
        { 25, "SQLITE_RANGE", "failed" },
        { 26, "SQLITE_NOTADB", "failed" },
        { 27, "SQLITE_NOTICE", "failed" },
        { 28, "SQLITE_WARNING", "failed" },
        { 100, "SQLITE_ROW", "failed" },
        { 101, "SQLITE_DONE", "failed" },
        { 10 | (1 << 8), "SQLITE_IOERR", "retry" }, // an extended code (IOERR_READ) counts by its primary code
        { 8 | (5 << 8), "SQLITE_READONLY", "failed" }, // READONLY_DBMOVED
        { 99, "unknown", "failed" },
    };

    [Theory]
    [MemberData(nameof(SqliteCodes))]
    public void Every_SQLite_result_code_is_classified_with_the_path_and_its_name(int code, string name, string meaning)
    {
        var ex = SqliteStore.Classify(new SqliteException("SQLite says no", code), "/data/telemetry.db");
        var expected = meaning switch
        {
            "retry" => typeof(StoreUnavailableException),
            "refused" => typeof(StoreRejectedException),
            _ => typeof(StoreFailedException),
        };
        Assert.IsType(expected, ex);
        Assert.Contains("/data/telemetry.db", ex.Message, StringComparison.Ordinal);
        Assert.Contains(name, ex.Message, StringComparison.Ordinal);
        Assert.Contains("SQLite says no", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("partial write: field type conflict: input field \"pct\" on measurement \"fill\" is type float, already exists as type integer dropped=1", true)]
    [InlineData("partial write: max-series-per-database limit exceeded: (1000) dropped=1", true)]
    [InlineData("partial write: max-values-per-tag limit exceeded (100000/100000): measurement=\"fill\" tag=\"bin\" value=\"JY-056\" dropped=1", true)]
    [InlineData("failure writing points to database: partial write: schema conflict", true)]
    [InlineData("partial write: points beyond retention policy dropped=1", false)]
    [InlineData("unable to parse 'fill,bin=JY-001 pct=': missing field value", false)]
    public void Refusals_of_the_stores_state_are_store_wide_and_the_messages_own_are_not(string message, bool storeWide) =>
        Assert.Equal(storeWide, InfluxDbStore.IsStoreWide(message));
}
