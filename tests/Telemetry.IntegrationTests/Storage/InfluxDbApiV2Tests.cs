using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using System.Text;
using Telemetry.Contracts.Readings;
using Telemetry.Storage;
using Telemetry.Storage.InfluxDb;

namespace Telemetry.IntegrationTests.Storage;

/// <summary>
/// What <see cref="InfluxDbStore"/> sends, checked against a local HTTP server that records requests
/// (no InfluxDB 2.x can run here): API version 2 and 1 requests, the exact line protocol, and how
/// server answers map to store exceptions.
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

    private const string ExpectedDeadLetter =
        "dead_letter,bin=JY-001,ingester=ingest-a,reason=malformed-json topic=\"bins/JY-001/fill\",payload=\"{\\\"id\\\":\\\"a,b=c d\\\"} \\\\ end\",error=\"not JSON\" 1795132801234567";

    private InfluxDbStore V2() => new(new InfluxDbStoreOptions
    {
        Url = _server.Url,
        ApiVersion = 2,
        Token = "tok-123",
        Org = "my org",
        Bucket = "bkt",
    });

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

        var writes = _server.Requests.Where(r => r.Path != "/ping").ToList();
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

        var writes = _server.Requests.Where(r => r.Path != "/ping").ToList();
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
        await store.GetHistoryAsync("x' OR 1=1 --\\", T0, T0.AddHours(1), TimeSpan.FromMinutes(15), CancellationToken.None);
        Assert.Contains(@"""bin"" = 'x\' OR 1=1 --\\' AND time >= 1795132800000000000 AND time < 1795136400000000000 GROUP BY time(900000000u)",
            Assert.Single(_server.Requests).Query("q"), StringComparison.Ordinal);
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

    /// <summary>Status, an optional extra header and a body; default 204 with no body.</summary>
    public Func<RecordedRequest, (HttpStatusCode Status, (string Name, string Value)? Header, string Body)> Respond { get; set; } =
        _ => (HttpStatusCode.NoContent, null, "");

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
        _listener.Stop();
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
