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
}
