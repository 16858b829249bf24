using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Logging;
using Telemetry.Contracts.Configuration;
using Telemetry.Contracts.Readings;
using Telemetry.Ingestion.Pipeline;
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
    public async Task Analysts_see_collections_and_device_events_with_the_contract_schema_in_influxql()
    {
        // Whole numbers, which must still be stored as floats (the first point of a field fixes its type).
        await Store.WriteEventsAsync(
            [new CollectionEvent("JY-012", "c01", "paper", "recyclable", T0, 12, 85, 0)],
            [new DeviceEvent("JY-012", "c01", T0, "reboot", 3, "seq 3 after 41"), new DeviceEvent("JY-012", "c01", T0, "offline", null, "no message for 900 s")],
            CancellationToken.None);

        Assert.Equal("[[\"fill_after_pct\",\"float\"],[\"fill_before_pct\",\"float\"],[\"kg_collected\",\"float\"]]",
            Values(await QueryAsync("SHOW FIELD KEYS FROM \"collection\"")));
        Assert.Equal("[[\"detail\",\"string\"],[\"seq\",\"integer\"]]", Values(await QueryAsync("SHOW FIELD KEYS FROM \"device_event\"")));
        Assert.Equal("[[\"bin\"],[\"community\"],[\"compartment\"],[\"stream\"]]", Values(await QueryAsync("SHOW TAG KEYS FROM \"collection\"")));
        Assert.Equal("[[\"bin\"],[\"community\"],[\"kind\"]]", Values(await QueryAsync("SHOW TAG KEYS FROM \"device_event\"")));
        // The kinds are tag values, one series each; the offline event has no seq.
        Assert.Equal("[[\"kind\",\"offline\"],[\"kind\",\"reboot\"]]", Values(await QueryAsync("SHOW TAG VALUES FROM \"device_event\" WITH KEY = \"kind\"")));
        Assert.Equal("[[1795132800000000000,\"no message for 900 s\",\"offline\",null],[1795132800000000000,\"seq 3 after 41\",\"reboot\",3]]",
            Values(await QueryAsync("SELECT \"detail\", \"kind\", \"seq\" FROM \"device_event\" WHERE \"bin\" = 'JY-012'", epoch: "ns")));

        static string Values(string answer)
        {
            using var json = System.Text.Json.JsonDocument.Parse(answer);
            var series = Assert.Single(json.RootElement.GetProperty("results")[0].GetProperty("series").EnumerateArray());
            return series.GetProperty("values").GetRawText();
        }
    }

    [Fact]
    public async Task Analysts_see_vehicle_positions_and_route_plans_with_floats_and_tags_in_influxql()
    {
        // Whole numbers, which must still be stored as floats (the first point of a field fixes its type).
        await Store.WriteAsync([new VehiclePositionReading("REC-01", "recyclable", T0, 37, 117, 0)], [], CancellationToken.None);
        await Store.WriteRoutePlanAsync(new StoredRoutePlan("recyclable-2026-11-20", 2, "recyclable", T0, T0.AddHours(8), T0.AddHours(-1), """{"a":"b"}"""),
            CancellationToken.None);

        Assert.Equal("[[\"lat\",\"float\"],[\"lon\",\"float\"],[\"speed_kmh\",\"float\"]]", Values(await QueryAsync("SHOW FIELD KEYS FROM \"vehicle_position\"")));
        Assert.Equal("[[\"stream\"],[\"vehicle\"]]", Values(await QueryAsync("SHOW TAG KEYS FROM \"vehicle_position\"")));
        Assert.Equal("[[1795132800000000000,37,117,0,\"recyclable\",\"REC-01\"]]",
            Values(await QueryAsync("SELECT \"lat\", \"lon\", \"speed_kmh\", \"stream\", \"vehicle\" FROM \"vehicle_position\"", epoch: "ns")));
        Assert.Equal("[[\"body\",\"string\"],[\"shift_end_ms\",\"float\"],[\"shift_start_ms\",\"float\"]]", Values(await QueryAsync("SHOW FIELD KEYS FROM \"route_plan\"")));
        Assert.Equal("[[\"plan\"],[\"revision\"],[\"stream\"]]", Values(await QueryAsync("SHOW TAG KEYS FROM \"route_plan\"")));
        Assert.Equal("[[1795129200000000000,\"{\\\"a\\\":\\\"b\\\"}\",\"recyclable-2026-11-20\",\"2\",1795132800000,1795161600000]]",
            Values(await QueryAsync("SELECT \"body\", \"plan\", \"revision\", \"shift_start_ms\", \"shift_end_ms\" FROM \"route_plan\"", epoch: "ns")));

        static string Values(string answer)
        {
            using var json = System.Text.Json.JsonDocument.Parse(answer);
            var series = Assert.Single(json.RootElement.GetProperty("results")[0].GetProperty("series").EnumerateArray());
            return series.GetProperty("values").GetRawText();
        }
    }

    [Fact]
    public async Task Analysts_see_alert_events_with_the_contract_schema_in_influxql()
    {
        var raisedAt = new DateTimeOffset(2026, 11, 2, 0, 10, 0, TimeSpan.Zero);
        await Store.WriteAlertEventsAsync(
        [
            new StoredAlertEvent("raised", T0, "JY-012::offline:1", "JY-012", "c01", null, "offline", "warning", raisedAt, null, null, null),
            new StoredAlertEvent("cleared", T0, "JY-012:paper:fill:1", "JY-012", "c01", "paper", "fill", "warning",
                raisedAt, T0, raisedAt.AddMinutes(5).AddMilliseconds(7), "ops \"1\""),
        ], CancellationToken.None);

        // Times as text, every field a string; the optional ones only on the points that have them.
        Assert.Equal("[[\"acknowledged_at\",\"string\"],[\"acknowledged_by\",\"string\"],[\"alert_id\",\"string\"],[\"cleared_at\",\"string\"],[\"raised_at\",\"string\"]]",
            Values(await QueryAsync("SHOW FIELD KEYS FROM \"alert_event\"")));
        Assert.Equal("[[\"bin\"],[\"community\"],[\"compartment\"],[\"kind\"],[\"severity\"],[\"type\"]]", Values(await QueryAsync("SHOW TAG KEYS FROM \"alert_event\"")));
        // A bin's alert has no compartment tag: one series without it, one with it.
        Assert.Equal("[[\"compartment\",\"paper\"]]", Values(await QueryAsync("SHOW TAG VALUES FROM \"alert_event\" WITH KEY = \"compartment\"")));
        Assert.Equal(2, Values(await QueryAsync("SHOW SERIES FROM \"alert_event\"")).Split("alert_event,", StringSplitOptions.None).Length - 1);
        Assert.Equal(
            // Same time: influxd lists the series in key order, the one with a compartment tag first.
            "[[1795132800000000000,\"2026-11-02T00:15:00.007Z\",\"ops \\\"1\\\"\",\"JY-012:paper:fill:1\",\"2026-11-20T00:00:00.000Z\",\"2026-11-02T00:10:00.000Z\",\"cleared\"]," +
            "[1795132800000000000,null,null,\"JY-012::offline:1\",null,\"2026-11-02T00:10:00.000Z\",\"raised\"]]",
            Values(await QueryAsync("SELECT \"acknowledged_at\", \"acknowledged_by\", \"alert_id\", \"cleared_at\", \"raised_at\", \"type\" FROM \"alert_event\" WHERE \"bin\" = 'JY-012'", epoch: "ns")));

        static string Values(string answer)
        {
            using var json = System.Text.Json.JsonDocument.Parse(answer);
            var series = Assert.Single(json.RootElement.GetProperty("results")[0].GetProperty("series").EnumerateArray());
            return series.GetProperty("values").GetRawText();
        }
    }

    [Fact]
    public async Task Analysts_see_job_events_with_the_contract_schema_in_influxql()
    {
        StoredJobEvent Job(string type, DateTimeOffset at, string jobId, string[] compartments, DateTimeOffset? predicted = null, string? vehicle = null,
            DateTimeOffset? planned = null, DateTimeOffset? completed = null, DateTimeOffset? cancelled = null, string? by = null) =>
            new(type, at, jobId, "JY-012", "c01", compartments, "recyclable", "threshold", "normal", predicted, T0.AddHours(4), type, vehicle, T0, "scheduler",
                planned, completed, cancelled, by);
        // Two jobs of one bin and stream requested at one instant, then planned, completed and cancelled.
        await Store.WriteJobEventsAsync(
        [
            Job("requested", T0, "job-1", ["paper"], by: "scheduler"),
            Job("requested", T0, "job-2", ["plastic", "glass"], predicted: T0.AddHours(6)),
            Job("planned", T0.AddSeconds(1), "job-1", ["paper"], vehicle: "truck 1", planned: T0.AddSeconds(1), by: "routing"),
            Job("completed", T0.AddSeconds(2), "job-1", ["paper"], vehicle: "truck 1", planned: T0.AddSeconds(1), completed: T0.AddSeconds(2), by: "driver-app"),
            Job("cancelled", T0.AddSeconds(2), "job-2", ["plastic", "glass"], predicted: T0.AddHours(6), cancelled: T0.AddSeconds(2), by: "调度员 1"),
        ], CancellationToken.None);

        // Times as text, every field a string; the optional ones only on the points that have them.
        Assert.Equal("[[\"by\",\"string\"],[\"cancelled_at\",\"string\"],[\"compartments\",\"string\"],[\"completed_at\",\"string\"],[\"deadline\",\"string\"]," +
            "[\"job_id\",\"string\"],[\"planned_at\",\"string\"],[\"predicted_full_at\",\"string\"],[\"priority\",\"string\"],[\"reason\",\"string\"]," +
            "[\"requested_at\",\"string\"],[\"requested_by\",\"string\"],[\"state\",\"string\"],[\"vehicle\",\"string\"]]",
            Values(await QueryAsync("SHOW FIELD KEYS FROM \"job_event\"")));
        Assert.Equal("[[\"bin\"],[\"community\"],[\"job\"],[\"stream\"],[\"type\"]]", Values(await QueryAsync("SHOW TAG KEYS FROM \"job_event\"")));
        // A series per job and type: five events, five series.
        Assert.Equal(5, Values(await QueryAsync("SHOW SERIES FROM \"job_event\"")).Split("job_event,", StringSplitOptions.None).Length - 1);
        Assert.Equal(
            // Same time: influxd lists the series in key order (job-1 first); "by" is an InfluxQL keyword, so it is quoted.
            "[[1795132800000000000,\"job-1\",\"paper\",null,\"scheduler\"],[1795132800000000000,\"job-2\",\"plastic,glass\",\"2026-11-20T06:00:00.000Z\",null]]",
            Values(await QueryAsync("SELECT \"job_id\", \"compartments\", \"predicted_full_at\", \"by\" FROM \"job_event\" WHERE \"type\" = 'requested'", epoch: "ns")));
        Assert.Equal("[[0,2]]",
            Values(await QueryAsync("SELECT count(\"job_id\") FROM \"job_event\" WHERE \"type\" = 'requested' AND \"stream\" = 'recyclable'", epoch: "ns")));

        static string Values(string answer)
        {
            using var json = System.Text.Json.JsonDocument.Parse(answer);
            var series = Assert.Single(json.RootElement.GetProperty("results")[0].GetProperty("series").EnumerateArray());
            return series.GetProperty("values").GetRawText();
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
    public async Task A_missing_database_that_may_not_be_created_stops_the_start_naming_the_bucket()
    {
        var missing = "t_missing_" + Guid.NewGuid().ToString("N");
        await using var store = new InfluxDbStore(Options with { Bucket = missing, CreateDatabase = false });
        var ex = await Assert.ThrowsAsync<ConfigurationException>(() => store.InitializeAsync(CancellationToken.None));
        Assert.Equal("Storage:InfluxDb:Bucket", ex.Key);
        Assert.Contains($"no database '{missing}'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_database_dropped_while_running_is_retryable()
    {
        await CommandAsync($"DROP DATABASE \"{_database}\"");
        var ex = await Assert.ThrowsAsync<StoreUnavailableException>(() => Store.WriteAsync([Fill("JY-015", "paper", T0, 1)], [], CancellationToken.None));
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
        Assert.True(ex.IsStoreWide);
    }

    [Fact]
    public async Task Valid_readings_refused_by_a_field_type_conflict_wait_and_never_become_dead_letters()
    {
        // Someone created pct as an integer in this fresh database: influxd refuses every contract fill reading.
        await WriteLineAsync($"fill,bin=JY-017,community=c01,compartment=paper,stream=recyclable pct=1i,seq=1i {T0.AddHours(-1).ToUnixTimeMilliseconds()}");
        var logger = new ListLogger();
        using var metrics = new IngestionMetrics();
        var writer = new ResilientStoreWriter(Store, "ingest-a", metrics, logger, heldCount: () => 2);
        static PendingMessage Message(Reading r) =>
            new(new InboundMessage($"bins/{r.BinId}/fill", Encoding.UTF8.GetBytes("{}"), T0, InboundMessage.NoAcknowledgement), [r], null);
        var writing = writer.WriteAsync([Message(Fill("JY-018", "paper", T0, 50)), Message(Fill("JY-019", "glass", T0, 60))], CancellationToken.None);

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!logger.Has(LogLevel.Error, "field type conflict"))
        {
            Assert.True(DateTime.UtcNow < deadline, "no error naming the conflict: " + string.Join(" | ", logger.Entries.Select(e => e.Text)));
            Assert.False(writing.IsCompleted, "the writer gave up or went past the refused readings");
            await Task.Delay(50);
        }
        Assert.Contains("already exists as type integer", writer.LastError, StringComparison.Ordinal);
        Assert.NotNull(writer.UnavailableSince);
        Assert.False(writing.IsCompleted);
        Assert.Empty(await Store.GetDeadLettersAsync(T0.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), 10, CancellationToken.None));

        // The operator fixes the store: the readings are stored as they were, still no dead letter.
        await CommandAsync("DROP MEASUREMENT \"fill\"");
        await writing.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal([50.0, 60.0], (await Store.GetLatestAsync(CancellationToken.None)).Select(l => l.FillPct!.Value).Order());
        Assert.Empty(await Store.GetDeadLettersAsync(T0.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), 10, CancellationToken.None));
        Assert.Null(writer.UnavailableSince);
    }

    [Fact]
    public async Task Smuggled_points_in_dead_letters_are_never_stored_and_the_letters_read_back_exactly()
    {
        var letters = InfluxDbApiV2Tests.SmugglingLetters(T0);
        await Store.WriteAsync([], [.. letters.Select(l => l.Letter)], CancellationToken.None);

        // Nothing but dead letters exists, at any time: no fill point of the bin the payloads aimed at.
        Assert.DoesNotContain("\"fill\"", await QueryAsync("SHOW MEASUREMENTS"), StringComparison.Ordinal);
        Assert.DoesNotContain(HostileCorpus.SmuggledBin, await QueryAsync("SHOW SERIES"), StringComparison.Ordinal);
        Assert.Equal(0, (await Store.CountAsync(DateTimeOffset.UnixEpoch.AddYears(-100), DateTimeOffset.UnixEpoch.AddYears(200), CancellationToken.None)).Readings);

        var stored = await Store.GetDeadLettersAsync(T0, T0.AddSeconds(1), 100, CancellationToken.None);
        Assert.Equal(letters.Count, stored.Count);
        foreach (var (c, letter) in letters)
        {
            var back = Assert.Single(stored, s => s.ReceivedAt == letter.ReceivedAt);
            Assert.Equal(letter, back);
            Assert.Equal(Encoding.UTF8.GetString(c.Payload), back.Payload);
            Assert.Equal(c.ExpectedReason, back.Reason);
        }
    }

    private async Task WriteLineAsync(string line)
    {
        using var http = new HttpClient { BaseAddress = TestServices.InfluxUrl };
        using var body = new StringContent(line);
        using var response = await http.PostAsync(new Uri($"/write?db={_database}&precision=ms", UriKind.Relative), body);
        response.EnsureSuccessStatusCode();
    }

    private async Task CommandAsync(string q)
    {
        using var http = new HttpClient { BaseAddress = TestServices.InfluxUrl };
        using var content = new FormUrlEncodedContent([new("q", q)]);
        using var response = await http.PostAsync(new Uri($"/query?db={_database}", UriKind.Relative), content);
        response.EnsureSuccessStatusCode();
        Assert.DoesNotContain("\"error\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private async Task<string> QueryAsync(string q, string? epoch = null)
    {
        using var http = new HttpClient { BaseAddress = TestServices.InfluxUrl };
        http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        var precision = epoch is null ? "" : "&epoch=" + epoch;
        return await http.GetStringAsync(new Uri($"/query?db={_database}{precision}&q={Uri.EscapeDataString(q)}", UriKind.Relative));
    }
}
