using System.Net.Http.Headers;
using Telemetry.Contracts.Readings;
using Telemetry.Storage;
using Telemetry.Storage.InfluxDb;

namespace Telemetry.IntegrationTests.Storage;

/// <summary>
/// The shared store contract against the real influxd 1.6.7 (API version 1: writes rewritten to
/// <c>/write</c>), each instance in a fresh database that is dropped afterwards.
/// </summary>
public sealed class InfluxDbStoreTests : StoreContractTests
{
    private readonly string _database = "t_" + Guid.NewGuid().ToString("N");

    private InfluxDbStoreOptions Options => new()
    {
        Url = TestServices.InfluxUrl,
        Bucket = _database,
        ApiVersion = 1,
        CreateDatabase = true,
    };

    protected override Task<ITelemetryStore> CreateStoreAsync() => Task.FromResult<ITelemetryStore>(new InfluxDbStore(Options));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        using var http = new HttpClient { BaseAddress = TestServices.InfluxUrl };
        using var content = new FormUrlEncodedContent([new("q", $"DROP DATABASE \"{_database}\"")]);
        using var response = await http.PostAsync(new Uri("/query", UriKind.Relative), content);
        response.EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task Analysts_see_the_contract_schema_in_influxql()
    {
        await Store.WriteAsync([
            Fill("JY-012", "paper", T0, 87),
            Weight("JY-012", "paper", T0, 4, null),
            new StatusReading("JY-012", "c01", T0, 3, true, true, 87, null, null, null),
        ], [new DeadLetter(T0, "unknown-bin", "unknown", "ingest-a", "bins/x/fill", "{}", "nope")], CancellationToken.None);

        var fields = await QueryAsync("SHOW FIELD KEYS");
        foreach (var expected in new[]
        {
            "fill pct float", "fill seq integer",
            "weight net_kg float", "weight seq integer",
            "status online boolean", "status battery_pct float", "status seq integer",
            "dead_letter topic string", "dead_letter payload string", "dead_letter error string",
        })
        {
            var (measurement, rest) = (expected[..expected.IndexOf(' ', StringComparison.Ordinal)], expected[(expected.IndexOf(' ', StringComparison.Ordinal) + 1)..]);
            var (name, type) = (rest.Split(' ')[0], rest.Split(' ')[1]);
            Assert.Contains($"\"name\":\"{measurement}\"", fields, StringComparison.Ordinal);
            Assert.Contains($"[\"{name}\",\"{type}\"]", fields, StringComparison.Ordinal);
        }
        var tags = await QueryAsync("SHOW TAG KEYS");
        foreach (var tag in new[] { "bin", "community", "compartment", "stream", "reason", "ingester" })
        {
            Assert.Contains($"[\"{tag}\"]", tags, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Initialising_twice_keeps_the_data()
    {
        await Store.WriteAsync([Fill("JY-013", "paper", T0, 12)], [], CancellationToken.None);
        await using var again = new InfluxDbStore(Options);
        await again.InitializeAsync(CancellationToken.None);
        Assert.Equal(12.0, Assert.Single(await again.GetLatestAsync(CancellationToken.None)).FillPct);
    }

    [Fact]
    public async Task A_dead_letter_sharing_tags_and_time_with_another_is_moved_one_microsecond()
    {
        var t = T0.AddMinutes(2);
        var letter = new DeadLetter(t, "too-large", "JY-014", "ingest-a", "bins/JY-014/fill", "a", "too large");
        await Store.WriteAsync([], [letter, letter with { Payload = "b" }], CancellationToken.None);
        await Store.WriteAsync([], [letter with { Payload = "c" }], CancellationToken.None);
        var letters = await Store.GetDeadLettersAsync(t, t.AddSeconds(1), 10, CancellationToken.None);
        Assert.Equal(["c", "b", "a"], letters.Select(l => l.Payload));
        Assert.Equal([t.AddTicks(20), t.AddTicks(10), t], letters.Select(l => l.ReceivedAt));
    }

    [Fact]
    public async Task A_write_to_a_missing_database_is_retryable()
    {
        await using var store = new InfluxDbStore(Options with { Bucket = "t_missing_" + Guid.NewGuid().ToString("N"), CreateDatabase = false });
        await store.InitializeAsync(CancellationToken.None);
        var ex = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.WriteAsync([Fill("JY-015", "paper", T0, 1)], [], CancellationToken.None));
        Assert.Contains("database not found", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_field_type_conflict_is_rejected()
    {
        using var http = new HttpClient { BaseAddress = TestServices.InfluxUrl };
        using var body = new StringContent($"fill,bin=JY-016,community=c01,compartment=paper,stream=recyclable pct=\"high\",seq=1i {T0.AddHours(1).ToUnixTimeMilliseconds()}");
        using var response = await http.PostAsync(new Uri($"/write?db={_database}&precision=ms", UriKind.Relative), body);
        response.EnsureSuccessStatusCode();
        var ex = await Assert.ThrowsAsync<StoreRejectedException>(() => Store.WriteAsync([Fill("JY-016", "paper", T0, 1)], [], CancellationToken.None));
        Assert.Contains("field type conflict", ex.Message, StringComparison.Ordinal);
    }

    private async Task<string> QueryAsync(string q)
    {
        using var http = new HttpClient { BaseAddress = TestServices.InfluxUrl };
        http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return await http.GetStringAsync(new Uri($"/query?db={_database}&q={Uri.EscapeDataString(q)}", UriKind.Relative));
    }
}
