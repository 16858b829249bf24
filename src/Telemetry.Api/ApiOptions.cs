using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Telemetry.Api;

/// <summary>The <c>Api</c> section (CONTRACT §4, §6).</summary>
public sealed class ApiOptions
{
    public const string Section = "Api";

    /// <summary><c>Api:Keys:{name}:Role</c> and <c>:Sha256</c>: one key per person; the key itself is never configured.</summary>
    public Dictionary<string, ApiKeyOptions> Keys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>How often the fleet's live state is checked against the store, in case an event was lost unnoticed (the last one before a quiet spell).</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary><c>Api:Map:*</c>: the dashboard's map (a plain background unless a tile server is configured).</summary>
    public MapOptions Map { get; set; } = new();
}

/// <summary>
/// The dashboard map's optional street map: tiles from a server on the operator's network (nothing is loaded from
/// the internet unless this names it), drawn in <see cref="TileDatum"/>, so markers are converted from the registry's
/// WGS 84 before they are placed.
/// </summary>
public sealed class MapOptions
{
    /// <summary>An http(s) URL template with {z}, {x} and {y} (and optionally {s}); empty: no street map.</summary>
    public string? TileUrl { get; set; }

    /// <summary><c>wgs84</c> or <c>gcj02</c> (Chinese street maps: AMap, Tencent, and most tile servers inside China).</summary>
    public string TileDatum { get; set; } = "wgs84";

    /// <summary>Text shown in the map's corner, e.g. the tiles' copyright.</summary>
    public string? TileAttribution { get; set; }

    public int MaxZoom { get; set; } = 18;

    /// <summary>What <c>{s}</c> in <see cref="TileUrl"/> stands for, one character each (Leaflet's subdomains): <c>abc</c>, or <c>1234</c> for AMap-style hosts.</summary>
    public string TileSubdomains { get; set; } = "abc";
}

/// <summary>
/// The fill and battery levels the dashboard colours and marks by: <c>Scheduling:ThresholdPct</c> (the collection
/// threshold, CONTRACT §4), and the <c>overflow</c> and <c>low-battery</c> alert thresholds of CONTRACT §6.
/// </summary>
public sealed class DisplayThresholds
{
    public double CollectionPct { get; init; } = 80;
    public double OverflowPct { get; init; } = 95;
    public double LowBatteryPct { get; init; } = 15;

    /// <summary>The lower edge of the band just under the collection threshold ("filling").</summary>
    public double LowerPct => Math.Max(0, CollectionPct - 30);
}

/// <summary>The <c>Alerts</c> keys the dashboard reads (the alert rules of CONTRACT §6 use the same ones).</summary>
public sealed class AlertThresholdOptions
{
    public const string Section = "Alerts";
    public double OverflowPct { get; set; } = 95;
    public double LowBatteryPct { get; set; } = 15;
}

/// <summary>The alert levels, and overflow above the collection threshold (<paramref name="scheduling"/>, when known).</summary>
internal sealed class AlertThresholdOptionsValidator(IOptions<Telemetry.Scheduling.SchedulingOptions>? scheduling = null) : IValidateOptions<AlertThresholdOptions>
{
    public ValidateOptionsResult Validate(string? name, AlertThresholdOptions options)
    {
        if (!(options.OverflowPct is > 0 and <= 100) || !double.IsFinite(options.OverflowPct))
        {
            return ValidateOptionsResult.Fail($"Alerts:OverflowPct: '{options.OverflowPct}' must be above 0 and at most 100");
        }
        if (!(options.LowBatteryPct is >= 0 and < 100) || !double.IsFinite(options.LowBatteryPct))
        {
            return ValidateOptionsResult.Fail($"Alerts:LowBatteryPct: '{options.LowBatteryPct}' must be from 0 to below 100");
        }
        if (scheduling?.Value is { } s && options.OverflowPct <= s.ThresholdPct)
        {
            return ValidateOptionsResult.Fail($"Alerts:OverflowPct: '{options.OverflowPct}' must be above Scheduling:ThresholdPct ({s.ThresholdPct}): overflow is fuller than the collection threshold");
        }
        return ValidateOptionsResult.Success;
    }
}

public sealed class ApiKeyOptions
{
    public string? Role { get; set; }
    public string? Sha256 { get; set; }
}

/// <summary>The roles of CONTRACT §6.</summary>
public static class ApiRoles
{
    public const string Dispatcher = "dispatcher";
    public const string Analyst = "analyst";
    public const string Admin = "admin";

    public static readonly string[] All = [Dispatcher, Analyst, Admin];
}

