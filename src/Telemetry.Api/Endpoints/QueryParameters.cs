using System.Globalization;
using System.Text.RegularExpressions;

namespace Telemetry.Api.Endpoints;

/// <summary>Parsing of query parameters; every failure names the parameter (400 problem details).</summary>
internal static partial class QueryParameters
{
    public sealed class BadParameterException(string parameter, string message) : Exception(message)
    {
        public string Parameter { get; } = parameter;
    }

    /// <summary>An RFC 3339 instant with an offset or Z (<c>2026-11-01T00:00:00Z</c>, <c>2026-11-01T08:00:00+08:00</c>).</summary>
    public static DateTimeOffset? Instant(string name, string? value)
    {
        if (value is null)
        {
            return null;
        }
        if (!Rfc3339().IsMatch(value) || !DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.None, out var t))
        {
            throw new BadParameterException(name, $"'{Shorten(value)}' is not an RFC 3339 time with an offset, such as 2026-11-01T00:00:00Z");
        }
        return t;
    }

    /// <summary>A duration such as <c>30s</c>, <c>10m</c>, <c>1h</c>, <c>1d</c>, <c>7d</c>.</summary>
    public static TimeSpan? Duration(string name, string? value)
    {
        if (value is null)
        {
            return null;
        }
        var m = DurationText().Match(value);
        if (!m.Success || !long.TryParse(m.Groups["n"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0 || n > 100_000)
        {
            throw new BadParameterException(name, $"'{Shorten(value)}' is not a duration; a whole number and a unit: s, m, h or d (10m, 1h, 1d)");
        }
        return m.Groups["u"].Value switch
        {
            "s" => TimeSpan.FromSeconds(n),
            "m" => TimeSpan.FromMinutes(n),
            "h" => TimeSpan.FromHours(n),
            _ => TimeSpan.FromDays(n),
        };
    }

    public static int? Int(string name, string? value, int min, int max)
    {
        if (value is null)
        {
            return null;
        }
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < min || n > max)
        {
            throw new BadParameterException(name, $"'{Shorten(value)}' is not a whole number from {min} to {max}");
        }
        return n;
    }

    /// <summary>A period [from, to): both given or defaulted, <c>to</c> after <c>from</c>, at most <paramref name="maxDays"/> days.</summary>
    public static (DateTimeOffset From, DateTimeOffset To) Period(string? from, string? to, DateTimeOffset defaultTo, TimeSpan defaultLength, int maxDays, bool required)
    {
        if (required && from is null)
        {
            throw new BadParameterException("from", "required: the start of the period, an RFC 3339 time such as 2026-11-01T00:00:00Z");
        }
        if (required && to is null)
        {
            throw new BadParameterException("to", "required: the end of the period (exclusive), an RFC 3339 time such as 2026-12-01T00:00:00Z");
        }
        var end = Instant("to", to) ?? defaultTo;
        if (from is null && end.UtcTicks - DateTimeOffset.MinValue.UtcTicks < defaultLength.Ticks)
        {
            throw new BadParameterException("to", $"'{Shorten(to ?? "")}' is too early to be the end of a period");
        }
        var start = Instant("from", from) ?? end - defaultLength;
        if (end <= start)
        {
            throw new BadParameterException("to", $"must be after from ({ApiJson.Format(start)})");
        }
        if (end - start > TimeSpan.FromDays(maxDays))
        {
            throw new BadParameterException("to", $"the period is at most {maxDays} days");
        }
        return (start, end);
    }

    /// <summary>A value echoed in an error: at most 64 characters, control characters shown as '?'.</summary>
    public static string Shorten(string value)
    {
        var s = value.Length > 64 ? value[..64] + "…" : value;
        return string.Create(s.Length, s, (span, src) =>
        {
            for (var i = 0; i < src.Length; i++)
            {
                span[i] = char.IsControl(src[i]) ? '?' : src[i];
            }
        });
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")]
    private static partial Regex Rfc3339();

    [GeneratedRegex(@"^(?<n>\d{1,6})(?<u>[smhd])$")]
    private static partial Regex DurationText();
}
