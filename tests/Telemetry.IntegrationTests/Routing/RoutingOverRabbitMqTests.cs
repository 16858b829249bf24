using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MassTransit;
using Telemetry.Contracts.Messages;
using Telemetry.Fleet;
using Telemetry.IntegrationTests.Ingestion;
using Telemetry.Storage;
using Telemetry.Storage.InfluxDb;
using Xunit.Abstractions;

namespace Telemetry.IntegrationTests.Routing;

/// <summary>
/// Routing workers as processes over real RabbitMQ and influxd: of two workers one plans (each plan made once, with every job
/// of its stream), a job for an unknown bin faults alone (error queue, log, metric), the other worker takes over when the first
/// dies without planning a shift again, and jobs published while no worker runs and RabbitMQ restarts are planned once a worker
/// returns (the durable queue kept them). In the fault collection: it stops RabbitMQ.
/// </summary>
[Collection("faults")]
public sealed class RoutingOverRabbitMqTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly FleetRegistry Registry = FleetRegistryLoader.LoadDefault();
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..8];
    private readonly List<IngestionProcess> _workers = [];
    private readonly ConcurrentQueue<RoutePlanned> _plans = new();
    private readonly ConcurrentQueue<Fault<CollectionJobRequested>> _faults = new();
    private IBusControl? _bus;

    private string Database => "routing_" + _suffix;

    private Dictionary<string, string> Settings(int healthPort) => new()
    {
        ["Storage:Backend"] = "influxdb",
        ["Storage:InfluxDb:Url"] = TestServices.InfluxUrl.ToString(),
        ["Storage:InfluxDb:ApiVersion"] = "1",
        ["Storage:InfluxDb:Bucket"] = Database,
        ["Bus:Transport"] = "rabbitmq",
        ["Bus:RabbitMq:Host"] = TestServices.RabbitMqHost,
        ["Bus:RabbitMq:Port"] = TestServices.RabbitMqPort.ToString(CultureInfo.InvariantCulture),
        ["Bus:PublishTimeout"] = "00:00:02",
        // Every stream's next shift is within a day: each is due as soon as it has a job.
        ["Routing:LeadTime"] = "1.00:00:00",
        ["Routing:TickInterval"] = "00:00:01",
        ["Routing:SolverTime"] = "00:00:01",
        ["Health:Url"] = $"http://127.0.0.1:{healthPort}",
    };

    public async Task InitializeAsync()
    {
        await using (var store = Store(create: true))
        {
            await store.InitializeAsync(CancellationToken.None);
        }
        _bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(TestServices.RabbitMqHost, (ushort)TestServices.RabbitMqPort, "/", h =>
            {
                h.Username("guest");
                h.Password("guest");
            });
            cfg.ReceiveEndpoint($"test-routing-{_suffix}", e =>
            {
                e.AutoDelete = true;
                e.Durable = false;
                e.Handler<RoutePlanned>(c =>
                {
                    _plans.Enqueue(c.Message);
                    return Task.CompletedTask;
                });
                e.Handler<Fault<CollectionJobRequested>>(c =>
                {
                    _faults.Enqueue(c.Message);
                    return Task.CompletedTask;
                });
            });
        });
        await _bus.StartAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
    }

    public async Task DisposeAsync()
    {
        foreach (var (p, i) in _workers.Select((p, i) => (p, i)))
        {
            output.WriteLine($"worker {i}:\n{p.Output}");
            await p.DisposeAsync();
        }
        if (_bus is not null)
        {
            await _bus.StopAsync();
        }
    }

    private InfluxDbStore Store(bool create = false) =>
        new(new InfluxDbStoreOptions { Url = TestServices.InfluxUrl, ApiVersion = 1, Bucket = Database, CreateDatabase = create });

    private async Task<(IngestionProcess Process, HttpClient Health)> StartWorkerAsync()
    {
        var port = TestServices.FreePort();
        var p = await IngestionProcess.StartAsync(Settings(port), waitConnected: false, roles: "routing");
        _workers.Add(p);
        var health = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(5) };
        await WaitUntilAsync(async () => await RoutingDataAsync(health) is not null, "the routing worker answers /readyz", TimeSpan.FromSeconds(60), p);
        return (p, health);
    }

    private static async Task<JsonElement?> RoutingDataAsync(HttpClient health)
    {
        try
        {
            using var response = await health.GetAsync("/readyz");
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return doc.RootElement.GetProperty("checks").TryGetProperty("routing", out var r) && r.TryGetProperty("data", out var d) ? d.Clone() : null;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException)
        {
            return null;
        }
    }

    private static async Task<bool> ActiveAsync(HttpClient health) => await RoutingDataAsync(health) is { } d && d.GetProperty("active").GetBoolean();

    private static async Task<long> PlansMadeAsync(HttpClient health) => await RoutingDataAsync(health) is { } d ? d.GetProperty("plansMade").GetInt64() : -1;

    /// <summary>A job as the scheduler makes it: stored first, then published.</summary>
    private async Task<CollectionJobInfo> RequestAsync(string bin, string stream, string[] compartments, bool store = true)
    {
        var now = DateTimeOffset.UtcNow;
        var job = new CollectionJobInfo($"{bin}:{stream}:{_suffix}:{Guid.NewGuid():N}", bin, compartments, stream, "threshold", "normal", null, now.AddDays(1),
            "requested", null, now, "scheduler", null, null, null);
        if (store)
        {
            await using var s = Store();
            await s.WriteJobEventsAsync([new StoredJobEvent("requested", now, job.Id, bin, Registry.FindBin(bin)?.Community ?? "unknown", compartments, stream,
                job.Reason, job.Priority, null, job.Deadline, job.State, null, now, job.RequestedBy, null, null, null, "scheduler")], CancellationToken.None);
        }
        await _bus!.Publish(new CollectionJobRequested(job));
        return job;
    }

    private static HashSet<string> JobsOf(RoutePlanned plan) =>
        plan.Routes.SelectMany(r => r.Stops).Where(s => s.JobId is not null).Select(s => s.JobId!).ToHashSet(StringComparer.Ordinal);

    private static HashSet<string> Routed(RoutePlanned plan) => [.. JobsOf(plan), .. plan.Unserved.Select(u => u.JobId)];

    [Fact]
    public async Task One_of_two_workers_plans_each_shift_once_with_all_its_jobs_and_the_other_takes_over_without_planning_it_again()
    {
        var (a, aHealth) = await StartWorkerAsync();
        var (b, bHealth) = await StartWorkerAsync();
        await WaitUntilAsync(async () => await ActiveAsync(aHealth) || await ActiveAsync(bHealth), "a routing worker plans", TimeSpan.FromSeconds(60), a);

        var kitchen = new List<CollectionJobInfo>();
        foreach (var bin in Registry.Bins.Take(8))
        {
            kitchen.Add(await RequestAsync(bin.Id, "kitchen", ["kitchen"]));
        }
        var unknown = await RequestAsync("JY-999", "kitchen", ["kitchen"], store: false);
        var recyclable = new List<CollectionJobInfo>();
        foreach (var bin in Registry.Bins.Skip(10).Take(5))
        {
            recyclable.Add(await RequestAsync(bin.Id, "recyclable", ["paper", "glass"]));
        }

        // The unknown bin's job faults alone, without retries.
        await WaitUntilAsync(() => Task.FromResult(_faults.Any(f => f.Message.Job.Id == unknown.Id)), "the fault of the unknown bin's job", TimeSpan.FromSeconds(60), a);
        // Each stream's plan routes every job of ours (served or said why not); the first plan of the kitchen shift may have been
        // made before the last job arrived: then that job waits for the next shift. Our jobs all went out before any tick could
        // plan with some of them only if the tick fell in between; count what the plans routed.
        await WaitUntilAsync(() => Task.FromResult(_plans.Any(p => p.Stream == "kitchen") && _plans.Any(p => p.Stream == "recyclable")), "kitchen and recyclable plans", TimeSpan.FromSeconds(60), a);
        var kitchenPlan = _plans.First(p => p.Stream == "kitchen");
        Assert.Contains(kitchen[0].Id, Routed(kitchenPlan));
        Assert.DoesNotContain(unknown.Id, Routed(kitchenPlan));
        Assert.All(kitchenPlan.Routes, r => Assert.Equal(WasteStream.Kitchen, Registry.Vehicles.Single(v => v.Id == r.Vehicle).Stream));
        var recyclablePlans = _plans.Where(p => p.Stream == "recyclable").ToList();
        Assert.Contains(recyclable[0].Id, recyclablePlans.SelectMany(Routed));

        var (active, activeHealth, standby, standbyHealth) = await ActiveAsync(aHealth) ? (a, aHealth, b, bHealth) : (b, bHealth, a, aHealth);
        Assert.False(await ActiveAsync(standbyHealth), "two workers plan at once");
        Assert.Equal(0, await PlansMadeAsync(standbyHealth));
        var made = await PlansMadeAsync(activeHealth);
        Assert.True(made >= 2, $"the active worker made {made} plan(s)");
        Assert.Contains("no bin 'JY-999'", active.Output, StringComparison.Ordinal);
        using (var metricsResponse = await activeHealth.GetAsync("/metrics"))
        {
            var metrics = await metricsResponse.Content.ReadAsStringAsync();
            Assert.Contains("telemetry_routing_jobs_rejected", metrics, StringComparison.Ordinal);
        }

        // Stored once each: one revision 1 per plan id.
        await using (var store = Store())
        {
            var stored = await store.GetRoutePlansAsync(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2), CancellationToken.None);
            Assert.All(stored.GroupBy(p => (p.PlanId, p.Revision)), g => Assert.Single(g));
            Assert.Contains(stored, p => p.PlanId == kitchenPlan.PlanId);
        }

        await active.KillAsync();
        var killed = Stopwatch.StartNew();
        await WaitUntilAsync(() => ActiveAsync(standbyHealth), "the standby takes over", TimeSpan.FromSeconds(30), standby);
        output.WriteLine($"takeover after {killed.Elapsed.TotalSeconds:0.0} s");
        await WaitUntilAsync(async () => await RoutingDataAsync(standbyHealth) is { } d && d.GetProperty("currentPlans").GetInt32() >= 2,
            "the standby restored the stored plans", TimeSpan.FromSeconds(30), standby);
        // Three ticks later it has planned none of those shifts again: it republishes the current plans as they are (the same
        // plan ids and revisions), and makes no new one.
        var plansSeen = _plans.Select(p => (p.PlanId, p.Revision)).ToHashSet();
        var ticks = (await RoutingDataAsync(standbyHealth))!.Value.GetProperty("ticks").GetInt64();
        await WaitUntilAsync(async () => await RoutingDataAsync(standbyHealth) is { } d && d.GetProperty("ticks").GetInt64() >= ticks + 3, "three ticks of the new holder", TimeSpan.FromSeconds(30), standby);
        Assert.Equal(0, await PlansMadeAsync(standbyHealth));
        Assert.Subset(plansSeen, _plans.Select(p => (p.PlanId, p.Revision)).ToHashSet());
    }

    [Fact]
    public async Task Jobs_published_while_no_worker_runs_and_RabbitMQ_restarts_are_planned_when_a_worker_returns()
    {
        // The worker declares its durable queue, then goes.
        var (first, firstHealth) = await StartWorkerAsync();
        await WaitUntilAsync(() => ActiveAsync(firstHealth), "the worker plans", TimeSpan.FromSeconds(60), first);
        await first.StopAsync();

        // Not stored: only the queue has them.
        var jobs = new List<CollectionJobInfo>();
        foreach (var bin in Registry.Bins.Skip(30).Take(4))
        {
            jobs.Add(await RequestAsync(bin.Id, "hazardous", ["hazardous"], store: false));
        }
        await TestServicesControl.StopAsync("rabbitmq");
        await TestServicesControl.StartAsync("rabbitmq");
        await WaitUntilAsync(() => Task.FromResult(_bus!.CheckHealth().Status == BusHealthStatus.Healthy), "the test's bus is back", TimeSpan.FromSeconds(120));

        var (again, _) = await StartWorkerAsync();
        await WaitUntilAsync(() => Task.FromResult(_plans.Any(p => p.Stream == "hazardous" && jobs.All(j => Routed(p).Contains(j.Id)))),
            "a hazardous plan with every job published while no worker ran", TimeSpan.FromSeconds(120), again);
    }

    private static Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan timeout, IngestionProcess? watched = null) =>
        Eventually.UntilAsync(condition, what, timeout, TimeSpan.FromMilliseconds(200), ("a worker", watched));
}
