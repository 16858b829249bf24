using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Telemetry.Contracts.Configuration;
using Telemetry.Contracts.Readings;
using Telemetry.Fleet;
using Telemetry.Ingestion.Decoding;
using Telemetry.Storage;
using Telemetry.Storage.InfluxDb;

namespace Telemetry.IntegrationTests.Storage;

/// <summary>
/// What <see cref="InfluxDbStore"/> sends, checked against a local HTTP server that records requests
/// (no InfluxDB 2.x can run here): API version 2 and 1 requests, the exact line protocol, and how
/// server answers map to store exceptions. <see cref="InitializeAsync"/>'s requests (ping, credentials,
/// an empty write) have empty bodies; the writes of data are the requests with a body.
/// </summary>
public sealed class InfluxDbApiV2Tests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 20, 0, 0, 0, TimeSpan.Zero); // 1795132800000 ms

    private readonly InfluxDbRecordingServer _server = new();

    public void Dispose() => _server.Dispose();

    private static IReadOnlyList<Reading> Batch() =>
    [
        new FillReading("JY-001", "c01", "paper", "recyclable", T0, 1042, 63.5),
        new FillReading("JY-001", "c01", "plastic", "recyclable", T0, 1042, 41),
        new WeightReading("JY-001", "c01", "paper", "recyclable", T0.AddSeconds(2), 1043, 41.2, 0.8),
        new WeightReading("JY-001", "c 01,x=y", "kitchen", "kitchen", T0.AddSeconds(2), 1043, 0, null),
        new StatusReading("JY-001", "c01", T0.AddSeconds(5), 1044, true, true, 87, null, false, null),
        new StatusReading("JY-001", "c01", T0.AddSeconds(6), null, false, null, null, 21.5, null, true),
    ];

    private static readonly string ExpectedReadings = string.Join("\n",
        "fill,bin=JY-001,community=c01,compartment=paper,stream=recyclable pct=63.5,seq=1042i 1795132800000",
        "fill,bin=JY-001,community=c01,compartment=plastic,stream=recyclable pct=41,seq=1042i 1795132800000",
        "weight,bin=JY-001,community=c01,compartment=paper,stream=recyclable net_kg=41.2,deposit_kg=0.8,seq=1043i 1795132802000",
        @"weight,bin=JY-001,community=c\ 01\,x\=y,compartment=kitchen,stream=kitchen net_kg=0,seq=1043i 1795132802000",
        "status,bin=JY-001,community=c01 online=true,battery_pct=87,tilt=false,seq=1044i 1795132805000",
        "status,bin=JY-001,community=c01 temp_c=21.5,door_open=true 1795132806000");

    private static readonly DeadLetter Letter = new(T0.AddTicks(12_345_670), "malformed-json", "JY-001", "ingest-a", "bins/JY-001/fill",
        "{\"id\":\"a,b=c d\"} \\ end", "not JSON");

    // The payload's backslash is \\ by CONTRACT §3, each of those escaped again in the string field: four.
    private const string ExpectedDeadLetter =
        "dead_letter,bin=JY-001,ingester=ingest-a,reason=malformed-json topic=\"bins/JY-001/fill\",payload=\"{\\\"id\\\":\\\"a,b=c d\\\"} \\\\\\\\ end\",error=\"not JSON\" 1795132801234567";

    private InfluxDbStore V2(Uri? url = null, TimeProvider? time = null) => new(new InfluxDbStoreOptions
    {
        Url = url ?? _server.Url,
        ApiVersion = 2,
        Token = "tok-123",
        Org = "my org",
        Bucket = "bkt",
    }, time);

    private IReadOnlyList<RecordedRequest> DataWrites => [.. _server.Requests.Where(r => r.Method == "POST" && r.Body.Length > 0)];

    private InfluxDbStore V1(string? username = null, string? password = null) => new(new InfluxDbStoreOptions
    {
        Url = _server.Url,
        ApiVersion = 1,
        Bucket = "bkt",
        Username = username,
        Password = password,
    });

    [Fact]
    public async Task Api_v2_posts_gzipped_line_protocol_with_the_token()
    {
        await using var store = V2();
        await store.InitializeAsync(CancellationToken.None);
        await store.WriteAsync(Batch(), [Letter], CancellationToken.None);

        // Start: a ping, then an empty write with the token (the credentials' check).
        Assert.Equal(["GET /ping", "POST /api/v2/write?org=my%20org&bucket=bkt&precision=ms"], _server.Requests.Take(2).Select(r => $"{r.Method} {r.PathAndQuery}"));
        Assert.Equal(("Token tok-123", ""), (_server.Requests[1].Header("Authorization"), _server.Requests[1].Body));
        var writes = DataWrites;
        Assert.Equal(2, writes.Count);
        foreach (var (request, precision) in writes.Zip(new[] { "ms", "us" }))
        {
            Assert.Equal("POST", request.Method);
            Assert.Equal($"/api/v2/write?org=my%20org&bucket=bkt&precision={precision}", request.PathAndQuery);
            Assert.Equal("Token tok-123", request.Header("Authorization"));
            Assert.Equal("gzip", request.Header("Content-Encoding"));
        }
        Assert.Equal(ExpectedReadings, writes[0].Body);
        Assert.Equal(ExpectedDeadLetter, writes[1].Body);
    }

    [Fact]
    public async Task Api_v2_initialisation_reports_a_server_that_does_not_answer()
    {
        _server.Respond = _ => (HttpStatusCode.NotFound, null, "");
        await using var store = V2();
        var ex = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.InitializeAsync(CancellationToken.None));
        Assert.Contains("/ping answered HTTP 404", ex.Message, StringComparison.Ordinal);
        Assert.Contains("/health answered HTTP 404", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Api_v1_posts_to_write_with_db_and_without_a_token()
    {
        await using var store = V1();
        await store.InitializeAsync(CancellationToken.None);
        await store.WriteAsync(Batch(), [Letter], CancellationToken.None);

        // Start: a ping, the credentials (SHOW DATABASES) and an empty write to the database.
        Assert.Equal(["GET /ping", "GET /query?q=SHOW%20DATABASES", "POST /write?db=bkt&precision=ms"], _server.Requests.Take(3).Select(r => $"{r.Method} {r.PathAndQuery}"));
        var writes = DataWrites;
        Assert.Equal(2, writes.Count);
        Assert.Equal("/write?db=bkt&precision=ms", writes[0].PathAndQuery);
        Assert.Equal("/write?db=bkt&precision=u", writes[1].PathAndQuery);
        Assert.All(writes, w =>
        {
            Assert.Equal("POST", w.Method);
            Assert.Null(w.Header("Authorization"));
            Assert.Equal("gzip", w.Header("Content-Encoding"));
        });
        Assert.Equal(ExpectedReadings, writes[0].Body);
        Assert.Equal(ExpectedDeadLetter, writes[1].Body);
    }

    [Fact]
    public async Task Api_v1_sends_credentials_as_u_and_p()
    {
        await using var store = V1("writer", "p&ss word");
        await store.WriteAsync(Batch(), [], CancellationToken.None);
        var write = Assert.Single(_server.Requests);
        Assert.Equal("/write?db=bkt&precision=ms&u=writer&p=p%26ss%20word", write.PathAndQuery);
        Assert.Null(write.Header("Authorization"));
    }

    [Fact]
    public async Task Api_v1_reads_with_influxql_over_query()
    {
        _server.Respond = _ => (HttpStatusCode.OK, null,
            """{"results":[{"statement_id":0,"series":[{"name":"fill","tags":{"bin":"JY-001","compartment":"paper","community":"c01","stream":"recyclable"},"columns":["time","last"],"values":[[1795132800000,63.5]]}]},{"statement_id":1}]}""");
        await using var store = V1("reader", "secret");
        var latest = Assert.Single(await store.GetLatestAsync(CancellationToken.None));
        Assert.Equal(new LatestCompartment("JY-001", "c01", "paper", "recyclable", T0, 63.5, null, null), latest);
        var query = Assert.Single(_server.Requests);
        Assert.Equal("GET", query.Method);
        Assert.Equal("/query", query.Path);
        Assert.Equal("bkt", query.Query("db"));
        Assert.Equal("ms", query.Query("epoch"));
        Assert.Equal("reader", query.Query("u"));
        Assert.Equal("secret", query.Query("p"));
        Assert.StartsWith("SELECT last(\"pct\") FROM \"fill\"", query.Query("q"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Api_v2_reads_send_the_token()
    {
        _server.Respond = _ => (HttpStatusCode.OK, null, """{"results":[{"statement_id":0},{"statement_id":1},{"statement_id":2},{"statement_id":3}]}""");
        await using var store = V2();
        Assert.Equal(new StoredCounts(0, 0, 0, 0), await store.CountAsync(T0, T0.AddDays(1), null, CancellationToken.None));
        var query = Assert.Single(_server.Requests);
        Assert.Equal("Token tok-123", query.Header("Authorization"));
        Assert.Equal("bkt", query.Query("db"));
    }

    [Fact]
    public async Task Bin_ids_in_queries_are_quoted()
    {
        _server.Respond = _ => (HttpStatusCode.OK, null, """{"results":[{"statement_id":0},{"statement_id":1}]}""");
        await using var store = V2();
        await store.GetHistoryAsync("x' OR 1=1 --\\", T0, T0.AddHours(1), TimeSpan.FromMinutes(15), TimeSpan.Zero, CancellationToken.None);
        // The tag as stored (CONTRACT §3: \ is \\, and a final backslash gets the marker \.), then quoted for InfluxQL.
        Assert.Contains(@"""bin"" = 'x\' OR 1=1 --\\\\\\.' AND time >= 1795132800000000000 AND time < 1795136400000000000 GROUP BY time(900000000u)",
            Assert.Single(_server.Requests).Query("q"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bin_ids_in_readings_and_event_queries_are_quoted()
    {
        _server.Respond = _ => (HttpStatusCode.OK, null, """{"results":[{"statement_id":0},{"statement_id":1},{"statement_id":2}]}""");
        await using var store = V2();
        const string hostile = "x' OR 1=1 --\\";
        const string quoted = @"""bin"" = 'x\' OR 1=1 --\\\\\\.'";
        await store.GetReadingsAsync([hostile, "JY-001"], T0, T0.AddHours(1), CancellationToken.None);
        var statements = Assert.Single(_server.Requests).Query("q")!.Split(";\n");
        Assert.Equal(3, statements.Length);
        Assert.All(statements, q => Assert.Contains($"WHERE time >= 1795132800000000000 AND time < 1795136400000000000 AND ({quoted} OR \"bin\" = 'JY-001') GROUP BY \"bin\", \"community\"", q, StringComparison.Ordinal));

        await store.GetCollectionsAsync(hostile, T0, T0.AddHours(1), CancellationToken.None);
        await store.GetDeviceEventsAsync(hostile, T0, T0.AddHours(1), CancellationToken.None);
        Assert.Contains($"FROM \"collection\" WHERE time >= 1795132800000000000 AND time < 1795136400000000000 AND {quoted} GROUP BY", _server.Requests[1].Query("q"), StringComparison.Ordinal);
        Assert.Contains($"FROM \"device_event\" WHERE time >= 1795132800000000000 AND time < 1795136400000000000 AND {quoted} GROUP BY", _server.Requests[2].Query("q"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readings_of_many_bins_are_asked_for_in_requests_of_at_most_100_bins()
    {
        _server.Respond = _ => (HttpStatusCode.OK, null, """{"results":[{"statement_id":0},{"statement_id":1},{"statement_id":2}]}""");
        await using var store = V2();
        var bins = Enumerable.Range(1, 150).Select(i => $"JY-{i:000}").ToList();
        Assert.Empty(await store.GetReadingsAsync([.. bins, "JY-001"], T0, T0.AddDays(1), CancellationToken.None));
        Assert.Equal([100, 50], _server.Requests.Select(r => r.Query("q")!.Split(";\n")[0].Split(" OR ").Length));
        // No bins, no request; null, all bins and no bin condition.
        Assert.Empty(await store.GetReadingsAsync([], T0, T0.AddDays(1), CancellationToken.None));
        Assert.Equal(2, _server.Requests.Count);
        await store.GetReadingsAsync(null, T0, T0.AddDays(1), CancellationToken.None);
        Assert.DoesNotContain("\"bin\" =", _server.Requests[2].Query("q"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_answer_cut_short_by_the_server_is_asked_for_again_in_halves()
    {
        // A server with a row limit: the whole hour comes back partial, each half whole.
        _server.Respond = r =>
        {
            var q = r.Query("q")!;
            var time = q.Contains("time >= 1795132800000000000 AND time < 1795134600000000000", StringComparison.Ordinal) ? 1795132800000
                : q.Contains("time >= 1795134600000000000 AND time < 1795136400000000000", StringComparison.Ordinal) ? 1795134600000 : 0;
            var partial = time == 0 ? ""","partial":true""" : "";
            var fillTime = time == 0 ? 1795132800000 : time;
            return (HttpStatusCode.OK, null,
                $$"""{"results":[{"statement_id":0,"series":[{"name":"fill","tags":{"bin":"JY-001","community":"c01","compartment":"paper","stream":"recyclable"},"columns":["time","pct","seq"],"values":[[{{fillTime}},50,7]]{{partial}}}]{{partial}}},{"statement_id":1},{"statement_id":2}]}""");
        };
        await using var store = V2();
        var readings = await store.GetReadingsAsync(null, T0, T0.AddHours(1), CancellationToken.None);
        Assert.Equal([
            new FillReading("JY-001", "c01", "paper", "recyclable", T0, 7, 50),
            new FillReading("JY-001", "c01", "paper", "recyclable", T0.AddMinutes(30), 7, 50),
        ], readings);
        Assert.Equal(3, _server.Requests.Count);
    }

    [Fact]
    public async Task Events_are_written_as_the_contracts_line_protocol()
    {
        await using var store = V2();
        await store.WriteEventsAsync(
            [new CollectionEvent("JY-001", "c01", "paper", "recyclable", T0, 12, 85.5, 0)],
            [
                new DeviceEvent("JY-001", "c01", T0.AddSeconds(1), "reboot", 5, "seq 5 after \"9\"\\ \r\n\0"),
                new DeviceEvent("JY-001", "c 01,x=y", T0.AddSeconds(2), "offline", null, "no message for 900 s"),
            ], CancellationToken.None);
        var write = Assert.Single(DataWrites);
        Assert.Equal("/api/v2/write?org=my%20org&bucket=bkt&precision=ms", write.PathAndQuery);
        Assert.Equal(string.Join("\n",
            "collection,bin=JY-001,community=c01,compartment=paper,stream=recyclable kg_collected=12,fill_before_pct=85.5,fill_after_pct=0 1795132800000",
            // The detail's \, CR, LF and NUL by CONTRACT §3, then the quote and each backslash escaped for the string field.
            @"device_event,bin=JY-001,community=c01,kind=reboot seq=5i,detail=""seq 5 after \""9\""\\\\ \\r\\n\\0"" 1795132801000",
            @"device_event,bin=JY-001,community=c\ 01\,x\=y,kind=offline detail=""no message for 900 s"" 1795132802000"), write.Body);

        await Assert.ThrowsAsync<StoreRejectedException>(() => store.WriteEventsAsync(
            [new CollectionEvent("JY-001", "c01", "paper", "recyclable", T0, double.PositiveInfinity, 1, 0)], [], CancellationToken.None));
        Assert.Single(DataWrites);
    }

    [Fact]
    public async Task Alert_events_are_written_as_the_contracts_line_protocol()
    {
        await using var store = V2();
        var raisedAt = new DateTimeOffset(2026, 11, 2, 8, 10, 0, TimeSpan.FromHours(8)).AddTicks(4_999); // 00:10:00.000Z and half a millisecond
        await store.WriteAlertEventsAsync(
        [
            new StoredAlertEvent("raised", T0, "JY-001::offline:1796265086708", "JY-001", "c01", null, "offline", "warning", raisedAt, null, null, null),
            new StoredAlertEvent("acknowledged", T0.AddSeconds(1), "JY-001:paper:fill:1", "JY-001", "c 01,x=y", "paper", "fill", "critical",
                raisedAt, T0.AddMilliseconds(1500), T0.AddSeconds(1), "王 \"ops\"\\ \r\n\0"),
        ], CancellationToken.None);
        var write = Assert.Single(DataWrites);
        Assert.Equal("/api/v2/write?org=my%20org&bucket=bkt&precision=ms", write.PathAndQuery);
        Assert.Equal(string.Join("\n",
            // No compartment tag for a bin's alert; the optional fields only when set.
            @"alert_event,bin=JY-001,community=c01,kind=offline,severity=warning,type=raised alert_id=""JY-001::offline:1796265086708"",raised_at=""2026-11-02T00:10:00.000Z"" 1795132800000",
            // The acknowledger's \, CR, LF and NUL by CONTRACT §3, then the quotes and each backslash escaped for the string field.
            @"alert_event,bin=JY-001,community=c\ 01\,x\=y,compartment=paper,kind=fill,severity=critical,type=acknowledged alert_id=""JY-001:paper:fill:1"",raised_at=""2026-11-02T00:10:00.000Z"",cleared_at=""2026-11-20T00:00:01.500Z"",acknowledged_at=""2026-11-20T00:00:01.000Z"",acknowledged_by=""王 \""ops\""\\\\ \\r\\n\\0"" 1795132801000"),
            write.Body);

        _server.Respond = _ => (HttpStatusCode.BadRequest, null, """{"error":"partial write: field type conflict: input field \"raised_at\" on measurement \"alert_event\" is type string, already exists as type integer dropped=1"}""");
        Assert.True((await Assert.ThrowsAsync<StoreRejectedException>(() => store.WriteAlertEventsAsync(
            [new StoredAlertEvent("raised", T0, "id", "JY-001", "c01", null, "offline", "warning", T0, null, null, null)], CancellationToken.None))).IsStoreWide);
        _server.Respond = _ => (HttpStatusCode.ServiceUnavailable, ("Retry-After", "3"), """{"code":"unavailable","message":"busy"}""");
        Assert.Equal(TimeSpan.FromSeconds(3), (await Assert.ThrowsAsync<StoreUnavailableException>(() => store.WriteAlertEventsAsync(
            [new StoredAlertEvent("raised", T0, "id", "JY-001", "c01", null, "offline", "warning", T0, null, null, null)], CancellationToken.None))).RetryAfter);
    }

    [Fact]
    public async Task Alert_events_are_read_from_the_time_of_the_limits_newest_on()
    {
        // The limit-th newest point is at T0 + 30 min: the events are read from there, in the range's halves when cut short.
        _server.Respond = r => r.Query("q")!.Contains("OFFSET", StringComparison.Ordinal)
            ? (HttpStatusCode.OK, null, """{"results":[{"statement_id":0,"series":[{"name":"alert_event","columns":["time","alert_id"],"values":[[1795134600000,"x"]]}]}]}""")
            : (HttpStatusCode.OK, null, """{"results":[{"statement_id":0}]}""");
        await using var store = V2();
        Assert.Empty(await store.GetAlertEventsAsync(T0, T0.AddHours(1), 250, CancellationToken.None));
        Assert.Equal(2, _server.Requests.Count);
        Assert.Equal("SELECT \"alert_id\" FROM \"alert_event\" WHERE time >= 1795132800000000000 AND time < 1795136400000000000 ORDER BY time DESC LIMIT 1 OFFSET 249",
            _server.Requests[0].Query("q"));
        Assert.Equal("SELECT \"alert_id\", \"raised_at\", \"cleared_at\", \"acknowledged_at\", \"acknowledged_by\" FROM \"alert_event\" " +
            "WHERE time >= 1795134600000000000 AND time < 1795136400000000000 GROUP BY \"bin\", \"community\", \"compartment\", \"kind\", \"severity\", \"type\"",
            _server.Requests[1].Query("q"));
        Assert.Equal("ms", _server.Requests[1].Query("epoch"));
        // Fewer events than the limit: from the range's start; no request at all for an empty range or a limit below 1.
        _server.Respond = _ => (HttpStatusCode.OK, null, """{"results":[{"statement_id":0}]}""");
        await store.GetAlertEventsAsync(T0, T0.AddHours(1), 1, CancellationToken.None);
        Assert.Contains("LIMIT 1 OFFSET 0", _server.Requests[2].Query("q"), StringComparison.Ordinal);
        Assert.Contains("WHERE time >= 1795132800000000000 AND time < 1795136400000000000 GROUP BY", _server.Requests[3].Query("q"), StringComparison.Ordinal);
        Assert.Empty(await store.GetAlertEventsAsync(T0, T0, 10, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.GetAlertEventsAsync(T0, T0.AddHours(1), 0, CancellationToken.None));
        Assert.Equal(4, _server.Requests.Count);
    }

    [Fact]
    public async Task Job_events_are_written_as_the_contracts_line_protocol()
    {
        await using var store = V2();
        var predicted = new DateTimeOffset(2026, 11, 2, 8, 10, 0, TimeSpan.FromHours(8)).AddTicks(4_999); // 00:10:00.000Z and half a millisecond
        await store.WriteJobEventsAsync(
        [
            new StoredJobEvent("requested", T0, "job-1", "JY-001", "c01", ["paper"], "recyclable", "threshold", "normal", null, T0.AddHours(4), "requested", null,
                T0, "scheduler", null, null, null, "scheduler"),
            new StoredJobEvent("completed", T0.AddSeconds(1), "job 2,x=y", "JY-001", "c 01,x=y", ["paper", "glass"], "recyclable", "overflow", "urgent",
                predicted, T0.AddHours(1), "completed", "沪A \"1\"\\", T0.AddMilliseconds(-1500), "王 \"ops\"\\ \r\n\0", T0.AddMilliseconds(500),
                T0.AddSeconds(1), null, "key \"k\""),
        ], CancellationToken.None);
        var write = Assert.Single(DataWrites);
        Assert.Equal("/api/v2/write?org=my%20org&bucket=bkt&precision=ms", write.PathAndQuery);
        Assert.Equal(string.Join("\n",
            // The job id as a tag too (two jobs' events at one time are two points); the optional fields only when set.
            @"job_event,bin=JY-001,community=c01,job=job-1,stream=recyclable,type=requested job_id=""job-1"",compartments=""paper"",reason=""threshold"",priority=""normal"",state=""requested"",deadline=""2026-11-20T04:00:00.000Z"",requested_at=""2026-11-20T00:00:00.000Z"",requested_by=""scheduler"",by=""scheduler"" 1795132800000",
            // Tag values escaped for line protocol; the requester's and vehicle's \, CR, LF and NUL by CONTRACT §3, then the quotes and each backslash escaped for the string field.
            @"job_event,bin=JY-001,community=c\ 01\,x\=y,job=job\ 2\,x\=y,stream=recyclable,type=completed job_id=""job 2,x=y"",compartments=""paper,glass"",reason=""overflow"",priority=""urgent"",state=""completed"",deadline=""2026-11-20T01:00:00.000Z"",requested_at=""2026-11-19T23:59:58.500Z"",requested_by=""王 \""ops\""\\\\ \\r\\n\\0"",predicted_full_at=""2026-11-02T00:10:00.000Z"",vehicle=""沪A \""1\""\\\\"",planned_at=""2026-11-20T00:00:00.500Z"",completed_at=""2026-11-20T00:00:01.000Z"",by=""key \""k\"""" 1795132801000"),
            write.Body);

        // A compartment that would not read back refuses the batch before anything is sent.
        await Assert.ThrowsAsync<StoreRejectedException>(() => store.WriteJobEventsAsync(
            [new StoredJobEvent("requested", T0, "job-3", "JY-001", "c01", ["paper,glass"], "recyclable", "threshold", "normal", null, T0, "requested", null, T0, "scheduler", null, null, null, null)],
            CancellationToken.None));
        Assert.Single(DataWrites);

        var job = new StoredJobEvent("requested", T0, "job-4", "JY-001", "c01", ["paper"], "recyclable", "threshold", "normal", null, T0, "requested", null, T0, "scheduler", null, null, null, null);
        _server.Respond = _ => (HttpStatusCode.BadRequest, null, """{"error":"partial write: field type conflict: input field \"deadline\" on measurement \"job_event\" is type string, already exists as type integer dropped=1"}""");
        Assert.True((await Assert.ThrowsAsync<StoreRejectedException>(() => store.WriteJobEventsAsync([job], CancellationToken.None))).IsStoreWide);
        _server.Respond = _ => (HttpStatusCode.ServiceUnavailable, ("Retry-After", "3"), """{"code":"unavailable","message":"busy"}""");
        Assert.Equal(TimeSpan.FromSeconds(3), (await Assert.ThrowsAsync<StoreUnavailableException>(() => store.WriteJobEventsAsync([job], CancellationToken.None))).RetryAfter);
    }

    [Fact]
    public async Task Job_events_are_read_from_the_time_of_the_limits_newest_on()
    {
        // The limit-th newest point is at T0 + 30 min: the events are read from there.
        _server.Respond = r => r.Query("q")!.Contains("OFFSET", StringComparison.Ordinal)
            ? (HttpStatusCode.OK, null, """{"results":[{"statement_id":0,"series":[{"name":"job_event","columns":["time","job_id"],"values":[[1795134600000,"x"]]}]}]}""")
            : (HttpStatusCode.OK, null, """{"results":[{"statement_id":0}]}""");
        await using var store = V2();
        Assert.Empty(await store.GetJobEventsAsync(T0, T0.AddHours(1), 250, CancellationToken.None));
        Assert.Equal(2, _server.Requests.Count);
        Assert.Equal("SELECT \"job_id\" FROM \"job_event\" WHERE time >= 1795132800000000000 AND time < 1795136400000000000 ORDER BY time DESC LIMIT 1 OFFSET 249",
            _server.Requests[0].Query("q"));
        Assert.Equal("SELECT \"compartments\", \"reason\", \"priority\", \"predicted_full_at\", \"deadline\", \"state\", \"vehicle\", \"requested_at\", " +
            "\"requested_by\", \"planned_at\", \"completed_at\", \"cancelled_at\", \"by\" FROM \"job_event\" " +
            "WHERE time >= 1795134600000000000 AND time < 1795136400000000000 GROUP BY \"bin\", \"community\", \"job\", \"stream\", \"type\"",
            _server.Requests[1].Query("q"));
        Assert.Equal("ms", _server.Requests[1].Query("epoch"));
        // No request at all for an empty range or a limit below 1.
        Assert.Empty(await store.GetJobEventsAsync(T0, T0, 10, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.GetJobEventsAsync(T0, T0.AddHours(1), 0, CancellationToken.None));
        Assert.Equal(2, _server.Requests.Count);

        // What a series answers reads back with its tags' text restored and the fields the point lacks unset.
        _server.Respond = r => r.Query("q")!.Contains("OFFSET", StringComparison.Ordinal)
            ? (HttpStatusCode.OK, null, """{"results":[{"statement_id":0}]}""")
            : (HttpStatusCode.OK, null, """
                {"results":[{"statement_id":0,"series":[{"name":"job_event","tags":{"bin":"JY-001","community":"c01","job":"job\\\\1","stream":"recyclable","type":"planned"},
                "columns":["time","compartments","reason","priority","predicted_full_at","deadline","state","vehicle","requested_at","requested_by","planned_at","completed_at","cancelled_at","by"],
                "values":[[1795132800000,"paper,glass","threshold","normal",null,"2026-11-20T04:00:00.000Z","planned","truck\\n1","2026-11-19T23:00:00.000Z","scheduler","2026-11-20T00:00:00.000Z",null,null,"routing"]]}]}]}
                """);
        var e = Assert.Single(await store.GetJobEventsAsync(T0, T0.AddHours(1), 10, CancellationToken.None));
        Assert.Equal(new StoredJobEvent("planned", T0, "job\\1", "JY-001", "c01", e.Compartments, "recyclable", "threshold", "normal", null, T0.AddHours(4), "planned",
            "truck\n1", T0.AddHours(-1), "scheduler", T0, null, null, "routing"), e);
        Assert.Equal(["paper", "glass"], e.Compartments);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Event_writes_map_server_answers_as_reading_writes_do(int apiVersion)
    {
        IReadOnlyList<CollectionEvent> collections = [new CollectionEvent("JY-001", "c01", "paper", "recyclable", T0, 12, 85.5, 0)];
        await using var store = apiVersion == 1 ? V1() : V2();
        _server.Respond = _ => (HttpStatusCode.BadRequest, null, """{"error":"partial write: field type conflict: input field \"kg_collected\" on measurement \"collection\" is type float, already exists as type integer dropped=1"}""");
        Assert.True((await Assert.ThrowsAsync<StoreRejectedException>(() => store.WriteEventsAsync(collections, [], CancellationToken.None))).IsStoreWide);
        _server.Respond = _ => (HttpStatusCode.ServiceUnavailable, ("Retry-After", "3"), """{"code":"unavailable","message":"busy"}""");
        Assert.Equal(TimeSpan.FromSeconds(3), (await Assert.ThrowsAsync<StoreUnavailableException>(() => store.WriteEventsAsync(collections, [], CancellationToken.None))).RetryAfter);
        var path = DataWrites[0].PathAndQuery;
        Assert.Equal(apiVersion == 1 ? "/write?db=bkt&precision=ms" : "/api/v2/write?org=my%20org&bucket=bkt&precision=ms", path);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task A_bad_request_is_rejected_with_the_servers_message(int apiVersion)
    {
        _server.Respond = _ => (HttpStatusCode.BadRequest, null, """{"error":"partial write: field type conflict: input field \"pct\" on measurement \"fill\" is type string, already exists as type float dropped=1"}""");
        await using var store = apiVersion == 1 ? V1() : V2();
        var ex = await Assert.ThrowsAsync<StoreRejectedException>(() => store.WriteAsync(Batch(), [], CancellationToken.None));
        Assert.Contains("field type conflict", ex.Message, StringComparison.Ordinal);
        // Not the message's fault: every reading of the measurement would be refused alike.
        Assert.True(ex.IsStoreWide);
    }

    [Fact]
    public async Task A_bad_request_about_the_data_itself_is_not_store_wide()
    {
        _server.Respond = _ => (HttpStatusCode.BadRequest, null, """{"error":"partial write: points beyond retention policy dropped=1"}""");
        await using var store = V2();
        var ex = await Assert.ThrowsAsync<StoreRejectedException>(() => store.WriteAsync(Batch(), [], CancellationToken.None));
        Assert.False(ex.IsStoreWide);
    }

    [Fact]
    public async Task Unprocessable_is_rejected()
    {
        _server.Respond = _ => (HttpStatusCode.UnprocessableEntity, null, """{"code":"unprocessable entity","message":"failure writing points: schema conflict"}""");
        await using var store = V2();
        var ex = await Assert.ThrowsAsync<StoreRejectedException>(() => store.WriteAsync(Batch(), [], CancellationToken.None));
        Assert.Contains("schema conflict", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(503)]
    [InlineData(429)]
    public async Task Overload_is_retryable_after_the_servers_delay(int status)
    {
        _server.Respond = _ => ((HttpStatusCode)status, ("Retry-After", "7"), """{"code":"unavailable","message":"busy"}""");
        await using var store = V2();
        var ex = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.WriteAsync(Batch(), [], CancellationToken.None));
        Assert.Equal(TimeSpan.FromSeconds(7), ex.RetryAfter);
        Assert.Contains("busy", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(401, "credentials")]
    [InlineData(403, "credentials")]
    [InlineData(404, "not found")]
    [InlineData(500, "unavailable")]
    public async Task Server_side_trouble_is_retryable(int status, string words)
    {
        _server.Respond = _ => ((HttpStatusCode)status, null, """{"code":"x","message":"bucket \"bkt\" not found"}""");
        await using var store = V2();
        var ex = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.WriteAsync(Batch(), [], CancellationToken.None));
        Assert.Contains(words, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task A_closed_port_is_unavailable(int apiVersion)
    {
        var closed = new Uri($"http://127.0.0.1:{TestServices.FreePort()}/");
        await using var store = new InfluxDbStore(new InfluxDbStoreOptions
        {
            Url = closed, ApiVersion = apiVersion, Token = "t", Org = "o", Bucket = "b", CreateDatabase = true,
        });
        await Assert.ThrowsAsync<StoreUnavailableException>(() => store.WriteAsync(Batch(), [Letter], CancellationToken.None));
        await Assert.ThrowsAsync<StoreUnavailableException>(() => store.InitializeAsync(CancellationToken.None));
        await Assert.ThrowsAsync<StoreUnavailableException>(() => store.GetLatestAsync(CancellationToken.None));
    }

    // ---------------------------------------------------------------- credentials at start

    [Theory]
    [InlineData(401, "refused the token")]
    [InlineData(403, "the token may not write to bucket 'bkt'")]
    public async Task A_wrong_token_stops_the_start_naming_the_key(int status, string words)
    {
        _server.Respond = r => r.Path == "/api/v2/write"
            ? ((HttpStatusCode)status, null, """{"code":"unauthorized","message":"unauthorized access"}""")
            : (HttpStatusCode.NoContent, null, "");
        await using var store = V2();
        var ex = await Assert.ThrowsAsync<ConfigurationException>(() => store.InitializeAsync(CancellationToken.None));
        Assert.Equal("Storage:InfluxDb:Token", ex.Key);
        Assert.StartsWith("Configuration error: Storage:InfluxDb:Token: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(words, ex.Message, StringComparison.Ordinal);
        Assert.Contains("unauthorized access", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("tok-123", ex.Message, StringComparison.Ordinal);
        Assert.Equal("Token tok-123", Assert.Single(_server.Requests, r => r.Path == "/api/v2/write").Header("Authorization"));
    }

    [Theory]
    [InlineData("""{"code":"not found","message":"bucket "bkt" not found"}""", "Storage:InfluxDb:Bucket")]
    [InlineData("""{"code":"not found","message":"organization name "my org" not found"}""", "Storage:InfluxDb:Org")]
    public async Task A_missing_bucket_or_org_stops_the_start_naming_the_key(string answer, string key)
    {
        _server.Respond = r => r.Path == "/api/v2/write" ? (HttpStatusCode.NotFound, null, answer) : (HttpStatusCode.NoContent, null, "");
        await using var store = V2();
        var ex = await Assert.ThrowsAsync<ConfigurationException>(() => store.InitializeAsync(CancellationToken.None));
        Assert.Equal(key, ex.Key);
    }

    [Fact]
    public async Task A_server_that_takes_the_credentials_but_not_an_empty_body_is_fine_at_start()
    {
        // Servers differ about an empty write; a 400 means they got past the credentials.
        _server.Respond = r => r.Path == "/api/v2/write" ? (HttpStatusCode.BadRequest, null, """{"code":"invalid","message":"writing requires points"}""") : (HttpStatusCode.NoContent, null, "");
        await using var store = V2();
        await store.InitializeAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Start_waits_for_a_server_that_is_overloaded_rather_than_stop()
    {
        _server.Respond = r => r.Path == "/api/v2/write" ? (HttpStatusCode.ServiceUnavailable, null, """{"message":"busy"}""") : (HttpStatusCode.NoContent, null, "");
        await using var store = V2();
        await Assert.ThrowsAsync<StoreUnavailableException>(() => store.InitializeAsync(CancellationToken.None));
    }

    // ---------------------------------------------------------------- a server that never answers

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task A_server_that_accepts_and_never_answers_is_unavailable_after_the_request_timeout(int apiVersion)
    {
        await using var silent = new SilentServer();
        var time = new FakeTimeProvider();
        await using var store = new InfluxDbStore(new InfluxDbStoreOptions
        {
            Url = silent.Url, ApiVersion = apiVersion, Token = "t", Org = "o", Bucket = "b",
        }, time);
        Assert.Equal(TimeSpan.FromSeconds(10), store.Options.RequestTimeout);

        var write = store.WriteAsync(Batch(), [], CancellationToken.None);
        await silent.WaitForRequestAsync();
        time.Advance(TimeSpan.FromSeconds(9.9));
        Assert.False(write.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(0.1));
        // Real seconds, far below the HTTP client's own 30-second timeout.
        var ex = await Assert.ThrowsAsync<StoreUnavailableException>(() => write.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Contains("did not answer a write within 10 s", ex.Message, StringComparison.Ordinal);

        // Start: /ping (and with API version 2 then /health), each given 10 s.
        var start = store.InitializeAsync(CancellationToken.None);
        await silent.WaitForRequestAsync(2);
        time.Advance(TimeSpan.FromSeconds(10));
        if (apiVersion == 2)
        {
            await silent.WaitForRequestAsync(3);
            time.Advance(TimeSpan.FromSeconds(10));
        }
        ex = await Assert.ThrowsAsync<StoreUnavailableException>(() => start.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Contains("did not answer /ping within 10 s", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_request_timeout_is_an_option()
    {
        await using var silent = new SilentServer();
        var time = new FakeTimeProvider();
        await using var store = new InfluxDbStore(new InfluxDbStoreOptions
        {
            Url = silent.Url, ApiVersion = 1, Bucket = "b", RequestTimeout = TimeSpan.FromSeconds(2.5),
        }, time);
        var write = store.WriteAsync(Batch(), [], CancellationToken.None);
        await silent.WaitForRequestAsync();
        time.Advance(TimeSpan.FromSeconds(2.5));
        var ex = await Assert.ThrowsAsync<StoreUnavailableException>(() => write.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Contains("within 2.5 s", ex.Message, StringComparison.Ordinal);
    }

    // ---------------------------------------------------------------- smuggling through dead letters

    private static readonly FleetRegistry Registry = FleetRegistryLoader.LoadDefault();

    /// <summary>The hostile corpus's smuggling cases as the pipeline turns them into dead letters.</summary>
    internal static List<(HostileCase Case, DeadLetter Letter)> SmugglingLetters(DateTimeOffset receivedAt)
    {
        var decoder = new DeviceMessageDecoder(Registry, new DecoderSettings());
        var letters = new List<(HostileCase, DeadLetter)>();
        var i = 0;
        foreach (var c in HostileCorpus.Build(receivedAt).Where(c => c.Name.Contains(HostileCorpus.Smuggling, StringComparison.Ordinal)))
        {
            var r = decoder.Decode(c.Topic, c.Payload, receivedAt);
            Assert.False(r.IsAccepted, c.Name);
            // Each its own microsecond, as the pipeline's dead-letter clock would place them.
            letters.Add((c, DeadLetters.Create(receivedAt.AddTicks(10 * i++), r.Rejection!.Reason.Name(), r.Rejection.BinId, "ingest-a", c.Topic, c.Payload, r.Rejection.Detail)));
        }
        Assert.True(letters.Count >= 10, $"only {letters.Count} smuggling cases");
        return letters;
    }

    [Fact]
    public async Task A_smuggled_point_stays_inside_its_dead_letter_on_the_wire()
    {
        var letters = SmugglingLetters(T0);
        await using var store = V2();
        await store.WriteAsync([], [.. letters.Select(l => l.Letter)], CancellationToken.None);

        var body = Assert.Single(DataWrites).Body;
        Assert.True(body.IndexOfAny(['\r', '\0']) < 0, "a raw CR or NUL in the body");
        var lines = body.Split('\n');
        Assert.Equal(letters.Count, lines.Length); // no LF but the ones between points
        Assert.All(lines, l => Assert.StartsWith("dead_letter,", l, StringComparison.Ordinal));
        foreach (var ((c, letter), line) in letters.Zip(lines))
        {
            // Read the line as influxd does, then undo CONTRACT §3: the exact texts come back.
            var fields = InfluxLine.Fields(line);
            Assert.Equal(["topic", "payload", "error"], fields.Keys);
            Assert.Equal((letter.Topic, letter.Payload, letter.Error),
                (LineProtocol.UnescapeText(fields["topic"]), LineProtocol.UnescapeText(fields["payload"]), LineProtocol.UnescapeText(fields["error"])));
            Assert.Equal(Encoding.UTF8.GetString(c.Payload), letter.Payload);
        }

        // One line in full: the LF, the quotes and the backslashes are escapes, nothing starts a new point.
        var lf = letters.Single(l => l.Case.Name.StartsWith("malformed-json: raw LF then", StringComparison.Ordinal));
        var payload = Encoding.UTF8.GetString(lf.Case.Payload);
        var at = payload.IndexOf('\n', StringComparison.Ordinal);
        Assert.Equal(
            "dead_letter,bin=JY-001,ingester=ingest-a,reason=malformed-json topic=\"bins/JY-001/fill\",payload=\"" +
            payload[..at].Replace("\"", "\\\"", StringComparison.Ordinal) + @"\\n" + payload[(at + 1)..] + "\",error=\"" + lf.Letter.Error.Replace("\"", "\\\"", StringComparison.Ordinal) + "\" " +
            LineProtocol.ToUnixMicroseconds(lf.Letter.ReceivedAt).ToString(System.Globalization.CultureInfo.InvariantCulture),
            lines[letters.IndexOf(lf)]);
    }

    [Fact]
    public async Task Large_batches_go_in_chunks_of_5000_lines()
    {
        await using var store = V2();
        var readings = Enumerable.Range(0, 12_001).Select(i => (Reading)new FillReading("JY-001", "c01", "paper", "recyclable", T0.AddMilliseconds(i), i, 1)).ToList();
        await store.WriteAsync(readings, [], CancellationToken.None);
        Assert.Equal([5000, 5000, 2001], _server.Requests.Select(r => r.Body.Split('\n').Length));
    }

    [Fact]
    public async Task Non_finite_numbers_are_rejected_before_anything_is_sent()
    {
        await using var store = V2();
        await Assert.ThrowsAsync<StoreRejectedException>(() => store.WriteAsync(
            [new FillReading("JY-001", "c01", "paper", "recyclable", T0, 1, double.NaN)], [], CancellationToken.None));
        Assert.Empty(_server.Requests);
    }

    [Fact]
    public async Task Cancellation_is_not_mapped_to_a_store_error()
    {
        _server.Delay = TimeSpan.FromSeconds(5);
        await using var store = V2();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.WriteAsync(Batch(), [], cts.Token));
    }
}

/// <summary>An HTTP server on a free loopback port that records every request and answers as told.</summary>
internal sealed class InfluxDbRecordingServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public InfluxDbRecordingServer()
    {
        var port = TestServices.FreePort();
        Url = new Uri($"http://127.0.0.1:{port}/");
        _listener.Prefixes.Add(Url.ToString());
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public Uri Url { get; }

    /// <summary>Status, an optional extra header and a body; default 204 with no body, and an empty result to a query.</summary>
    public Func<RecordedRequest, (HttpStatusCode Status, (string Name, string Value)? Header, string Body)> Respond { get; set; } =
        r => r.Path == "/query" ? (HttpStatusCode.OK, null, """{"results":[{"statement_id":0}]}""") : (HttpStatusCode.NoContent, null, "");

    public TimeSpan Delay { get; set; }

    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        try
        {
            var request = context.Request;
            using var raw = new MemoryStream();
            await request.InputStream.CopyToAsync(raw);
            var bytes = raw.ToArray();
            if (string.Equals(request.Headers["Content-Encoding"], "gzip", StringComparison.OrdinalIgnoreCase))
            {
                using var gz = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
                using var plain = new MemoryStream();
                await gz.CopyToAsync(plain);
                bytes = plain.ToArray();
            }
            var headers = request.Headers.AllKeys.Where(k => k is not null).ToDictionary(k => k!, k => request.Headers[k]!, StringComparer.OrdinalIgnoreCase);
            var recorded = new RecordedRequest(request.HttpMethod, request.RawUrl ?? "", headers, Encoding.UTF8.GetString(bytes));
            _requests.Enqueue(recorded);
            if (Delay > TimeSpan.Zero)
            {
                await Task.Delay(Delay, _stop.Token);
            }
            var (status, header, body) = Respond(recorded);
            context.Response.StatusCode = (int)status;
            if (header is { } h)
            {
                context.Response.Headers[h.Name] = h.Value;
            }
            var payload = Encoding.UTF8.GetBytes(body);
            if (payload.Length > 0)
            {
                context.Response.ContentType = "application/json";
                context.Response.ContentLength64 = payload.Length;
                await context.Response.OutputStream.WriteAsync(payload);
            }
            context.Response.Close();
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
        }
        catch (HttpListenerException)
        {
            // The client went away (e.g. a cancelled request).
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        // Close alone: after Stop, Close unregisters the prefixes a second time, and the managed HttpListener binds the port
        // again to do it, which fails when another test took the port meanwhile ("Address already in use").
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
        _stop.Dispose();
    }
}

internal sealed record RecordedRequest(string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, string Body)
{
    public string Path => PathAndQuery.Split('?')[0];

    public string? Header(string name) => Headers.GetValueOrDefault(name);

    public string? Query(string name) =>
        System.Web.HttpUtility.ParseQueryString(PathAndQuery.Contains('?', StringComparison.Ordinal) ? PathAndQuery[PathAndQuery.IndexOf('?', StringComparison.Ordinal)..] : "")[name];
}

/// <summary>A TCP server on a free loopback port that accepts connections, reads what comes and never answers.</summary>
internal sealed class SilentServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<TcpClient> _clients = [];
    private readonly Task _loop;
    private int _requests;

    public SilentServer()
    {
        _listener.Start();
        Url = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _loop = Task.Run(AcceptAsync);
    }

    public Uri Url { get; }

    /// <summary>Waits until <paramref name="count"/> connections have sent something (a request has begun).</summary>
    public async Task WaitForRequestAsync(int count = 1)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Volatile.Read(ref _requests) < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"no request {count} within 10 s");
            await Task.Delay(10);
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            _clients.Add(client);
            _ = Task.Run(() => ReadAsync(client));
        }
    }

    private async Task ReadAsync(TcpClient client)
    {
        var buffer = new byte[4096];
        var counted = false;
        try
        {
            var stream = client.GetStream();
            while (await stream.ReadAsync(buffer, _stop.Token) > 0)
            {
                if (!counted)
                {
                    counted = true;
                    Interlocked.Increment(ref _requests);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // The client gave up or the server stops: nothing to answer either way.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        foreach (var c in _clients)
        {
            c.Dispose();
        }
        await _loop;
        _stop.Dispose();
    }
}

/// <summary>Reads the field set of one line of line protocol the way influxd 1.x does (for checking what was sent).</summary>
internal static class InfluxLine
{
    /// <summary>The string fields of a line, in order, with influxd's unescaping of <c>\"</c> and <c>\\</c>.</summary>
    public static Dictionary<string, string> Fields(string line)
    {
        // Measurement and tags end at the first space not preceded by a backslash (influxd's own rule).
        var i = 1;
        while (i < line.Length && !(line[i] == ' ' && line[i - 1] != '\\'))
        {
            i++;
        }
        i++;
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        while (i < line.Length && line[i] != ' ')
        {
            var eq = line.IndexOf('=', i);
            var key = line[i..eq];
            Assert.Equal('"', line[eq + 1]);
            var value = new StringBuilder();
            for (i = eq + 2; line[i] != '"'; i++)
            {
                if (line[i] == '\\' && line[i + 1] is '"' or '\\')
                {
                    i++;
                }
                value.Append(line[i]);
            }
            fields.Add(key, value.ToString());
            i++;
            if (i < line.Length && line[i] == ',')
            {
                i++;
            }
        }
        return fields;
    }
}
