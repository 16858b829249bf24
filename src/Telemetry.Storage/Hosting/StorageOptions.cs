using Microsoft.Extensions.Options;
using Telemetry.Storage.InfluxDb;

namespace Telemetry.Storage.Hosting;

/// <summary>The <c>Storage</c> section (CONTRACT §4): which backend, and how to reach it.</summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary><c>sqlite</c> or <c>influxdb</c>.</summary>
    public string Backend { get; set; } = "sqlite";

    public SqliteSection Sqlite { get; set; } = new();

    public InfluxDbSection InfluxDb { get; set; } = new();

    public sealed class SqliteSection
    {
        public string Path { get; set; } = "data/telemetry.db";
    }

    public sealed class InfluxDbSection
    {
        public string? Url { get; set; }
        public string? Token { get; set; }
        public string? Org { get; set; }
        public string Bucket { get; set; } = "telemetry";
        public string ApiVersion { get; set; } = "2";
        public string? Username { get; set; }
        public string? Password { get; set; }

        /// <summary>How long one request may go unanswered before the store counts as unavailable (a store that hangs).</summary>
        public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);
    }

    public bool IsInfluxDb => string.Equals(Backend, "influxdb", StringComparison.OrdinalIgnoreCase);

    /// <summary>The InfluxDB store's options; call only after validation.</summary>
    public InfluxDbStoreOptions ToInfluxDbOptions() => new()
    {
        Url = new Uri(InfluxDb.Url!, UriKind.Absolute),
        Token = InfluxDb.Token,
        Org = InfluxDb.Org,
        Bucket = InfluxDb.Bucket,
        ApiVersion = InfluxDb.ApiVersion == "1" ? 1 : 2,
        Username = InfluxDb.Username,
        Password = InfluxDb.Password,
        CreateDatabase = InfluxDb.ApiVersion == "1",
        RequestTimeout = InfluxDb.RequestTimeout,
    };
}

/// <summary>Checks the selected backend's settings only (CONTRACT §4); each failure names its key.</summary>
public sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        switch (options.Backend?.ToLowerInvariant())
        {
            case "sqlite":
                if (string.IsNullOrWhiteSpace(options.Sqlite.Path))
                {
                    failures.Add("Storage:Sqlite:Path: a file path is required with Storage:Backend=sqlite");
                }
                break;
            case "influxdb":
                var db = options.InfluxDb;
                if (string.IsNullOrWhiteSpace(db.Url) || !Uri.TryCreate(db.Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                {
                    failures.Add($"Storage:InfluxDb:Url: an http(s) URL is required with Storage:Backend=influxdb (got '{db.Url}')");
                }
                if (db.ApiVersion is not ("1" or "2"))
                {
                    failures.Add($"Storage:InfluxDb:ApiVersion: must be 2 (InfluxDB 2.x/3.x) or 1 (1.x), not '{db.ApiVersion}'");
                }
                if (db.ApiVersion == "2" && string.IsNullOrWhiteSpace(db.Token))
                {
                    failures.Add("Storage:InfluxDb:Token: required with Storage:InfluxDb:ApiVersion=2");
                }
                if (db.ApiVersion == "2" && string.IsNullOrWhiteSpace(db.Org))
                {
                    failures.Add("Storage:InfluxDb:Org: required with Storage:InfluxDb:ApiVersion=2");
                }
                if (db.RequestTimeout <= TimeSpan.Zero || db.RequestTimeout > TimeSpan.FromMinutes(5))
                {
                    failures.Add($"Storage:InfluxDb:RequestTimeout: '{db.RequestTimeout}' must be a TimeSpan above zero and at most 00:05:00");
                }
                if (string.IsNullOrWhiteSpace(db.Bucket))
                {
                    failures.Add("Storage:InfluxDb:Bucket: must not be empty");
                }
                break;
            default:
                failures.Add($"Storage:Backend: must be sqlite or influxdb, not '{options.Backend}'");
                break;
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
