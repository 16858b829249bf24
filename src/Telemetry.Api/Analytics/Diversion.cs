using System.Globalization;
using System.Text;
using Telemetry.Fleet;
using Telemetry.Storage;

namespace Telemetry.Api.Analytics;

/// <summary>Deposited kg of the four streams.</summary>
public sealed record StreamKg(double Recyclable, double Kitchen, double Hazardous, double Residual)
{
    public static readonly StreamKg Zero = new(0, 0, 0, 0);

    /// <summary>Recyclable, kitchen and hazardous kg over all four; null when nothing was deposited (CONTRACT §3).</summary>
    public double? DiversionRate
    {
        get
        {
            var all = Recyclable + Kitchen + Hazardous + Residual;
            return all > 0 ? (Recyclable + Kitchen + Hazardous) / all : null;
        }
    }

    public StreamKg Add(WasteStream stream, double kg) => stream switch
    {
        WasteStream.Recyclable => this with { Recyclable = Recyclable + kg },
        WasteStream.Kitchen => this with { Kitchen = Kitchen + kg },
        WasteStream.Hazardous => this with { Hazardous = Hazardous + kg },
        WasteStream.Residual => this with { Residual = Residual + kg },
        _ => throw new ArgumentOutOfRangeException(nameof(stream), stream, "not a waste stream"),
    };
}

public sealed record DiversionGroup(string Key, string Name, StreamKg DepositedKg);

public sealed record DiversionReport(DateTimeOffset From, DateTimeOffset To, string GroupBy, string TimeZone, StreamKg Total, IReadOnlyList<DiversionGroup> Groups);

/// <summary>The diversion arithmetic of CONTRACT §3 and §6, apart from any I/O.</summary>
public static class Diversion
{
    public static readonly string[] GroupBys = ["community", "stream", "material", "day"];

    /// <summary>
    /// Groups the store's deposit totals (already limited to the period, and to the bin when one is asked for) by
    /// <paramref name="groupBy"/>, optionally for one community. Groups are those with a deposit, ordered by key
    /// (ordinal); rates and kg are not rounded.
    /// </summary>
    public static DiversionReport Compute(IReadOnlyList<DepositTotal> deposits, FleetRegistry registry, DateTimeOffset from, DateTimeOffset to, string groupBy, string? community)
    {
        ArgumentNullException.ThrowIfNull(deposits);
        ArgumentNullException.ThrowIfNull(registry);
        var total = StreamKg.Zero;
        var groups = new SortedDictionary<string, StreamKg>(StringComparer.Ordinal);
        foreach (var d in deposits)
        {
            if (community is not null && !string.Equals(d.Community, community, StringComparison.Ordinal))
            {
                continue;
            }
            if (!WasteStreams.TryParse(d.Stream, out var stream))
            {
                continue; // not one of the four streams (CONTRACT §3 counts those only)
            }
            var key = groupBy switch
            {
                "community" => d.Community,
                "stream" => d.Stream,
                "material" => d.Material,
                "day" => d.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                _ => throw new ArgumentOutOfRangeException(nameof(groupBy), groupBy, "not a grouping"),
            };
            groups[key] = groups.GetValueOrDefault(key, StreamKg.Zero).Add(stream, d.Kg);
            total = total.Add(stream, d.Kg);
        }
        var list = groups.Select(g => new DiversionGroup(g.Key,
            groupBy == "community" ? registry.FindCommunity(g.Key)?.Name ?? g.Key : g.Key, g.Value)).ToList();
        return new DiversionReport(from.ToUniversalTime(), to.ToUniversalTime(), groupBy, TimeZoneName(registry.TimeZone), total, list);
    }

    public static string TimeZoneName(TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        return zone.HasIanaId ? zone.Id : TimeZoneInfo.TryConvertWindowsIdToIanaId(zone.Id, out var iana) ? iana : zone.Id;
    }

    /// <summary>
    /// CSV of CONTRACT §6: UTF-8 with a byte-order mark, CRLF, RFC 4180 quoting, '.' decimals (round-trip), an
    /// empty cell where the rate is null; a row per group, then <c>total</c>.
    /// </summary>
    public static byte[] Csv(DiversionReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var sb = new StringBuilder();
        sb.Append("key,name,recyclableKg,kitchenKg,hazardousKg,residualKg,diversionRate\r\n");
        foreach (var g in report.Groups)
        {
            Row(sb, g.Key, g.Name, g.DepositedKg);
        }
        Row(sb, "total", "total", report.Total);
        var preamble = Encoding.UTF8.GetPreamble();
        var body = Encoding.UTF8.GetBytes(sb.ToString());
        return [.. preamble, .. body];
    }

    private static void Row(StringBuilder sb, string key, string name, StreamKg kg)
    {
        sb.Append(Field(key)).Append(',').Append(Field(name)).Append(',')
            .Append(Number(kg.Recyclable)).Append(',').Append(Number(kg.Kitchen)).Append(',')
            .Append(Number(kg.Hazardous)).Append(',').Append(Number(kg.Residual)).Append(',')
            .Append(kg.DiversionRate is { } r ? Number(r) : "").Append("\r\n");
    }

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>RFC 4180: a field with a comma, quote, CR or LF is quoted, its quotes doubled.</summary>
    internal static string Field(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
}
