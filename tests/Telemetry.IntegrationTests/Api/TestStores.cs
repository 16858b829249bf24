using Telemetry.Storage;
using Telemetry.Storage.InfluxDb;
using Telemetry.Storage.Sqlite;

namespace Telemetry.IntegrationTests.Api;

/// <summary>A store of its own for one test class, the settings that point an api process at it, and its removal afterwards.</summary>
internal abstract class TestStore
{
    public abstract ITelemetryStore Create();

    public abstract IReadOnlyDictionary<string, string> Settings { get; }

    /// <summary>Removes the store (its file or database); the test class calls it when it is done.</summary>
    public abstract Task RemoveAsync();
}

/// <summary>A SQLite file in a temporary folder of its own.</summary>
internal sealed class SqliteTestStore(string folderPrefix) : TestStore
{
    private readonly string _dir = Directory.CreateTempSubdirectory(folderPrefix).FullName;

    private string DbPath => Path.Combine(_dir, "telemetry.db");

    public override ITelemetryStore Create() => new SqliteStore(DbPath);

    public override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Storage:Backend"] = "sqlite",
        ["Storage:Sqlite:Path"] = DbPath,
    };

    public override Task RemoveAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary>A database of its own on the test InfluxDB (1.x API), dropped afterwards.</summary>
internal sealed class InfluxDbTestStore(string databasePrefix) : TestStore
{
    private readonly string _database = databasePrefix + Guid.NewGuid().ToString("N");

    public override ITelemetryStore Create() => new InfluxDbStore(new InfluxDbStoreOptions
    {
        Url = TestServices.InfluxUrl,
        Bucket = _database,
        ApiVersion = 1,
        CreateDatabase = true,
    });

    public override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Storage:Backend"] = "influxdb",
        ["Storage:InfluxDb:Url"] = TestServices.InfluxUrl.ToString(),
        ["Storage:InfluxDb:ApiVersion"] = "1",
        ["Storage:InfluxDb:Bucket"] = _database,
    };

    public override async Task RemoveAsync()
    {
        using var http = new HttpClient { BaseAddress = TestServices.InfluxUrl };
        using var content = new FormUrlEncodedContent([new("q", $"DROP DATABASE \"{_database}\"")]);
        using var response = await http.PostAsync(new Uri("/query", UriKind.Relative), content);
        response.EnsureSuccessStatusCode();
    }
}
