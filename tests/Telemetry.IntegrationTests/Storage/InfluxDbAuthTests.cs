using System.Text.Json;
using Telemetry.Contracts.Configuration;
using Telemetry.Storage;
using Telemetry.Storage.InfluxDb;

namespace Telemetry.IntegrationTests.Storage;

/// <summary>
/// Credentials checked at start against the real influxd 1.6.7 with authentication on (API version 1):
/// wrong ones stop the start naming the key; a user without admin rights works on a database that exists.
/// Each test has its own database, created and dropped by the admin.
/// </summary>
public sealed class InfluxDbAuthTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 20, 0, 0, 0, TimeSpan.Zero);
    private readonly string _database = "t_auth_" + Guid.NewGuid().ToString("N");

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => AdminAsync($"DROP DATABASE \"{_database}\"");

    private InfluxDbStoreOptions Options(string? user, string? password, bool create = true) => new()
    {
        Url = TestServices.InfluxAuthUrl,
        ApiVersion = 1,
        Bucket = _database,
        Username = user,
        Password = password,
        CreateDatabase = create,
    };

    private static (string User, string Password) Writer => TestServices.InfluxAuthUser;

    [Fact]
    public async Task A_wrong_password_stops_the_start_naming_the_key_and_the_user()
    {
        await using var store = new InfluxDbStore(Options(Writer.User, "not-the-password"));
        var ex = await Assert.ThrowsAsync<ConfigurationException>(() => store.InitializeAsync(CancellationToken.None));
        Assert.Equal("Storage:InfluxDb:Password", ex.Key);
        Assert.StartsWith("Configuration error: Storage:InfluxDb:Password: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"refused user '{Writer.User}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("authorization failed", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-password", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_user_stops_the_start_naming_the_credentials()
    {
        await using var store = new InfluxDbStore(Options("nobody-" + Guid.NewGuid().ToString("N")[..6], "x"));
        var ex = await Assert.ThrowsAsync<ConfigurationException>(() => store.InitializeAsync(CancellationToken.None));
        Assert.Equal("Storage:InfluxDb:Password", ex.Key);
        Assert.Contains("check Storage:InfluxDb:Username and Storage:InfluxDb:Password", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_credentials_for_a_server_that_asks_for_them_stop_the_start_naming_the_username()
    {
        await using var store = new InfluxDbStore(Options(null, null));
        var ex = await Assert.ThrowsAsync<ConfigurationException>(() => store.InitializeAsync(CancellationToken.None));
        Assert.Equal("Storage:InfluxDb:Username", ex.Key);
        Assert.Contains("requires authentication", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_user_without_admin_rights_works_on_a_database_that_exists()
    {
        await AdminAsync($"CREATE DATABASE \"{_database}\"");
        await AdminAsync($"GRANT ALL ON \"{_database}\" TO \"{Writer.User}\"");
        // CreateDatabase on, as the host sets it for API version 1: CREATE DATABASE would be refused (admin only).
        await using var store = new InfluxDbStore(Options(Writer.User, Writer.Password));
        await store.InitializeAsync(CancellationToken.None);
        await store.WriteAsync([new Telemetry.Contracts.Readings.FillReading("JY-001", "c01", "paper", "recyclable", T0, 1, 42)], [], CancellationToken.None);
        Assert.Equal(42.0, Assert.Single(await store.GetLatestAsync(CancellationToken.None)).FillPct);
    }

    [Fact]
    public async Task A_user_without_admin_rights_and_no_database_stops_the_start_saying_what_to_do()
    {
        await using var store = new InfluxDbStore(Options(Writer.User, Writer.Password));
        var ex = await Assert.ThrowsAsync<ConfigurationException>(() => store.InitializeAsync(CancellationToken.None));
        Assert.Equal("Storage:InfluxDb:Username", ex.Key);
        Assert.Contains($"user '{Writer.User}' may not create database '{_database}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("requires admin privilege", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_user_who_may_read_but_not_write_stops_the_start()
    {
        await AdminAsync($"CREATE DATABASE \"{_database}\"");
        await AdminAsync($"GRANT READ ON \"{_database}\" TO \"{Writer.User}\"");
        await using var store = new InfluxDbStore(Options(Writer.User, Writer.Password));
        var ex = await Assert.ThrowsAsync<ConfigurationException>(() => store.InitializeAsync(CancellationToken.None));
        Assert.Equal("Storage:InfluxDb:Username", ex.Key);
        Assert.Contains($"may not write to database '{_database}'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_admin_creates_a_missing_database()
    {
        await using var store = new InfluxDbStore(Options(TestServices.InfluxAuthAdmin.User, TestServices.InfluxAuthAdmin.Password));
        await store.InitializeAsync(CancellationToken.None);
        using var doc = JsonDocument.Parse(await AdminAsync("SHOW DATABASES"));
        Assert.Contains(_database, doc.RootElement.GetRawText(), StringComparison.Ordinal);
    }

    /// <summary>One statement as the admin (credentials in the URL, which is where influxd 1.6 reads them).</summary>
    private static async Task<string> AdminAsync(string statement)
    {
        var (user, password) = TestServices.InfluxAuthAdmin;
        using var http = new HttpClient { BaseAddress = TestServices.InfluxAuthUrl };
        using var content = new FormUrlEncodedContent([new("q", statement)]);
        using var response = await http.PostAsync(new Uri($"/query?u={Uri.EscapeDataString(user)}&p={Uri.EscapeDataString(password)}", UriKind.Relative), content);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode && !body.Contains("\"error\"", StringComparison.Ordinal), $"{statement}: {body}");
        return body;
    }
}

/// <summary>The shared store contract on the authenticated influxd, as a user without admin rights (every request carries the credentials).</summary>
public sealed class InfluxDbAuthStoreTests : StoreContractTests
{
    private readonly string _database = "t_auth_" + Guid.NewGuid().ToString("N");

    protected override async Task<ITelemetryStore> CreateStoreAsync()
    {
        var (admin, adminPassword) = TestServices.InfluxAuthAdmin;
        var (user, password) = TestServices.InfluxAuthUser;
        await AdminAsync($"CREATE DATABASE \"{_database}\"", admin, adminPassword);
        await AdminAsync($"GRANT ALL ON \"{_database}\" TO \"{user}\"", admin, adminPassword);
        return new InfluxDbStore(new InfluxDbStoreOptions
        {
            Url = TestServices.InfluxAuthUrl, ApiVersion = 1, Bucket = _database, Username = user, Password = password, CreateDatabase = true,
        });
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        var (admin, adminPassword) = TestServices.InfluxAuthAdmin;
        await AdminAsync($"DROP DATABASE \"{_database}\"", admin, adminPassword);
    }

    private static async Task AdminAsync(string statement, string user, string password)
    {
        using var http = new HttpClient { BaseAddress = TestServices.InfluxAuthUrl };
        using var content = new FormUrlEncodedContent([new("q", statement)]);
        using var response = await http.PostAsync(new Uri($"/query?u={Uri.EscapeDataString(user)}&p={Uri.EscapeDataString(password)}", UriKind.Relative), content);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode && !body.Contains("\"error\"", StringComparison.Ordinal), $"{statement}: {body}");
    }
}
