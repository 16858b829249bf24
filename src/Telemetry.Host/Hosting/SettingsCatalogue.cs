using Microsoft.Extensions.Configuration;
using Telemetry.Contracts.Configuration;

namespace Telemetry.Host.Hosting;

/// <summary>
/// Every key of the sections the project owns (CONTRACT §4). A key in one of those sections that is
/// not listed is a mistake (<c>--Storage:Backnd=influxdb</c> must not run quietly on SQLite) and stops
/// the program at start, naming it. Keys of roles this build does not run yet are listed so that a
/// configuration written for the whole system is accepted.
/// </summary>
internal static class SettingsCatalogue
{
    public static readonly string[] OwnedSections = ["Mqtt", "Storage", "Ingestion", "Bus", "Api", "Fleet", "Scheduling", "Alerts", "Routing", "Health", "Host"];

    /// <summary>Known keys; <c>*</c> stands for one segment of any name (an API key's label).</summary>
    public static readonly string[] Keys =
    [
        "Mqtt:Server", "Mqtt:Username", "Mqtt:Password", "Mqtt:SharedGroup", "Mqtt:ClientId",
        "Storage:Backend", "Storage:Sqlite:Path",
        "Storage:InfluxDb:Url", "Storage:InfluxDb:Token", "Storage:InfluxDb:Org", "Storage:InfluxDb:Bucket", "Storage:InfluxDb:ApiVersion",
        "Storage:InfluxDb:Username", "Storage:InfluxDb:Password", "Storage:InfluxDb:RequestTimeout",
        "Ingestion:MaxAge", "Ingestion:SessionExpiry", "Ingestion:BatchSize", "Ingestion:BatchAge", "Ingestion:ReceiveMaximum", "Ingestion:MaxPacketSize",
        "Bus:Transport", "Bus:RabbitMq:Host", "Bus:RabbitMq:Port", "Bus:RabbitMq:Username", "Bus:RabbitMq:Password", "Bus:RabbitMq:VirtualHost", "Bus:PublishTimeout", "Bus:PublishInterval",
        "Api:Keys:*:Role", "Api:Keys:*:Sha256", "Api:ReconcileInterval", "Api:Map:TileUrl", "Api:Map:TileDatum", "Api:Map:TileAttribution", "Api:Map:MaxZoom", "Api:Map:TileSubdomains",
        "Alerts:FillHysteresisPct", "Alerts:OverflowPct", "Alerts:OverflowClearPct", "Alerts:PredictedFullWithin", "Alerts:PredictedFullClearBeyond",
        "Alerts:FireTempC", "Alerts:FireRiseTempC", "Alerts:FireRiseC", "Alerts:FireRiseWindow", "Alerts:FireClearTempC", "Alerts:DoorOpenFor",
        "Alerts:LowBatteryPct", "Alerts:LowBatteryWarningPct", "Alerts:LowBatteryClearPct", "Alerts:OfflineIntervals", "Alerts:DefaultReportingInterval",
        "Alerts:StuckWindow", "Alerts:StuckBandPct", "Alerts:StuckDepositKg", "Alerts:StuckClearPct", "Alerts:RefireAfter", "Alerts:EscalateAfter",
        "Alerts:Webhooks:*", "Alerts:WebhookAttempts",
        "Fleet:Registry",
        "Scheduling:ThresholdPct", "Scheduling:HistoryDays", "Scheduling:TickInterval", "Scheduling:LeaseTimeout", "Scheduling:LockPath", "Scheduling:MaxDwell:*", "Scheduling:CollectAhead:*", "Scheduling:PredictedFromPct",
        "Routing:LeadTime", "Routing:SolverTime", "Routing:WaitOverflowHours", "Routing:TickInterval", "Routing:LeaseTimeout", "Routing:Streams",
        "Routing:Travel:Provider", "Routing:Travel:RoadFactor", "Routing:Travel:SpeedKmh",
        "Routing:Travel:Osrm:Url", "Routing:Travel:Osrm:Profile", "Routing:Travel:Osrm:Timeout", "Routing:Travel:Osrm:MaxTableSize",
        "Routing:Planner:StopTime", "Routing:Planner:CompartmentTime", "Routing:Planner:UnloadTime",
        "Routing:Planner:DropPenalty", "Routing:Planner:UrgentDropPenalty", "Routing:Planner:LatePenaltyPerMinute", "Routing:Planner:SolutionLimit",
        "Health:Url",
        "Host:ProgressInterval", "Host:ProgressFormat", "Host:ShutdownTimeout",
    ];

    /// <summary>Throws <see cref="ConfigurationException"/> for the first unknown key of an owned section.</summary>
    public static void CheckKnownKeys(IConfiguration config)
    {
        ArgumentNullException.ThrowIfNull(config);
        foreach (var section in OwnedSections)
        {
            foreach (var (key, value) in config.GetSection(section).AsEnumerable())
            {
                if (value is null || string.Equals(key, section, StringComparison.OrdinalIgnoreCase))
                {
                    continue; // a section, or a variable named like one (HOST=… in some shells): not a key of it
                }
                if (!Keys.Any(k => Matches(k, key)))
                {
                    throw new ConfigurationException(key, $"unknown key in the {section} section{Suggest(key)} (docs/configuration.md lists every key)");
                }
            }
        }
    }

    private static bool Matches(string pattern, string key)
    {
        var p = pattern.Split(':');
        var k = key.Split(':');
        if (p.Length != k.Length)
        {
            return false;
        }
        for (var i = 0; i < p.Length; i++)
        {
            if (p[i] != "*" && !string.Equals(p[i], k[i], StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }
        return true;
    }

    private static string Suggest(string key)
    {
        var best = Keys.Where(k => !k.Contains('*', StringComparison.Ordinal))
            .Select(k => (k, d: Distance(k.ToLowerInvariant(), key.ToLowerInvariant())))
            .OrderBy(x => x.d).First();
        return best.d <= 3 ? $"; did you mean {best.k}?" : "";
    }

    internal static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var prev = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var next = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), prev + (a[i - 1] == b[j - 1] ? 0 : 1));
                prev = next;
            }
        }
        return row[b.Length];
    }
}
