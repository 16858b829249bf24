using System.Globalization;

namespace Telemetry.Routing.Travel;

/// <summary>
/// The <c>Routing:Travel</c> section: where travel distances and times come from. <c>great-circle</c> (the default) needs no
/// service; <c>osrm</c> asks an OSRM <c>table</c> service at <see cref="OsrmTravelOptions.Url"/>.
/// </summary>
public sealed record TravelOptions
{
    public const string Section = "Routing:Travel";
    public const string GreatCircleProvider = "great-circle";
    public const string OsrmProvider = "osrm";

    /// <summary><c>great-circle</c> or <c>osrm</c>.</summary>
    public string Provider { get; set; } = GreatCircleProvider;

    /// <summary>Great-circle only: road distance per straight-line distance (roads wind; 1.3 is typical of a city's grid).</summary>
    public double RoadFactor { get; set; } = 1.3;

    /// <summary>Great-circle only: the mean speed of a collection truck between stops, km/h.</summary>
    public double SpeedKmh { get; set; } = 30;

    /// <summary>The OSRM service, when <see cref="Provider"/> is <c>osrm</c>.</summary>
    public OsrmTravelOptions Osrm { get; set; } = new();

    /// <summary>Every problem of these settings, each naming its key (<c>Routing:Travel:...</c>); empty when they are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Provider is not (GreatCircleProvider or OsrmProvider))
        {
            errors.Add($"{Section}:Provider: '{Provider}' must be '{GreatCircleProvider}' or '{OsrmProvider}'");
            return errors;
        }
        if (Provider == GreatCircleProvider)
        {
            if (!(double.IsFinite(RoadFactor) && RoadFactor is >= 1 and <= 5))
            {
                errors.Add($"{Section}:RoadFactor: '{Invariant(RoadFactor)}' must be from 1 to 5");
            }
            if (!(double.IsFinite(SpeedKmh) && SpeedKmh is >= 1 and <= 200))
            {
                errors.Add($"{Section}:SpeedKmh: '{Invariant(SpeedKmh)}' must be from 1 to 200");
            }
            return errors;
        }
        var osrm = Osrm;
        if (string.IsNullOrWhiteSpace(osrm.Url))
        {
            errors.Add($"{Section}:Osrm:Url: required when {Section}:Provider is '{OsrmProvider}' (e.g. http://127.0.0.1:5000)");
        }
        else if (!Uri.TryCreate(osrm.Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            errors.Add($"{Section}:Osrm:Url: '{osrm.Url}' must be an absolute http:// or https:// address");
        }
        if (string.IsNullOrWhiteSpace(osrm.Profile) || osrm.Profile.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
        {
            errors.Add($"{Section}:Osrm:Profile: '{osrm.Profile}' must be a profile name such as 'driving' (letters, digits, '-', '_')");
        }
        if (osrm.Timeout < TimeSpan.FromMilliseconds(100) || osrm.Timeout > TimeSpan.FromMinutes(10))
        {
            errors.Add($"{Section}:Osrm:Timeout: '{osrm.Timeout}' must be from 00:00:00.1 to 00:10:00");
        }
        if (osrm.MaxTableSize is < 2 or > 100_000)
        {
            errors.Add($"{Section}:Osrm:MaxTableSize: '{osrm.MaxTableSize}' must be from 2 to 100000 (the server's --max-table-size; OSRM's default is 100)");
        }
        return errors;
    }

    private static string Invariant(double value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The <c>Routing:Travel:Osrm</c> section.</summary>
public sealed record OsrmTravelOptions
{
    /// <summary>The service's base address, e.g. <c>http://127.0.0.1:5000</c> (the table service is under <c>/table/v1/{profile}/</c>).</summary>
    public string? Url { get; set; }

    /// <summary>The profile the server was prepared with (OSRM's <c>driving</c> / <c>car</c>).</summary>
    public string Profile { get; set; } = "driving";

    /// <summary>How long one table request may take.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The server's <c>--max-table-size</c> (OSRM's default is 100): one request asks for at most this many sources times this
    /// many destinations; a larger matrix is asked for in blocks (<c>sources</c>/<c>destinations</c>).
    /// </summary>
    public int MaxTableSize { get; set; } = 100;
}
