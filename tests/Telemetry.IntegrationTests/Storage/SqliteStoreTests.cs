using Microsoft.Data.Sqlite;
using Telemetry.Contracts.Configuration;
using Telemetry.Contracts.Readings;
using Telemetry.Storage;
using Telemetry.Storage.Sqlite;

namespace Telemetry.IntegrationTests.Storage;

public sealed class SqliteStoreTests : StoreContractTests
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "telemetry-sqlite-" + Guid.NewGuid().ToString("N"));

    protected override Task<ITelemetryStore> CreateStoreAsync() =>
        Task.FromResult<ITelemetryStore>(new SqliteStore(Path.Combine(_dir, "nested", "telemetry.db")));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Data_survives_reopening_the_file()
    {
        await Store.WriteAsync([Fill("JY-011", "paper", T0, 42)], [], CancellationToken.None);
        await Store.DisposeAsync();
        await using var again = new SqliteStore(Path.Combine(_dir, "nested", "telemetry.db"));
        await again.InitializeAsync(CancellationToken.None);
        Assert.Equal(42.0, Assert.Single(await again.GetLatestAsync(CancellationToken.None)).FillPct);
        await again.DisposeAsync();
        await InitializeAsync();
    }

    [Fact]
    public async Task A_file_of_the_first_schema_gets_the_event_tables_at_start_and_keeps_its_readings()
    {
        var path = Path.Combine(_dir, "nested", "telemetry.db");
        await Store.WriteAsync([Fill("JY-012", "paper", T0, 42)], [], CancellationToken.None);
        await Store.DisposeAsync();
        await using (var old = new SqliteConnection($"Data Source={path}"))
        {
            await old.OpenAsync();
            await using var drop = old.CreateCommand();
            drop.CommandText = "DROP TABLE collection; DROP TABLE device_event; PRAGMA user_version = 1;";
            await drop.ExecuteNonQueryAsync();
        }
        SqliteConnection.ClearAllPools();
        await InitializeAsync();
        await Store.WriteEventsAsync([new CollectionEvent("JY-012", "c01", "paper", "recyclable", T0, 30, 90, 2)], [new DeviceEvent("JY-012", "c01", T0, "online", 7, "")], CancellationToken.None);
        Assert.Single(await Store.GetCollectionsAsync("JY-012", T0, T0.AddSeconds(1), CancellationToken.None));
        Assert.Single(await Store.GetDeviceEventsAsync("JY-012", T0, T0.AddSeconds(1), CancellationToken.None));
        Assert.Equal([Fill("JY-012", "paper", T0, 42)], await Store.GetReadingsAsync(null, T0, T0.AddSeconds(1), CancellationToken.None));
    }

    [Fact]
    public async Task A_file_of_the_second_schema_gets_the_alert_event_table_at_start_and_keeps_its_data()
    {
        var path = Path.Combine(_dir, "nested", "telemetry.db");
        await Store.WriteAsync([Fill("JY-012", "paper", T0, 42)], [], CancellationToken.None);
        await Store.WriteEventsAsync([new CollectionEvent("JY-012", "c01", "paper", "recyclable", T0, 30, 90, 2)], [], CancellationToken.None);
        await Store.DisposeAsync();
        await using (var old = new SqliteConnection($"Data Source={path}"))
        {
            await old.OpenAsync();
            await using var drop = old.CreateCommand();
            drop.CommandText = "DROP TABLE alert_event; DROP TABLE job_event; PRAGMA user_version = 2;";
            await drop.ExecuteNonQueryAsync();
        }
        SqliteConnection.ClearAllPools();
        await InitializeAsync();
        var alert = new StoredAlertEvent("raised", T0, "JY-012:paper:fill:1", "JY-012", "c01", "paper", "fill", "warning", T0, null, null, null);
        await Store.WriteAlertEventsAsync([alert], CancellationToken.None);
        Assert.Equal([alert], await Store.GetAlertEventsAsync(T0, T0.AddSeconds(1), 10, CancellationToken.None));
        Assert.Equal([Fill("JY-012", "paper", T0, 42)], await Store.GetReadingsAsync(null, T0, T0.AddSeconds(1), CancellationToken.None));
        Assert.Single(await Store.GetCollectionsAsync("JY-012", T0, T0.AddSeconds(1), CancellationToken.None));
        await using var check = new SqliteConnection($"Data Source={path}");
        await check.OpenAsync();
        await using var version = check.CreateCommand();
        version.CommandText = "PRAGMA user_version";
        Assert.Equal(5L, await version.ExecuteScalarAsync());
    }

    [Fact]
    public async Task A_file_of_the_third_schema_gets_the_job_event_table_at_start_and_keeps_its_data()
    {
        var path = Path.Combine(_dir, "nested", "telemetry.db");
        var alert = new StoredAlertEvent("raised", T0, "JY-012:paper:fill:1", "JY-012", "c01", "paper", "fill", "warning", T0, null, null, null);
        await Store.WriteAsync([Fill("JY-012", "paper", T0, 42)], [], CancellationToken.None);
        await Store.WriteAlertEventsAsync([alert], CancellationToken.None);
        await Store.DisposeAsync();
        await using (var old = new SqliteConnection($"Data Source={path}"))
        {
            await old.OpenAsync();
            await using var drop = old.CreateCommand();
            drop.CommandText = "DROP TABLE job_event; PRAGMA user_version = 3;";
            await drop.ExecuteNonQueryAsync();
        }
        SqliteConnection.ClearAllPools();
        await InitializeAsync();
        var job = new StoredJobEvent("requested", T0, "job-1", "JY-012", "c01", ["paper", "glass"], "recyclable", "threshold", "normal", null, T0.AddHours(4),
            "requested", null, T0, "scheduler", null, null, null, "scheduler");
        await Store.WriteJobEventsAsync([job], CancellationToken.None);
        var stored = Assert.Single(await Store.GetJobEventsAsync(T0, T0.AddSeconds(1), 10, CancellationToken.None));
        Assert.Equal(job with { Compartments = stored.Compartments }, stored);
        Assert.Equal(["paper", "glass"], stored.Compartments);
        Assert.Equal([alert], await Store.GetAlertEventsAsync(T0, T0.AddSeconds(1), 10, CancellationToken.None));
        Assert.Equal([Fill("JY-012", "paper", T0, 42)], await Store.GetReadingsAsync(null, T0, T0.AddSeconds(1), CancellationToken.None));
        await using var check = new SqliteConnection($"Data Source={path}");
        await check.OpenAsync();
        await using var version = check.CreateCommand();
        version.CommandText = "PRAGMA user_version";
        Assert.Equal(5L, await version.ExecuteScalarAsync());
        // Compartments as one comma-joined text.
        await using var text = check.CreateCommand();
        text.CommandText = "SELECT compartments FROM job_event";
        Assert.Equal("paper,glass", await text.ExecuteScalarAsync());
    }

    [Fact]
    public async Task A_file_of_the_fourth_schema_gets_the_position_and_route_plan_tables_at_start_and_keeps_its_data()
    {
        var path = Path.Combine(_dir, "nested", "telemetry.db");
        var job = new StoredJobEvent("requested", T0, "job-1", "JY-012", "c01", ["paper"], "recyclable", "threshold", "normal", null, T0.AddHours(4),
            "requested", null, T0, "scheduler", null, null, null, "scheduler");
        await Store.WriteAsync([Fill("JY-012", "paper", T0, 42)], [], CancellationToken.None);
        await Store.WriteJobEventsAsync([job], CancellationToken.None);
        await Store.DisposeAsync();
        await using (var old = new SqliteConnection($"Data Source={path}"))
        {
            await old.OpenAsync();
            await using var drop = old.CreateCommand();
            drop.CommandText = "DROP TABLE vehicle_position; DROP TABLE route_plan; PRAGMA user_version = 4;";
            await drop.ExecuteNonQueryAsync();
        }
        SqliteConnection.ClearAllPools();
        await InitializeAsync();
        var position = new VehiclePositionReading("REC-01", "recyclable", T0, 36.97, 117.18, 32.5);
        await Store.WriteAsync([position], [], CancellationToken.None);
        var plan = new StoredRoutePlan("recyclable-1", 1, "recyclable", T0, T0.AddHours(8), T0.AddHours(-1), "{}");
        await Store.WriteRoutePlanAsync(plan, CancellationToken.None);
        Assert.Equal([position], await Store.GetLatestVehiclePositionsAsync(CancellationToken.None));
        Assert.Equal([plan], await Store.GetRoutePlansAsync(T0, T0.AddHours(1), CancellationToken.None));
        Assert.Equal([Fill("JY-012", "paper", T0, 42)], await Store.GetReadingsAsync(null, T0, T0.AddSeconds(1), CancellationToken.None));
        Assert.Single(await Store.GetJobEventsAsync(T0, T0.AddSeconds(1), 10, CancellationToken.None));
        await using var check = new SqliteConnection($"Data Source={path}");
        await check.OpenAsync();
        await using var version = check.CreateCommand();
        version.CommandText = "PRAGMA user_version";
        Assert.Equal(5L, await version.ExecuteScalarAsync());
    }

    // Tests run as root, whom file permissions do not stop: each failure below is one that holds for root too.

    [Fact]
    public async Task A_file_that_cannot_be_written_stops_the_start_naming_the_key_and_the_path()
    {
        // An existing database that SQLite may only read (what a file the process may not write looks like).
        var path = Path.Combine(_dir, "nested", "telemetry.db");
        await using var readOnly = new SqliteStore(path, SqliteOpenMode.ReadOnly);
        var ex = await Assert.ThrowsAsync<ConfigurationException>(() => readOnly.InitializeAsync(CancellationToken.None));
        Assert.Equal("Storage:Sqlite:Path", ex.Key);
        Assert.StartsWith($"Configuration error: Storage:Sqlite:Path: '{path}' cannot be used: SQLITE_READONLY", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/proc/telemetry-test.db")] // /proc takes no new files, not even from root
    [InlineData("/proc/telemetry-test/nested/telemetry.db")] // nor folders
    public async Task A_path_where_no_file_can_be_created_stops_the_start_naming_the_key_and_the_path(string path)
    {
        await using var store = new SqliteStore(path);
        var ex = await Assert.ThrowsAsync<ConfigurationException>(() => store.InitializeAsync(CancellationToken.None));
        Assert.Equal("Storage:Sqlite:Path", ex.Key);
        Assert.Contains($"'{path}'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_file_that_is_not_a_database_stops_the_start_naming_the_key_and_the_path()
    {
        var path = Path.Combine(_dir, "not-a-database.db");
        await File.WriteAllTextAsync(path, string.Concat(Enumerable.Repeat("this is a text file, not SQLite. ", 200)));
        await using var store = new SqliteStore(path);
        var ex = await Assert.ThrowsAsync<ConfigurationException>(() => store.InitializeAsync(CancellationToken.None));
        Assert.Equal("Storage:Sqlite:Path", ex.Key);
        Assert.Contains($"'{path}' cannot be used: SQLITE_NOTADB, the file is not a database", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_database_overwritten_while_running_stops_the_writer_with_the_path_and_the_reason()
    {
        var path = Path.Combine(_dir, "corrupted.db");
        await using var store = new SqliteStore(path);
        await store.InitializeAsync(CancellationToken.None);
        await store.WriteAsync([Fill("JY-012", "paper", T0, 1)], [], CancellationToken.None);
        // Checkpoint the WAL into the file, then overwrite the file's every byte, as a failing disk or a stray program would.
        await using (var c = new SqliteConnection($"Data Source={path}"))
        {
            await c.OpenAsync();
            await using var cmd = c.CreateCommand();
            cmd.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
            await cmd.ExecuteNonQueryAsync();
        }
        var length = new FileInfo(path).Length;
        await using (var f = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            await f.WriteAsync(Enumerable.Repeat((byte)0x5A, (int)length).ToArray());
        }
        var ex = await Assert.ThrowsAsync<StoreFailedException>(() => store.WriteAsync([Fill("JY-012", "paper", T0.AddSeconds(1), 2)], [], CancellationToken.None));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Matches("SQLITE_(NOTADB|CORRUPT)", ex.Message);
    }
}
