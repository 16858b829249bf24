namespace Telemetry.Storage.InfluxDb;

/// <summary>
/// How <see cref="InfluxDbStore"/> reaches InfluxDB (CONTRACT §4, keys <c>Storage:InfluxDb:*</c>).
/// </summary>
public sealed record InfluxDbStoreOptions
{
    /// <summary>Base URL of the server, e.g. <c>http://127.0.0.1:8086</c> (<c>Storage:InfluxDb:Url</c>).</summary>
    public required Uri Url { get; init; }

    /// <summary>API token; required for <see cref="ApiVersion"/> 2, unused for 1.</summary>
    public string? Token { get; init; }

    /// <summary>Organisation; required for <see cref="ApiVersion"/> 2, unused for 1.</summary>
    public string? Org { get; init; }

    /// <summary>Bucket (2.x/3.x) or database (1.x).</summary>
    public string Bucket { get; init; } = "telemetry";

    /// <summary>2: writes to <c>/api/v2/write</c> (InfluxDB 1.8+, 2.x, 3.x); 1: writes to <c>/write</c> (InfluxDB 1.x).</summary>
    public int ApiVersion { get; init; } = 2;

    /// <summary>For API version 1 servers with authentication enabled only (sent as the <c>u</c>/<c>p</c> query parameters).</summary>
    public string? Username { get; init; }

    /// <summary>For API version 1 servers with authentication enabled only.</summary>
    public string? Password { get; init; }

    /// <summary>API version 1 only: <c>CREATE DATABASE</c> at initialisation (idempotent in 1.x). In version 2 the bucket must exist.</summary>
    public bool CreateDatabase { get; init; }

    /// <summary>Time allowed for one query (reads can scan long ranges), and the HTTP clients' overall limit.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Time allowed for one write request (at most 5,000 lines) and for each request of
    /// <see cref="InfluxDbStore.InitializeAsync"/> (ping, credentials, database): a store that accepts the
    /// connection and never answers is reported as unavailable after this long, not after <see cref="Timeout"/>.
    /// </summary>
    /// <remarks>
    /// 10 s by default. Writes of 5,000 lines took 20–150 ms into influxd 1.6.7 on the test machines, so
    /// 10 s is far above a legitimate write even on a busy server; a write that times out is retried as
    /// it is (points overwrite themselves, dead letters keep their times), so a slow moment costs a retry,
    /// not data. Raise it for a server that is known to be slower (a remote one over a slow link).
    /// </remarks>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
