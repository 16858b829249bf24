using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Telemetry.Storage.InfluxDb;

/// <summary>InfluxQL text helpers and the JSON answer of <c>/query</c>.</summary>
internal static class InfluxQl
{
    /// <summary>A double-quoted identifier.</summary>
    public static string Ident(string name) => "\"" + Escape(name, '"') + "\"";

    /// <summary>A single-quoted string literal.</summary>
    public static string Literal(string value) => "'" + Escape(value, '\'') + "'";

    /// <summary>An absolute time as nanoseconds since the epoch (an integer literal is a time in ns).</summary>
    public static string Time(DateTimeOffset t) =>
        checked((t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100).ToString(CultureInfo.InvariantCulture);

    /// <summary>A time range condition [start, end).</summary>
    public static string Range(DateTimeOffset start, DateTimeOffset end) => $"time >= {Time(start)} AND time < {Time(end)}";

    /// <summary>A duration literal in microseconds (never zero).</summary>
    public static string Duration(TimeSpan d) =>
        Math.Max(1, d.Ticks / 10).ToString(CultureInfo.InvariantCulture) + "u";

    private static string Escape(string s, char quote)
    {
        var sb = new StringBuilder(s.Length + 2);
        foreach (var c in s)
        {
            switch (c)
            {
                case '\\':
                    sb.Append(@"\\");
                    break;
                case '\n':
                    sb.Append(@"\n");
                    break;
                default:
                    if (c == quote)
                    {
                        sb.Append('\\');
                    }
                    sb.Append(c);
                    break;
            }
        }
        return sb.ToString();
    }

    /// <summary>The series of each statement's result, in statement order.</summary>
    public static List<List<Series>> Parse(JsonElement root)
    {
        if (root.TryGetProperty("error", out var topError))
        {
            throw new InvalidOperationException(topError.GetString() ?? "unknown error");
        }
        var results = new List<List<Series>>();
        if (!root.TryGetProperty("results", out var resultsElement))
        {
            return results;
        }
        foreach (var result in resultsElement.EnumerateArray())
        {
            if (result.TryGetProperty("error", out var error))
            {
                throw new InvalidOperationException(error.GetString() ?? "unknown error");
            }
            var list = new List<Series>();
            if (result.TryGetProperty("series", out var series))
            {
                foreach (var s in series.EnumerateArray())
                {
                    list.Add(Series.From(s));
                }
            }
            results.Add(list);
        }
        return results;
    }

    /// <summary>
    /// Hands each series of each statement's result, in order, to <paramref name="onSeries"/>: the statement's index,
    /// the series' name, tags and columns (<see cref="Series.Rows"/> empty) and its <c>values</c> array, read in place
    /// without copying (valid only during the call; an empty array when there are none). True when the server marked
    /// a result or a series <c>partial</c>: the answer was cut short (InfluxDB 1.x's <c>[http] max-row-limit</c>).
    /// </summary>
    public static bool Visit(JsonElement root, Action<int, Series, JsonElement> onSeries)
    {
        ArgumentNullException.ThrowIfNull(onSeries);
        if (root.TryGetProperty("error", out var topError))
        {
            throw new InvalidOperationException(topError.GetString() ?? "unknown error");
        }
        if (!root.TryGetProperty("results", out var resultsElement))
        {
            return false;
        }
        var partial = false;
        var index = 0;
        foreach (var result in resultsElement.EnumerateArray())
        {
            if (result.TryGetProperty("error", out var error))
            {
                throw new InvalidOperationException(error.GetString() ?? "unknown error");
            }
            partial |= IsPartial(result);
            if (result.TryGetProperty("series", out var series))
            {
                foreach (var s in series.EnumerateArray())
                {
                    partial |= IsPartial(s);
                    onSeries(index, Series.From(s, withRows: false), s.TryGetProperty("values", out var values) ? values : EmptyArray);
                }
            }
            index++;
        }
        return partial;
    }

    private static bool IsPartial(JsonElement e) => e.TryGetProperty("partial", out var p) && p.ValueKind == JsonValueKind.True;

    private static readonly JsonElement EmptyArray = Constant("[]");

    internal static JsonElement Constant(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }
}

/// <summary>One series of a query answer: its tags and rows.</summary>
internal sealed class Series
{
    private readonly Dictionary<string, int> _columns;

    private Series(string name, Dictionary<string, string> tags, Dictionary<string, int> columns, List<JsonElement[]> rows)
    {
        Name = name;
        Tags = tags;
        _columns = columns;
        Rows = rows;
    }

    public string Name { get; }

    public IReadOnlyDictionary<string, string> Tags { get; }

    public IReadOnlyList<JsonElement[]> Rows { get; }

    /// <summary>A tag's text: stored escaped as CONTRACT §3 says, returned exact.</summary>
    public string Tag(string key) => LineProtocol.UnescapeText(Tags.GetValueOrDefault(key) ?? "");

    public int Column(string name) =>
        _columns.TryGetValue(name, out var i) ? i : throw new InvalidOperationException($"column '{name}' missing in series '{Name}'");

    /// <summary>The column's index, or -1 when the answer has no such column.</summary>
    public int ColumnOrMissing(string name) => _columns.TryGetValue(name, out var i) ? i : -1;

    /// <summary>The value of column <paramref name="index"/> of a row (JSON null when the column is missing or the row short).</summary>
    public static JsonElement Cell(JsonElement row, int index) =>
        index >= 0 && index < row.GetArrayLength() ? row[index] : NullValue;

    private static readonly JsonElement NullValue = InfluxQl.Constant("null");

    public static long Long(JsonElement v) => v.ValueKind == JsonValueKind.Number ? v.GetInt64() : 0;

    public static double? Double(JsonElement v) => v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    public static bool? Bool(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    public static string? String(JsonElement v) => v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    internal static Series From(JsonElement s, bool withRows = true)
    {
        var name = s.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "";
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        if (s.TryGetProperty("tags", out var t) && t.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in t.EnumerateObject())
            {
                tags[p.Name] = p.Value.GetString() ?? "";
            }
        }
        var columns = new Dictionary<string, int>(StringComparer.Ordinal);
        if (s.TryGetProperty("columns", out var c))
        {
            var i = 0;
            foreach (var col in c.EnumerateArray())
            {
                columns[col.GetString() ?? ""] = i++;
            }
        }
        var rows = new List<JsonElement[]>();
        if (withRows && s.TryGetProperty("values", out var values))
        {
            foreach (var row in values.EnumerateArray())
            {
                rows.Add([.. row.EnumerateArray().Select(e => e.Clone())]);
            }
        }
        return new Series(name, tags, columns, rows);
    }
}
