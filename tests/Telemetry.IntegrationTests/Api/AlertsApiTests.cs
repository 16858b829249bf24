using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;
using Telemetry.Api.Access;
using Telemetry.IntegrationTests.Ingestion;
using Xunit.Abstractions;

namespace Telemetry.IntegrationTests.Api;

/// <summary>
/// <c>run --roles ingestion,scheduler,api</c> as one real process (SQLite, in-memory bus, the test Mosquitto): the alert and job
/// endpoints with their roles and errors, the SSE stream and its Last-Event-ID replay, and the webhook of a critical alert.
/// </summary>
public sealed class AlertsApiTests(ITestOutputHelper output) : IAsyncLifetime, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("telemetry-alerts-").FullName;
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..8];
    private readonly ApiTestKeys _keys = ApiTestKeys.New();
    private readonly int _port = TestServices.FreePort();
    private readonly int _hookPort = TestServices.FreePort();
    private readonly ConcurrentQueue<string> _hookBodies = new();
    private int _hookCalls;
    private HttpListener? _hook;
    private IngestionProcess? _process;
    private IMqttClient? _device;
    private long _seq = 1;

    public async Task InitializeAsync()
    {
        // The webhook: refuses its first call (the scheduler must retry), then takes them.
        _hook = new HttpListener();
        _hook.Prefixes.Add($"http://127.0.0.1:{_hookPort}/");
        _hook.Start();
        _ = Task.Run(async () =>
        {
            while (_hook.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _hook.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }
                using var reader = new StreamReader(context.Request.InputStream);
                var body = await reader.ReadToEndAsync();
                var call = Interlocked.Increment(ref _hookCalls);
                if (call > 1)
                {
                    _hookBodies.Enqueue(body);
                }
                context.Response.StatusCode = call == 1 ? 500 : 204;
                context.Response.Close();
            }
        });
        var settings = new Dictionary<string, string>
        {
            ["Mqtt:Server"] = TestServices.Mosquitto.ToString(),
            ["Mqtt:ClientId"] = "alerts-ingest-" + _suffix,
            ["Storage:Sqlite:Path"] = Path.Combine(_dir, "telemetry.db"),
            ["Urls"] = $"http://127.0.0.1:{_port}",
            ["Api:Keys:analyst-zhao:Role"] = "analyst",
            ["Api:Keys:analyst-zhao:Sha256"] = ApiKeys.Hash(_keys.Analyst),
            ["Api:Keys:dispatcher-li:Role"] = "dispatcher",
            ["Api:Keys:dispatcher-li:Sha256"] = ApiKeys.Hash(_keys.Dispatcher),
            ["Alerts:Webhooks:duty"] = $"http://127.0.0.1:{_hookPort}/hook",
            ["Scheduling:TickInterval"] = "00:00:02",
        };
        _process = await IngestionProcess.StartAsync(settings, roles: "ingestion,scheduler,api");
        using var client = Client(_keys.Analyst);
        await WaitUntilAsync(async () =>
        {
            try
            {
                return (await client.GetAsync("/readyz")).IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false; // not listening yet
            }
        }, "ready", TimeSpan.FromSeconds(60));
        _device = new MqttClientFactory().CreateMqttClient();
        await _device.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(TestServices.Mosquitto.Host, TestServices.Mosquitto.Port)
            .WithClientId("alerts-device-" + _suffix).WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500).Build());
    }

    public async Task DisposeAsync()
    {
        if (_process is not null)
        {
            output.WriteLine(_process.Output);
            await _process.DisposeAsync();
        }
        _hook?.Close();
    }

    public void Dispose()
    {
        _device?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private HttpClient Client(string? key, TimeSpan? timeout = null)
    {
        var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}"), Timeout = timeout ?? TimeSpan.FromSeconds(30) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        return client;
    }

    private DateTimeOffset _lastTs;

    /// <summary>A status of <paramref name="bin"/> timed now, and always a millisecond at least after the last one (distinct instants without waiting).</summary>
    private async Task StatusAsync(string bin, string fields)
    {
        var now = DateTimeOffset.UtcNow;
        _lastTs = now > _lastTs.AddMilliseconds(1) ? now : _lastTs.AddMilliseconds(1);
        var ts = _lastTs.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        var payload = $"{{\"v\":1,\"ts\":\"{ts}\",\"seq\":{_seq++},{fields}}}";
        var result = await _device!.PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"bins/{bin}/status")
            .WithPayload(Encoding.UTF8.GetBytes(payload)).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        Assert.True(result.IsSuccess, result.ReasonString);
    }

    /// <summary>An open SSE connection: its events (type, id, alert) as they come.</summary>
    private sealed class Stream(HttpClient client, HttpResponseMessage response) : IDisposable
    {
        public ConcurrentQueue<(string Type, long Id, JsonElement Alert)> Events { get; } = new();

        public static async Task<Stream> OpenAsync(HttpClient client, long? lastEventId = null)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/alerts/stream");
            if (lastEventId is { } id)
            {
                request.Headers.Add("Last-Event-ID", id.ToString(CultureInfo.InvariantCulture));
            }
            var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            response.EnsureSuccessStatusCode();
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            var stream = new Stream(client, response);
            var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            _ = Task.Run(async () =>
            {
                string? type = null;
                long id = 0;
                try
                {
                    while (await reader.ReadLineAsync() is { } line)
                    {
                        if (line.StartsWith("event: ", StringComparison.Ordinal))
                        {
                            type = line[7..];
                        }
                        else if (line.StartsWith("id: ", StringComparison.Ordinal))
                        {
                            id = long.Parse(line[4..], CultureInfo.InvariantCulture);
                        }
                        else if (line.StartsWith("data: ", StringComparison.Ordinal))
                        {
                            stream.Events.Enqueue((type!, id, JsonDocument.Parse(line[6..]).RootElement.Clone()));
                        }
                    }
                }
                catch (Exception ex) when (ex is IOException or ObjectDisposedException or HttpRequestException or OperationCanceledException)
                {
                    // Closed by the test.
                }
            });
            return stream;
        }

        public (string Type, long Id, JsonElement Alert)? Find(string type, string bin, string kind) =>
            Events.Where(e => e.Type == type && e.Alert.GetProperty("bin").GetString() == bin && e.Alert.GetProperty("kind").GetString() == kind)
                .Select(e => ((string, long, JsonElement)?)e).FirstOrDefault();

        public void Dispose()
        {
            response.Dispose();
            client.Dispose();
        }
    }

    [Fact]
    public async Task The_stream_pushes_alert_events_and_Last_Event_ID_replays_what_a_client_missed()
    {
        using var first = await Stream.OpenAsync(Client(_keys.Analyst, Timeout.InfiniteTimeSpan));
        await StatusAsync("JY-041", "\"tilt\":true");
        await WaitUntilAsync(() => Task.FromResult(first.Find("raised", "JY-041", "tilt") is not null), "the tilt's raise on the stream", TimeSpan.FromSeconds(10));
        var raised = first.Find("raised", "JY-041", "tilt")!.Value;
        Assert.Equal("warning", raised.Alert.GetProperty("severity").GetString());
        Assert.Equal(JsonValueKind.Null, raised.Alert.GetProperty("compartment").ValueKind);
        first.Dispose();

        // While the client is away: the tilt clears and another bin tilts.
        await StatusAsync("JY-041", "\"tilt\":false");
        await StatusAsync("JY-042", "\"tilt\":true");
        using var analyst = Client(_keys.Analyst);
        await WaitUntilAsync(async () => (await AlertsAsync(analyst, "active")).Any(a => a.GetProperty("bin").GetString() == "JY-042" && a.GetProperty("kind").GetString() == "tilt"), "JY-042's tilt in /api/alerts", TimeSpan.FromSeconds(10));
        using var again = await Stream.OpenAsync(Client(_keys.Analyst, Timeout.InfiniteTimeSpan), raised.Id);
        await WaitUntilAsync(() => Task.FromResult(again.Find("raised", "JY-042", "tilt") is not null && again.Find("cleared", "JY-041", "tilt") is not null),
            "the missed clear and raise replayed", TimeSpan.FromSeconds(10));
        Assert.Null(again.Find("raised", "JY-041", "tilt")); // what it had seen is not sent again
        var ids = again.Events.Select(e => e.Id).ToList();
        Assert.Equal(ids.Order().ToList(), ids);
        Assert.All(ids, id => Assert.True(id > raised.Id));

        // The history: cleared and all.
        var cleared = await AlertsAsync(analyst, "cleared");
        var tilt = Assert.Single(cleared, a => a.GetProperty("bin").GetString() == "JY-041" && a.GetProperty("kind").GetString() == "tilt");
        Assert.NotEqual(JsonValueKind.Null, tilt.GetProperty("clearedAt").ValueKind);
        Assert.Contains(await AlertsAsync(analyst, "all"), a => a.GetProperty("bin").GetString() == "JY-042" && a.GetProperty("kind").GetString() == "tilt");
    }

    [Fact]
    public async Task Acknowledging_needs_a_dispatcher_records_the_key_name_and_answers_404_and_409()
    {
        await StatusAsync("JY-043", "\"tilt\":true");
        using var analyst = Client(_keys.Analyst);
        using var dispatcher = Client(_keys.Dispatcher);
        await WaitUntilAsync(async () => (await AlertsAsync(analyst, "active")).Any(a => a.GetProperty("bin").GetString() == "JY-043" && a.GetProperty("kind").GetString() == "tilt"), "JY-043's tilt", TimeSpan.FromSeconds(10));
        var id = (await AlertsAsync(analyst, "active")).First(a => a.GetProperty("bin").GetString() == "JY-043" && a.GetProperty("kind").GetString() == "tilt").GetProperty("id").GetString()!;
        var path = $"/api/alerts/{Uri.EscapeDataString(id)}/ack";

        Assert.Equal(HttpStatusCode.Unauthorized, (await Client(null).PostAsync(path, null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await analyst.PostAsync(path, null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await dispatcher.PostAsync(path, null)).StatusCode);
        var acked = (await AlertsAsync(analyst, "active")).First(a => a.GetProperty("id").GetString() == id);
        Assert.Equal("dispatcher-li", acked.GetProperty("acknowledgedBy").GetString());
        Assert.NotEqual(JsonValueKind.Null, acked.GetProperty("acknowledgedAt").ValueKind);

        Assert.Equal(HttpStatusCode.NotFound, (await dispatcher.PostAsync($"/api/alerts/{Uri.EscapeDataString("JY-043:-:fire:1")}/ack", null)).StatusCode);
        await StatusAsync("JY-043", "\"tilt\":false");
        await WaitUntilAsync(async () => !(await AlertsAsync(analyst, "active")).Any(a => a.GetProperty("id").GetString() == id), "the tilt cleared", TimeSpan.FromSeconds(10));
        var conflict = await dispatcher.PostAsync(path, null);
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal("application/problem+json", conflict.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Bad_query_parameters_get_a_400_naming_the_parameter()
    {
        using var analyst = Client(_keys.Analyst);
        foreach (var (query, parameter) in new[] { ("state=open", "state"), ("limit=0", "limit"), ("limit=x", "limit"), ("from=yesterday", "from"),
            ("from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z", "to") })
        {
            var response = await analyst.GetAsync("/api/alerts?" + query);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal(parameter, problem.RootElement.GetProperty("parameter").GetString());
        }
        Assert.Equal(HttpStatusCode.BadRequest, (await analyst.GetAsync("/api/jobs?state=done")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Client(null).GetAsync("/api/alerts")).StatusCode);
    }

    [Fact]
    public async Task A_dispatcher_requests_completes_and_cancels_jobs_and_conflicts_and_bad_bodies_are_refused()
    {
        using var analyst = Client(_keys.Analyst);
        using var dispatcher = Client(_keys.Dispatcher);
        Assert.Equal(HttpStatusCode.Forbidden, (await analyst.PostAsJsonAsync("/api/jobs", new { bin = "JY-044", compartments = new[] { "paper" } })).StatusCode);

        var created = await dispatcher.PostAsJsonAsync("/api/jobs", new { bin = "JY-044", compartments = new[] { "paper", "plastic" } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var job = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        var id = job.RootElement.GetProperty("id").GetString()!;
        Assert.Equal("manual", job.RootElement.GetProperty("reason").GetString());
        Assert.Equal("dispatcher-li", job.RootElement.GetProperty("requestedBy").GetString());
        Assert.Equal("requested", job.RootElement.GetProperty("state").GetString());

        Assert.Equal(HttpStatusCode.Conflict, (await dispatcher.PostAsJsonAsync("/api/jobs", new { bin = "JY-044", compartments = new[] { "plastic" } })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await dispatcher.PostAsJsonAsync("/api/jobs", new { bin = "JY-999", compartments = new[] { "paper" } })).StatusCode);
        foreach (var body in new[] { "{}", "not json", "{\"bin\":\"JY-044\",\"compartments\":[]}", "{\"bin\":\"JY-045\",\"compartments\":[\"paper\",\"kitchen\"]}", "{\"bin\":\"JY-045\",\"compartments\":[\"gold\"]}" })
        {
            var bad = await dispatcher.PostAsync("/api/jobs", new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.True(bad.StatusCode == HttpStatusCode.BadRequest, $"{body}: {(int)bad.StatusCode} {await bad.Content.ReadAsStringAsync()}");
        }

        var open = await GetArrayAsync(analyst, "/api/jobs");
        Assert.Contains(open, j => j.GetProperty("id").GetString() == id);
        var path = $"/api/jobs/{Uri.EscapeDataString(id)}";
        var completed = await dispatcher.PostAsync(path + "/complete", null);
        Assert.Equal(HttpStatusCode.OK, completed.StatusCode);
        using (var done = JsonDocument.Parse(await completed.Content.ReadAsStringAsync()))
        {
            Assert.Equal("completed", done.RootElement.GetProperty("state").GetString());
        }
        Assert.Equal(HttpStatusCode.Conflict, (await dispatcher.PostAsync(path + "/cancel", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await dispatcher.PostAsync("/api/jobs/JY-044:recyclable:1/complete", null)).StatusCode);
        Assert.DoesNotContain(await GetArrayAsync(analyst, "/api/jobs"), j => j.GetProperty("id").GetString() == id);
        Assert.Contains(await GetArrayAsync(analyst, "/api/jobs?state=completed"), j => j.GetProperty("id").GetString() == id);

        // Its compartments are free again: a new job may cover them, and be cancelled.
        var next = await dispatcher.PostAsJsonAsync("/api/jobs", new { bin = "JY-044", compartments = new[] { "plastic" } });
        Assert.Equal(HttpStatusCode.Created, next.StatusCode);
        using var nextJob = JsonDocument.Parse(await next.Content.ReadAsStringAsync());
        var cancelled = await dispatcher.PostAsync($"/api/jobs/{Uri.EscapeDataString(nextJob.RootElement.GetProperty("id").GetString()!)}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
    }

    [Fact]
    public async Task A_critical_alert_is_posted_to_the_webhook_and_a_refused_call_is_retried()
    {
        await StatusAsync("JY-046", "\"tempC\":78.5");
        await WaitUntilAsync(() => Task.FromResult(_hookBodies.Any(b => b.Contains("JY-046", StringComparison.Ordinal))), "the fire alert at the webhook", TimeSpan.FromSeconds(20));
        using var body = JsonDocument.Parse(_hookBodies.First(b => b.Contains("JY-046", StringComparison.Ordinal)));
        Assert.Equal("raised", body.RootElement.GetProperty("event").GetString());
        Assert.Equal("fire", body.RootElement.GetProperty("alert").GetProperty("kind").GetString());
        Assert.Equal("critical", body.RootElement.GetProperty("alert").GetProperty("severity").GetString());
        Assert.True(Volatile.Read(ref _hookCalls) >= 2, "the first call was refused: the alert came on a retry");
        // A warning goes nowhere: the critical alert raised after it reaches the webhook (in order), the warning does not.
        await StatusAsync("JY-047", "\"tilt\":true");
        await StatusAsync("JY-048", "\"tempC\":80");
        await WaitUntilAsync(() => Task.FromResult(_hookBodies.Any(b => b.Contains("JY-048", StringComparison.Ordinal))), "the later fire alert at the webhook", TimeSpan.FromSeconds(20));
        using var analyst = Client(_keys.Analyst);
        Assert.Contains(await AlertsAsync(analyst, "active"), a => a.GetProperty("bin").GetString() == "JY-047" && a.GetProperty("kind").GetString() == "tilt");
        Assert.DoesNotContain(_hookBodies, b => b.Contains("JY-047", StringComparison.Ordinal));
    }

    private static async Task<JsonElement[]> AlertsAsync(HttpClient client, string state) => await GetArrayAsync(client, "/api/alerts?state=" + state);

    private static async Task<JsonElement[]> GetArrayAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {text}");
        return [.. JsonDocument.Parse(text).RootElement.EnumerateArray().Select(e => e.Clone())];
    }

    private Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan timeout) =>
        Eventually.UntilAsync(condition, what, timeout, TimeSpan.FromMilliseconds(100), ("telemetry", _process));
}
