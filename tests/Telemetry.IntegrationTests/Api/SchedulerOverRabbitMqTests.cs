using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;
using Telemetry.Api.Access;
using Telemetry.Contracts.Devices;
using Telemetry.Fleet;
using Telemetry.IntegrationTests.Ingestion;
using Telemetry.Storage;
using Telemetry.Storage.InfluxDb;
using Xunit.Abstractions;

namespace Telemetry.IntegrationTests.Api;

/// <summary>
/// Ingestion, api and scheduler processes over real RabbitMQ, Mosquitto and influxd: alerts and jobs reach the api; a
/// scheduler restart and a RabbitMQ restart repeat no alert and no job and lose no reading; of two schedulers one acts, and
/// the other takes over within 30 s when it dies. In the fault collection: it stops RabbitMQ.
/// </summary>
[Collection("faults")]
public sealed class SchedulerOverRabbitMqTests(ITestOutputHelper output) : IAsyncLifetime, IDisposable
{
    private static readonly FleetRegistry Registry = FleetRegistryLoader.LoadDefault();
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..8];
    private readonly string _key = ApiKeys.NewKey();
    private readonly int _port = TestServices.FreePort();
    private readonly List<IngestionProcess> _schedulers = [];
    private IngestionProcess? _ingestion;
    private IngestionProcess? _api;
    private IMqttClient? _device;
    private HttpClient? _http;
    private long _seq = 1;

    private string Database => "sched_" + _suffix;

    private Dictionary<string, string> Common => new()
    {
        ["Storage:Backend"] = "influxdb",
        ["Storage:InfluxDb:Url"] = TestServices.InfluxUrl.ToString(),
        ["Storage:InfluxDb:ApiVersion"] = "1",
        ["Storage:InfluxDb:Bucket"] = Database,
        ["Bus:Transport"] = "rabbitmq",
        ["Bus:RabbitMq:Host"] = TestServices.RabbitMqHost,
        ["Bus:RabbitMq:Port"] = TestServices.RabbitMqPort.ToString(CultureInfo.InvariantCulture),
        ["Bus:PublishTimeout"] = "00:00:02",
        ["Scheduling:TickInterval"] = "00:00:02",
        ["Scheduling:HistoryDays"] = "2",
    };

    public async Task InitializeAsync()
    {
        await using (var store = Store(create: true))
        {
            await store.InitializeAsync(CancellationToken.None);
        }
        var ingestion = Common;
        ingestion["Mqtt:Server"] = TestServices.Mosquitto.ToString();
        ingestion["Mqtt:ClientId"] = "sched-ingest-" + _suffix;
        _ingestion = await IngestionProcess.StartAsync(ingestion);

        var api = Common;
        api["Urls"] = $"http://127.0.0.1:{_port}";
        api["Api:Keys:dispatcher-li:Role"] = "dispatcher";
        api["Api:Keys:dispatcher-li:Sha256"] = ApiKeys.Hash(_key);
        _api = await IngestionProcess.StartAsync(api, waitConnected: false, roles: "api");
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}"), Timeout = TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _key);
        await WaitUntilAsync(async () => (await TryGetAsync(_http, "/readyz"))?.IsSuccessStatusCode == true, "the api is ready", TimeSpan.FromSeconds(60));
    }

    public void Dispose()
    {
        _http?.Dispose();
        _device?.Dispose();
    }

    public async Task DisposeAsync()
    {
        foreach (var (p, i) in _schedulers.Select((p, i) => (p, i)))
        {
            output.WriteLine($"scheduler {i}:\n{p.Output}");
            await p.DisposeAsync();
        }
        if (_api is not null)
        {
            output.WriteLine("api:\n" + _api.Output);
            await _api.DisposeAsync();
        }
        if (_ingestion is not null)
        {
            await _ingestion.DisposeAsync();
        }
    }

    private InfluxDbStore Store(bool create = false) =>
        new(new InfluxDbStoreOptions { Url = TestServices.InfluxUrl, ApiVersion = 1, Bucket = Database, CreateDatabase = create });

    /// <summary>A scheduler process with its health on a port of its own; returns it and that port's client.</summary>
    private async Task<(IngestionProcess Process, HttpClient Health)> StartSchedulerAsync()
    {
        var port = TestServices.FreePort();
        var settings = Common;
        settings["Health:Url"] = $"http://127.0.0.1:{port}";
        var p = await IngestionProcess.StartAsync(settings, waitConnected: false, roles: "scheduler");
        _schedulers.Add(p);
        var health = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(5) };
        await WaitUntilAsync(async () => await ActingAsync(health) is not null, "the scheduler answers /readyz", TimeSpan.FromSeconds(60), p);
        return (p, health);
    }

    /// <summary>Whether the scheduler behind <paramref name="health"/> acts (null when it does not answer yet).</summary>
    private static async Task<bool?> ActingAsync(HttpClient health)
    {
        using var response = await TryGetAsync(health, "/readyz");
        if (response is null)
        {
            return null;
        }
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty("checks").TryGetProperty("scheduler", out var s) && s.TryGetProperty("data", out var d) && d.TryGetProperty("active", out var a)
            ? a.GetBoolean()
            : null;
    }

    /// <summary>
    /// The paper of <paramref name="bin"/> from 30 % to overflowing: a jump held until confirmed, then two cleaned readings at
    /// 96 % or more; timed a second apart by the device's clock, ending now (sent one after another, no waiting).
    /// </summary>
    /// <returns>When the broker acknowledged the reading that makes the overflow (the second cleaned one at 95 % or more).</returns>
    private async Task<long> OverflowAsync(Bin bin)
    {
        var crossing = 0L;
        double[] levels = [30.0, 31.0, 96.0, 96.5, 97.0, 97.5];
        var start = DateTimeOffset.UtcNow - TimeSpan.FromSeconds(levels.Length);
        for (var i = 0; i < levels.Length; i++)
        {
            await PublishFillAsync(bin, levels[i], start + TimeSpan.FromSeconds(i));
            if (levels[i] == 97.0)
            {
                crossing = Stopwatch.GetTimestamp();
            }
        }
        return crossing;
    }

    /// <summary>Waits until the scheduler behind <paramref name="health"/> has ticked <paramref name="ticks"/> more times (it decides on its ticks too).</summary>
    private async Task WaitForTicksAsync(HttpClient health, int ticks, IngestionProcess scheduler)
    {
        var start = await TicksAsync(health);
        await WaitUntilAsync(async () => await TicksAsync(health) >= start + ticks, $"{ticks} more scheduler ticks", TimeSpan.FromSeconds(30), scheduler);
    }

    private static async Task<long> TicksAsync(HttpClient health)
    {
        using var response = await TryGetAsync(health, "/readyz");
        if (response is null)
        {
            return -1;
        }
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty("checks").GetProperty("scheduler").GetProperty("data").GetProperty("ticks").GetInt64();
    }

    /// <summary>Reads <c>/api/alerts/stream</c> in the background; returns when the <c>raised</c> event of a kind on a bin arrived.</summary>
    private async Task<Func<string, string, long?>> ListenAsync(CancellationToken ct)
    {
        var arrivals = new System.Collections.Concurrent.ConcurrentDictionary<(string, string), long>();
        var client = new HttpClient { BaseAddress = _http!.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        client.DefaultRequestHeaders.Authorization = _http.DefaultRequestHeaders.Authorization;
        var response = await client.GetAsync("/api/alerts/stream", HttpCompletionOption.ResponseHeadersRead, ct);
        response.EnsureSuccessStatusCode();
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        _ = Task.Run(async () =>
        {
            using (client)
            using (response)
            {
                string? type = null;
                while (!ct.IsCancellationRequested && await reader.ReadLineAsync(ct) is { } line)
                {
                    if (line.StartsWith("event: ", StringComparison.Ordinal))
                    {
                        type = line[7..];
                    }
                    else if (line.StartsWith("data: ", StringComparison.Ordinal) && type == "raised")
                    {
                        using var alert = JsonDocument.Parse(line[6..]);
                        arrivals.TryAdd((alert.RootElement.GetProperty("bin").GetString()!, alert.RootElement.GetProperty("kind").GetString()!), Stopwatch.GetTimestamp());
                    }
                }
            }
        }, ct);
        return (bin, kind) => arrivals.TryGetValue((bin, kind), out var t) ? t : null;
    }

    private async Task PublishFillAsync(Bin bin, double pct, DateTimeOffset at)
    {
        var client = _device ??= new MqttClientFactory().CreateMqttClient();
        if (!client.IsConnected)
        {
            await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(TestServices.Mosquitto.Host, TestServices.Mosquitto.Port)
                .WithClientId("sched-device-" + _suffix).WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500).Build());
        }
        var ts = at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        var payload = $"{{\"v\":1,\"ts\":\"{ts}\",\"seq\":{_seq++},\"compartments\":[{{\"id\":\"paper\",\"fillPct\":{pct.ToString(CultureInfo.InvariantCulture)}}}]}}";
        var result = await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(DeviceTopics.Fill(bin.Id))
            .WithPayload(Encoding.UTF8.GetBytes(payload)).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        Assert.True(result.IsSuccess, result.ReasonString);
    }

    private async Task<JsonElement[]> GetArrayAsync(string path)
    {
        using var response = await _http!.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {body}");
        return [.. JsonDocument.Parse(body).RootElement.EnumerateArray().Select(e => e.Clone())];
    }

    private async Task<bool> ApiHasAsync(string bin, string kind) =>
        (await GetArrayAsync("/api/alerts")).Any(a => a.GetProperty("bin").GetString() == bin && a.GetProperty("kind").GetString() == kind);

    private async Task<bool> ApiHasJobAsync(string bin) =>
        (await GetArrayAsync("/api/jobs")).Any(j => j.GetProperty("bin").GetString() == bin);

    /// <summary>Every stored alert event and job event is there once: no alert raised twice, no second job for a compartment.</summary>
    private async Task AssertNoDuplicatesAsync()
    {
        await using var store = Store();
        var from = DateTimeOffset.UtcNow.AddDays(-3);
        var to = DateTimeOffset.UtcNow.AddDays(1);
        var alerts = await store.GetAlertEventsAsync(from, to, 100_000, CancellationToken.None);
        // A second raise for a bin, compartment and kind is a duplicate unless the first had cleared before it.
        var raisedTwice = new List<string>();
        foreach (var g in alerts.Where(e => e.Type == "raised").GroupBy(e => (e.BinId, e.Compartment, e.Kind)))
        {
            var raises = g.OrderBy(e => e.At).ToList();
            for (var i = 1; i < raises.Count; i++)
            {
                if (!alerts.Any(c => c.AlertId == raises[i - 1].AlertId && c.Type == "cleared" && c.At <= raises[i].At))
                {
                    raisedTwice.Add($"{raises[i - 1].AlertId} then {raises[i].AlertId}");
                }
            }
        }
        Assert.True(raisedTwice.Count == 0, "raised again while active: " + string.Join(", ", raisedTwice));
        var jobs = await store.GetJobEventsAsync(from, to, 100_000, CancellationToken.None);
        var requested = jobs.Where(j => j.Type == "requested").ToList();
        var twice = requested.SelectMany(j => j.Compartments.Select(c => (j.BinId, c))).GroupBy(x => x).Where(g => g.Count() > 1).ToList();
        Assert.True(twice.Count == 0, "a second job for " + string.Join(", ", twice.Select(g => g.Key)));
        output.WriteLine($"{alerts.Count} alert events, {requested.Count} jobs stored, none twice");
    }

    [Fact]
    public async Task Alerts_and_jobs_reach_the_api_and_a_scheduler_restart_repeats_none_and_misses_no_reading()
    {
        var (scheduler, health) = await StartSchedulerAsync();
        await WaitUntilAsync(async () => await ActingAsync(health) == true, "the scheduler acts", TimeSpan.FromSeconds(60), scheduler);
        var first = Registry.Bins[10];
        using var listening = new CancellationTokenSource();
        var arrived = await ListenAsync(listening.Token);
        var crossing = await OverflowAsync(first);
        await WaitUntilAsync(() => ApiHasAsync(first.Id, "overflow"), $"{first.Id}'s overflow alert in /api/alerts", TimeSpan.FromSeconds(30), scheduler);
        await WaitUntilAsync(() => Task.FromResult(arrived(first.Id, "overflow") is not null), "the overflow on /api/alerts/stream", TimeSpan.FromSeconds(10), scheduler);
        var delay = Stopwatch.GetElapsedTime(crossing, arrived(first.Id, "overflow")!.Value);
        output.WriteLine($"ingestion, scheduler and api in three processes: the alert reached the SSE stream {delay.TotalMilliseconds:0} ms after the broker took the reading");
        Assert.True(delay < TimeSpan.FromSeconds(2), $"the alert reached the stream {delay.TotalMilliseconds:0} ms after the reading");
        await listening.CancelAsync();
        await WaitUntilAsync(() => ApiHasJobAsync(first.Id), $"an urgent job for {first.Id} in /api/jobs", TimeSpan.FromSeconds(30), scheduler);

        await scheduler.StopAsync();
        // While no scheduler runs, another bin overflows: its readings are stored, and wait.
        var second = Registry.Bins[11];
        await OverflowAsync(second);
        Assert.False(await ApiHasAsync(second.Id, "overflow"));

        var (again, againHealth) = await StartSchedulerAsync();
        await WaitUntilAsync(async () => await ActingAsync(againHealth) == true, "the restarted scheduler acts", TimeSpan.FromSeconds(90), again);
        await WaitUntilAsync(() => ApiHasAsync(second.Id, "overflow"), $"{second.Id}'s overflow, from readings stored while no scheduler ran", TimeSpan.FromSeconds(60), again);
        await WaitUntilAsync(() => ApiHasJobAsync(second.Id), $"a job for {second.Id}", TimeSpan.FromSeconds(30), again);
        // A few more ticks: nothing of the first bin is repeated.
        await WaitForTicksAsync(againHealth, 3, again);
        await AssertNoDuplicatesAsync();
        Assert.Single(await GetArrayAsync("/api/jobs"), j => j.GetProperty("bin").GetString() == first.Id);
    }

    [Fact]
    public async Task A_RabbitMQ_restart_repeats_no_alert_or_job_and_the_readings_stored_meanwhile_are_decided_when_it_returns()
    {
        var (scheduler, health) = await StartSchedulerAsync();
        await WaitUntilAsync(async () => await ActingAsync(health) == true, "the scheduler acts", TimeSpan.FromSeconds(60), scheduler);
        var first = Registry.Bins[20];
        await OverflowAsync(first);
        await WaitUntilAsync(() => ApiHasJobAsync(first.Id), $"a job for {first.Id}", TimeSpan.FromSeconds(30), scheduler);

        var second = Registry.Bins[21];
        await TestServicesControl.StopAsync("rabbitmq");
        try
        {
            await OverflowAsync(second);
            // Without the broker nobody holds the lease: the scheduler stops acting.
            await WaitUntilAsync(async () => await ActingAsync(health) == false, "the scheduler stops acting without the broker", TimeSpan.FromSeconds(30), scheduler);
        }
        finally
        {
            await TestServicesControl.StartAsync("rabbitmq");
        }
        await WaitUntilAsync(async () => await ActingAsync(health) == true, "the scheduler acts again", TimeSpan.FromSeconds(120), scheduler);
        await WaitUntilAsync(() => ApiHasAsync(second.Id, "overflow"), $"{second.Id}'s overflow in /api/alerts", TimeSpan.FromSeconds(90), scheduler);
        await WaitUntilAsync(() => ApiHasJobAsync(second.Id), $"a job for {second.Id}", TimeSpan.FromSeconds(30), scheduler);
        await WaitForTicksAsync(health, 3, scheduler);
        await AssertNoDuplicatesAsync();
        Assert.False(scheduler.HasExited, scheduler.Output);
    }

    [Fact]
    public async Task Of_two_schedulers_one_acts_and_the_other_takes_over_within_30_seconds_when_it_dies()
    {
        var (a, aHealth) = await StartSchedulerAsync();
        await WaitUntilAsync(async () => await ActingAsync(aHealth) == true, "the first scheduler acts", TimeSpan.FromSeconds(60), a);
        var (b, bHealth) = await StartSchedulerAsync();
        // The second stands by while the first lives: checked on every look until the second has ticked 6 times (12 s, twice
        // the lease timeout: had it got the lease, it would act by then).
        var bStart = await TicksAsync(bHealth);
        await WaitUntilAsync(async () =>
        {
            Assert.True(await ActingAsync(aHealth) == true, "the first scheduler stopped acting while it lived");
            Assert.False(await ActingAsync(bHealth) == true, "two schedulers act at once");
            return await TicksAsync(bHealth) >= bStart + 6;
        }, "the second scheduler's ticks while it stands by", TimeSpan.FromSeconds(40), b);
        var first = Registry.Bins[30];
        await OverflowAsync(first);
        await WaitUntilAsync(() => ApiHasJobAsync(first.Id), $"a job for {first.Id}", TimeSpan.FromSeconds(30), a);

        await a.KillAsync();
        var died = Stopwatch.StartNew();
        await WaitUntilAsync(async () => await ActingAsync(bHealth) == true, "the second scheduler takes over", TimeSpan.FromSeconds(30), b);
        output.WriteLine($"the second scheduler acted {died.Elapsed.TotalSeconds:0.0} s after the first was killed");
        Assert.True(died.Elapsed < TimeSpan.FromSeconds(30));

        // It decides from then on, and repeats nothing of what the first decided.
        var second = Registry.Bins[31];
        await OverflowAsync(second);
        await WaitUntilAsync(() => ApiHasAsync(second.Id, "overflow"), $"{second.Id}'s overflow, decided by the second scheduler", TimeSpan.FromSeconds(30), b);
        await WaitUntilAsync(() => ApiHasJobAsync(second.Id), $"a job for {second.Id}", TimeSpan.FromSeconds(30), b);
        await WaitForTicksAsync(bHealth, 3, b);
        await AssertNoDuplicatesAsync();
        Assert.Single(await GetArrayAsync("/api/jobs"), j => j.GetProperty("bin").GetString() == first.Id);
    }

    private static async Task<HttpResponseMessage?> TryGetAsync(HttpClient client, string path)
    {
        try
        {
            return await client.GetAsync(path);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    private Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan timeout, IngestionProcess? watched = null) =>
        Eventually.UntilAsync(condition, what, timeout, TimeSpan.FromMilliseconds(250), ("the api", _api), ("the scheduler", watched));
}