internal sealed partial class ApiOptionsValidator : IValidateOptions<ApiOptions>
{
    public ValidateOptionsResult Validate(string? name, ApiOptions options)
    {
        if (options.Keys.Count == 0)
        {
            return ValidateOptionsResult.Fail("Api:Keys: the api role needs at least one key (make one with `telemetry keys new --role admin --name NAME` and configure the two Api:Keys:NAME:* settings it prints)");
        }
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (keyName, key) in options.Keys.OrderBy(k => k.Key, StringComparer.Ordinal))
        {
            if (!KeyName().IsMatch(keyName))
            {
                return ValidateOptionsResult.Fail($"Api:Keys:{keyName}: a key's name is 1-64 letters, digits, '.', '_' or '-'");
            }
            if (string.IsNullOrEmpty(key.Role))
            {
                return ValidateOptionsResult.Fail($"Api:Keys:{keyName}:Role: missing; one of {string.Join(", ", ApiRoles.All)}");
            }
            if (!ApiRoles.All.Contains(key.Role, StringComparer.Ordinal))
            {
                return ValidateOptionsResult.Fail($"Api:Keys:{keyName}:Role: '{key.Role}' is not a role; one of {string.Join(", ", ApiRoles.All)}");
            }
            if (string.IsNullOrEmpty(key.Sha256))
            {
                return ValidateOptionsResult.Fail($"Api:Keys:{keyName}:Sha256: missing; the lowercase hex SHA-256 of the key (telemetry keys new prints it)");
            }
            if (!Sha256Hex().IsMatch(key.Sha256))
            {
                return ValidateOptionsResult.Fail($"Api:Keys:{keyName}:Sha256: not 64 lowercase hex digits (the SHA-256 of the key's UTF-8 bytes, never the key itself)");
            }
            if (seen.TryGetValue(key.Sha256, out var other))
            {
                return ValidateOptionsResult.Fail($"Api:Keys:{keyName}:Sha256: the same key as Api:Keys:{other}; each person has a key of their own");
            }
            seen[key.Sha256] = keyName;
        }
        if (options.ReconcileInterval < TimeSpan.FromSeconds(1) || options.ReconcileInterval > TimeSpan.FromDays(1))
        {
            return ValidateOptionsResult.Fail($"Api:ReconcileInterval: '{options.ReconcileInterval}' must be between 00:00:01 and 1.00:00:00");
        }
        return ValidateMap(options.Map) is { } failure ? ValidateOptionsResult.Fail(failure) : ValidateOptionsResult.Success;
    }

    internal static string? ValidateMap(MapOptions map)
    {
        if (!Telemetry.Fleet.MapDatums.TryParse(map.TileDatum, out _))
        {
            return $"Api:Map:TileDatum: '{map.TileDatum}' is not a datum; wgs84 or gcj02";
        }
        if (map.MaxZoom is < 1 or > 22)
        {
            return $"Api:Map:MaxZoom: '{map.MaxZoom}' must be between 1 and 22";
        }
        if (map.TileAttribution is { Length: > 300 } || (map.TileAttribution?.Any(char.IsControl) ?? false))
        {
            return "Api:Map:TileAttribution: at most 300 characters, no control characters";
        }
        if (!System.Text.RegularExpressions.Regex.IsMatch(map.TileSubdomains ?? "", "^[a-z0-9]{1,16}$"))
        {
            return "Api:Map:TileSubdomains: 1-16 lowercase letters or digits, one subdomain each (e.g. abc or 1234)";
        }
        if (string.IsNullOrWhiteSpace(map.TileUrl))
        {
            return null;
        }
        if (TileOrigin(map.TileUrl) is null)
        {
            return $"Api:Map:TileUrl: '{(map.TileUrl.Length > 120 ? map.TileUrl[..120] + "…" : map.TileUrl)}' is not an http(s) URL template with {{z}}, {{x}} and {{y}}, e.g. http://tiles.example.local/{{z}}/{{x}}/{{y}}.png";
        }
        return null;
    }

    /// <summary>The origin (scheme, host, port) the tiles come from, for the content security policy; null when the template is not usable.</summary>
    internal static string? TileOrigin(string template)
    {
        if (!template.Contains("{z}", StringComparison.Ordinal) || !template.Contains("{x}", StringComparison.Ordinal) || !template.Contains("{y}", StringComparison.Ordinal)
            || template.Any(c => c > '~' || char.IsControl(c) || char.IsWhiteSpace(c) || c is ';' or ',' or '\'' or '"' or '\\'))
        {
            return null;
        }
        // Only Leaflet's placeholders: any other makes every tile request throw in the page.
        var rest = System.Text.RegularExpressions.Regex.Replace(template, "\\{(s|z|x|y|r)\\}", "");
        if (rest.Contains('{', StringComparison.Ordinal) || rest.Contains('}', StringComparison.Ordinal))
        {
            return null;
        }
        var probe = template.Replace("{s}", "a", StringComparison.Ordinal).Replace("{z}", "0", StringComparison.Ordinal)
            .Replace("{x}", "0", StringComparison.Ordinal).Replace("{y}", "0", StringComparison.Ordinal).Replace("{r}", "", StringComparison.Ordinal);
        if (!Uri.TryCreate(probe, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || uri.HostNameType is not (UriHostNameType.Dns or UriHostNameType.IPv4) || string.IsNullOrEmpty(uri.IdnHost))
        {
            // An IPv6 literal cannot be written in a content security policy.
            return null;
        }
        var authority = template[(template.IndexOf("://", StringComparison.Ordinal) + 3)..];
        var hostTemplate = authority.Split('/', '?', '#')[0].Split(':')[0];
        string host;
        if (hostTemplate.Contains("{s}", StringComparison.Ordinal))
        {
            // {s} only within the host's first label (a.tiles.local, webrd0{s}.is.autonavi.com): the policy then allows the parent's subdomains.
            var dot = hostTemplate.IndexOf('.', StringComparison.Ordinal);
            if (dot < 0 || hostTemplate.IndexOf("{s}", StringComparison.Ordinal) > dot || uri.HostNameType != UriHostNameType.Dns)
            {
                return null;
            }
            host = "*." + uri.IdnHost[(uri.IdnHost.IndexOf('.', StringComparison.Ordinal) + 1)..];
        }
        else
        {
            host = uri.IdnHost;
        }
        return $"{uri.Scheme}://{host}{(uri.IsDefaultPort ? "" : ":" + uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture))}";
    }

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    internal static partial Regex KeyName();

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256Hex();
}
