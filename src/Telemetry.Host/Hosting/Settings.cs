using System.Globalization;
using Microsoft.Extensions.Configuration;
using Telemetry.Contracts.Configuration;
using Telemetry.Fleet;
using Telemetry.Ingestion;
using Telemetry.Ingestion.Decoding;
using Telemetry.Storage;
using Telemetry.Storage.InfluxDb;
using Telemetry.Storage.Sqlite;

namespace Telemetry.Host.Hosting;

/// <summary>Reads and checks the public settings of CONTRACT §4 that the commands share.</summary>
internal static class Settings
{
    public const string FleetRegistryKey = "Fleet:Registry";
    public const string MqttServerKey = "Mqtt:Server";

    /// <summary>The registry named by <c>Fleet:Registry</c> (the shipped Jiyang one by default).</summary>
    public static FleetRegistry LoadRegistry(IConfiguration config)
    {
        var path = config[FleetRegistryKey];
        try
        {
            return FleetRegistryLoader.Load(path);
        }
        catch (RegistryException ex)
        {
            throw new ConfigurationException(FleetRegistryKey, ex.Message);
        }
    }

    public static MqttEndpoint MqttServer(IConfiguration config) =>
        MqttEndpoint.TryParse(config[MqttServerKey], out var endpoint, out var error)
            ? endpoint
            : throw new ConfigurationException(MqttServerKey, error);

    /// <summary>The store selected by <c>Storage:Backend</c>; only the selected backend's keys are checked.</summary>
    public static ITelemetryStore CreateStore(IConfiguration config)
    {
        var backend = config["Storage:Backend"] ?? "sqlite";
        switch (backend.ToLowerInvariant())
        {
            case "sqlite":
                var path = config["Storage:Sqlite:Path"];
                return new SqliteStore(string.IsNullOrWhiteSpace(path) ? "data/telemetry.db" : path);
            case "influxdb":
                var url = config["Storage:InfluxDb:Url"];
                if (string.IsNullOrWhiteSpace(url) || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                {
                    throw new ConfigurationException("Storage:InfluxDb:Url", $"an http(s) URL is required with Storage:Backend=influxdb (got '{url}')");
                }
                var apiVersion = config["Storage:InfluxDb:ApiVersion"] ?? "2";
                if (apiVersion is not ("1" or "2"))
                {
                    throw new ConfigurationException("Storage:InfluxDb:ApiVersion", $"must be 2 (InfluxDB 2.x/3.x) or 1 (1.x), not '{apiVersion}'");
                }
                var token = config["Storage:InfluxDb:Token"];
                var org = config["Storage:InfluxDb:Org"];
                if (apiVersion == "2" && string.IsNullOrWhiteSpace(token))
                {
                    throw new ConfigurationException("Storage:InfluxDb:Token", "required with Storage:InfluxDb:ApiVersion=2");
                }
                if (apiVersion == "2" && string.IsNullOrWhiteSpace(org))
                {
                    throw new ConfigurationException("Storage:InfluxDb:Org", "required with Storage:InfluxDb:ApiVersion=2");
                }
                var bucket = config["Storage:InfluxDb:Bucket"];
                return new InfluxDbStore(new InfluxDbStoreOptions
                {
                    Url = uri,
                    Token = token,
                    Org = org,
                    Bucket = string.IsNullOrWhiteSpace(bucket) ? "telemetry" : bucket,
                    ApiVersion = apiVersion == "1" ? 1 : 2,
                    Username = config["Storage:InfluxDb:Username"],
                    Password = config["Storage:InfluxDb:Password"],
                    CreateDatabase = apiVersion == "1",
                });
            default:
                throw new ConfigurationException("Storage:Backend", $"must be sqlite or influxdb, not '{backend}'");
        }
    }

    public static DecoderSettings Decoder(IConfiguration config) => new()
    {
        MaxAge = PositiveTimeSpan(config, "Ingestion:MaxAge", TimeSpan.FromDays(7)),
    };

    public static IngestionSettings Ingestion(IConfiguration config, MqttEndpoint? brokerOverride = null)
    {
        var clientId = config["Mqtt:ClientId"];
        var group = config["Mqtt:SharedGroup"];
        if (group is not null && group.IndexOfAny(['/', '+', '#', ' ']) >= 0)
        {
            throw new ConfigurationException("Mqtt:SharedGroup", $"'{group}' must contain no '/', '+', '#' or spaces (empty: a plain subscription, for a single replica)");
        }
        if (clientId is not null && (clientId.Length == 0 || clientId.Length > 128))
        {
            throw new ConfigurationException("Mqtt:ClientId", "must be 1 to 128 characters");
        }
        var settings = new IngestionSettings
        {
            Broker = brokerOverride ?? MqttServer(config),
            Username = config["Mqtt:Username"],
            Password = config["Mqtt:Password"],
            SharedGroup = group ?? "ingest",
            ClientId = clientId ?? IngestionSettings.DefaultClientId(),
            SessionExpiry = PositiveTimeSpan(config, "Ingestion:SessionExpiry", TimeSpan.FromDays(7)),
            BatchSize = PositiveInt(config, "Ingestion:BatchSize", 5000, 100_000),
            BatchAge = PositiveTimeSpan(config, "Ingestion:BatchAge", TimeSpan.FromMilliseconds(10)),
            ReceiveMaximum = PositiveInt(config, "Ingestion:ReceiveMaximum", 20000, ushort.MaxValue),
        };
        return settings;
    }

    /// <summary>How often <c>run</c> prints its progress line (<c>Host:ProgressInterval</c>, 10 s).</summary>
    public static TimeSpan ProgressInterval(IConfiguration config) => PositiveTimeSpan(config, "Host:ProgressInterval", TimeSpan.FromSeconds(10));

    private static TimeSpan PositiveTimeSpan(IConfiguration config, string key, TimeSpan fallback)
    {
        var text = config[key];
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }
        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var value) && value > TimeSpan.Zero
            ? value
            : throw new ConfigurationException(key, $"'{text}' is not a positive TimeSpan such as 7.00:00:00 or 00:00:00.050");
    }

    private static int PositiveInt(IConfiguration config, string key, int fallback, int max)
    {
        var text = config[key];
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= 1 && value <= max
            ? value
            : throw new ConfigurationException(key, $"'{text}' is not a whole number from 1 to {max}");
    }
}
