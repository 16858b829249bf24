using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Telemetry.Api.State;
using Telemetry.Contracts.Messages;
using Telemetry.Contracts.Readings;
using Telemetry.Contracts.Time;
using Telemetry.Fleet;
using Telemetry.Messaging;
using Telemetry.Scheduling;
using Telemetry.Scheduling.Alerts;
using Telemetry.Scheduling.Hosting;
using Telemetry.Scheduling.Signal;
using Telemetry.Storage;

namespace Telemetry.UnitTests.Scheduling;

/// <summary>
/// The scheduler role through MassTransit's test harness, on a fake clock and a fake store: what it publishes, what the api's
/// projection consumes, the commands it answers, and what a restart adopts from the store. No <c>Fault&lt;T&gt;</c> anywhere.
/// </summary>
public sealed class SchedulerServiceTests : IDisposable
{
    private static readonly FleetRegistry Registry = FleetRegistryLoader.LoadDefault();

    // 2026-11-02 10:00 local: the recyclables' shifts are 07–15 and 13–21.
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 2, 2, 0, 0, TimeSpan.Zero));
    private readonly FakeStore _store = new();
    private readonly string _lock = Path.Combine(Path.GetTempPath(), $"scheduler-test-{Guid.NewGuid():N}.lock");

    public void Dispose() => File.Delete(_lock);

    private ServiceProvider Build()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(Registry);
        services.AddSingleton<ITelemetryStore>(_store);
        services.AddSingleton(new TelemetryClock(_time));
        services.AddSingleton(Options.Create(new SchedulingOptions { HistoryDays = 2, LockPath = _lock, TickInterval = TimeSpan.FromMinutes(1) }));
        services.AddSingleton(Options.Create(new AlertSettings()));
        services.AddSingleton(Options.Create(new BusOptions()));
        services.AddSingleton<ISchedulerLease, InProcessLease>();
        services.AddSingleton<AlertWebhooks>();
        services.AddSingleton<SchedulerService>();
        services.AddSingleton<IFillSignalListener>(sp => sp.GetRequiredService<SchedulerService>());
        services.AddSingleton<FillIntelligence>();
        services.AddSingleton<AlertBoard>();
        services.AddSingleton<JobBoard>();
        services.AddMassTransitTestHarness(x =>
        {
            x.AddConsumer<SchedulerCommandConsumer, SchedulerCommandConsumerDefinition>();
            x.AddConsumer<SchedulingEventsConsumer, SchedulingEventsConsumerDefinition>();
            x.AddConsumer<IngestionConnectionConsumer, IngestionConnectionConsumerDefinition>();
            x.AddRequestClient<AcknowledgeAlert>(SchedulerHosting.Address);
            x.AddRequestClient<RequestCollectionJob>(SchedulerHosting.Address);
        });
        return services.BuildServiceProvider(true);
    }

    private static async Task StartAsync(ServiceProvider provider)
    {
        await provider.GetRequiredService<ITestHarness>().Start();
        await provider.GetRequiredService<FillIntelligence>().StartAsync(CancellationToken.None);
        await provider.GetRequiredService<SchedulerService>().StartAsync(CancellationToken.None);
        await WaitUntil(() => provider.GetRequiredService<SchedulerService>().Active, "the scheduler acts");
    }

    private static async Task StopAsync(ServiceProvider provider)
    {
        await provider.GetRequiredService<SchedulerService>().StopAsync(CancellationToken.None);
        await provider.GetRequiredService<FillIntelligence>().StopAsync(CancellationToken.None);
        await provider.GetRequiredService<ITestHarness>().Stop();
        await provider.DisposeAsync();
    }

    /// <summary>JY-001 paper rising from 60 to 98 % in 2-point steps every 10 minutes, stored and announced.</summary>
    private async Task FillUpAsync(ServiceProvider provider, string bin = "JY-001", string compartment = "paper")
    {
        var b = Registry.FindBin(bin)!;
        var stream = b.Compartments.Single(c => c.Id == compartment).Stream.Name();
        var start = _time.GetUtcNow() - TimeSpan.FromHours(4);
        var readings = Enumerable.Range(0, 20).Select(i => (Reading)new FillReading(bin, b.Community, compartment, stream, start + TimeSpan.FromMinutes(10 * i), i + 1, 60 + (2 * i))).ToList();
        await _store.WriteAsync(readings, [], CancellationToken.None);
        provider.GetRequiredService<FillIntelligence>().Notify([bin]);
    }

    /// <summary>Waits (10 s at most) until a message of the kind that matches has been published.</summary>
    private static Task Published<T>(ITestHarness harness, Func<IPublishedMessage<T>, bool> match)
        where T : class => WaitUntil(() => harness.Published.Select<T>().Any(match), $"a {typeof(T).Name} as expected is published");

    private static async Task WaitUntil(Func<bool> condition, string what)
    {
        var deadline = TimeProvider.System.GetTimestamp() + (10 * TimeProvider.System.TimestampFrequency);
        while (!condition())
        {
            if (TimeProvider.System.GetTimestamp() > deadline)
            {
                Assert.Fail($"timed out waiting for: {what}");
            }
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task A_compartment_filling_past_the_threshold_raises_alerts_stored_published_and_projected_without_faults()
    {
        var provider = Build();
        await StartAsync(provider);
        try
        {
            await FillUpAsync(provider);
            var harness = provider.GetRequiredService<ITestHarness>();
            await Published<AlertChanged>(harness, m => m.Context.Message.Type == "raised" && m.Context.Message.Alert.Kind == AlertKinds.Fill && m.Context.Message.Alert.Bin == "JY-001");
            await Published<AlertChanged>(harness, m => m.Context.Message.Type == "raised" && m.Context.Message.Alert.Kind == AlertKinds.Overflow);
            var board = provider.GetRequiredService<AlertBoard>();
            await WaitUntil(() => board.Query("active", null, null, 100).Any(a => a.Kind == AlertKinds.Overflow && a.Compartment == "paper"), "the api's board shows the overflow");
            var stored = await _store.GetAlertEventsAsync(DateTimeOffset.MinValue.AddYears(1), DateTimeOffset.MaxValue.AddYears(-1), 1000, CancellationToken.None);
            Assert.Contains(stored, e => e.Kind == AlertKinds.Overflow && e.Type == "raised" && e.Compartment == "paper" && e.Severity == Severities.Critical);

            // The overflowing compartment needs a truck: an urgent job at the tick.
            _time.Advance(TimeSpan.FromMinutes(1));
            await Published<CollectionJobRequested>(harness, m => m.Context.Message.Job.Bin == "JY-001" && m.Context.Message.Job.Compartments.Contains("paper") && m.Context.Message.Job.Priority == "urgent");
            await WaitUntil(() => provider.GetRequiredService<JobBoard>().Query("open", null, null, 10).Any(j => j.Bin == "JY-001"), "the api's board shows the job");
            Assert.False(await harness.Published.Any<Fault>());
        }
        finally
        {
            await StopAsync(provider);
        }
    }

    [Fact]
    public async Task Acknowledging_over_the_bus_records_the_key_name_and_an_unknown_alert_is_not_found()
    {
        var provider = Build();
        await StartAsync(provider);
        try
        {
            await FillUpAsync(provider);
            var board = provider.GetRequiredService<AlertBoard>();
            await WaitUntil(() => board.Query("active", null, null, 100).Any(a => a.Kind == AlertKinds.Fill), "a fill alert");
            var alert = board.Query("active", null, null, 100).First(a => a.Kind == AlertKinds.Fill);
            using var scope = provider.CreateScope();
            var client = scope.ServiceProvider.GetRequiredService<IRequestClient<AcknowledgeAlert>>();
            var answer = await client.GetResponse<AlertCommandResult>(new AcknowledgeAlert(alert.Id, "dispatcher-li"));
            Assert.Equal("acknowledged", answer.Message.Status);
            Assert.Equal("dispatcher-li", answer.Message.Alert!.AcknowledgedBy);
            var harness = provider.GetRequiredService<ITestHarness>();
            await Published<AlertChanged>(harness, m => m.Context.Message.Type == "acknowledged" && m.Context.Message.Alert.Id == alert.Id);
            var stored = await _store.GetAlertEventsAsync(DateTimeOffset.MinValue.AddYears(1), DateTimeOffset.MaxValue.AddYears(-1), 1000, CancellationToken.None);
            Assert.Contains(stored, e => e.Type == "acknowledged" && e.AlertId == alert.Id && e.AcknowledgedBy == "dispatcher-li");

            var unknown = await client.GetResponse<AlertCommandResult>(new AcknowledgeAlert("JY-001:-:tilt:1", "dispatcher-li"));
            Assert.Equal("not-found", unknown.Message.Status);

            // An alert acknowledged that still holds fires again 4 hours later.
            _time.Advance(TimeSpan.FromHours(4) + TimeSpan.FromMinutes(1));
            await Published<AlertChanged>(harness, m => m.Context.Message.Type == "refired" && m.Context.Message.Alert.Id == alert.Id && m.Context.Message.Alert.AcknowledgedAt == null);
            Assert.False(await harness.Published.Any<Fault>());
        }
        finally
        {
            await StopAsync(provider);
        }
    }

    [Fact]
    public async Task A_dispatcher_job_is_answered_after_it_is_stored_and_a_second_one_for_the_compartment_conflicts()
    {
        var provider = Build();
        await StartAsync(provider);
        try
        {
            using var scope = provider.CreateScope();
            var client = scope.ServiceProvider.GetRequiredService<IRequestClient<RequestCollectionJob>>();
            var first = await client.GetResponse<JobCommandResult>(new RequestCollectionJob("JY-002", ["paper", "plastic"], "dispatcher-li"));
            Assert.Equal("ok", first.Message.Status);
            Assert.Equal("manual", first.Message.Job!.Reason);
            Assert.Equal("dispatcher-li", first.Message.Job.RequestedBy);
            var jobs = await _store.GetJobEventsAsync(DateTimeOffset.MinValue.AddYears(1), DateTimeOffset.MaxValue.AddYears(-1), 100, CancellationToken.None);
            Assert.Contains(jobs, j => j.JobId == first.Message.Job.Id && j.Type == "requested");

            var again = await client.GetResponse<JobCommandResult>(new RequestCollectionJob("JY-002", ["plastic"], "dispatcher-wang"));
            Assert.Equal("conflict", again.Message.Status);
            var mixed = await client.GetResponse<JobCommandResult>(new RequestCollectionJob("JY-003", ["paper", "kitchen"], "dispatcher-wang"));
            Assert.Equal("invalid", mixed.Message.Status);
            Assert.StartsWith("compartments:", mixed.Message.Detail, StringComparison.Ordinal);
            Assert.False(await provider.GetRequiredService<ITestHarness>().Published.Any<Fault>());
        }
        finally
        {
            await StopAsync(provider);
        }
    }

    [Fact]
    public async Task A_restarted_scheduler_adopts_what_was_stored_and_repeats_no_alert_or_job()
    {
        var first = Build();
        await StartAsync(first);
        await FillUpAsync(first);
        await WaitUntil(() => _store.AlertEventCount(e => e.Kind == AlertKinds.Overflow) > 0, "the overflow stored");
        _time.Advance(TimeSpan.FromMinutes(1));
        await WaitUntil(() => _store.JobEventCount() > 0, "a job stored");
        await StopAsync(first);
        var raised = _store.AlertEventCount(e => e.Type == "raised");
        var jobs = _store.JobEventCount();

        // Readings the scheduler missed while it was down: another compartment goes over.
        await FillUpAsync(Build(), "JY-002", "plastic");
        _time.Advance(TimeSpan.FromMinutes(30));
        var second = Build();
        await StartAsync(second);
        try
        {
            _time.Advance(TimeSpan.FromMinutes(1));
            await WaitUntil(() => _store.AlertEventCount(e => e.Type == "raised" && e.BinId == "JY-002") > 0, "the missed readings raise their alerts");
            _time.Advance(TimeSpan.FromMinutes(1));
            await WaitUntil(() => _store.JobEventCount(j => j.BinId == "JY-002") > 0, "the missed readings get their job");
            var harness = second.GetRequiredService<ITestHarness>();
            // Nothing of JY-001 again: its alerts and its job were stored before the restart.
            Assert.False(await harness.Published.Any<AlertChanged>(m => m.Context.Message.Alert.Bin == "JY-001" && m.Context.Message.Type == "raised"));
            Assert.False(await harness.Published.Any<CollectionJobRequested>(m => m.Context.Message.Job.Bin == "JY-001"));
            Assert.Equal(raised, _store.AlertEventCount(e => e.Type == "raised" && e.BinId == "JY-001"));
            Assert.Equal(jobs, _store.JobEventCount(j => j.BinId == "JY-001"));
            Assert.False(await harness.Published.Any<Fault>());
        }
        finally
        {
            await StopAsync(second);
        }
    }

    [Fact]
    public async Task While_ingestion_is_away_from_the_broker_silent_bins_raise_no_offline_alert_and_after_it_is_back_they_do()
    {
        var provider = Build();
        await StartAsync(provider);
        try
        {
            await FillUpAsync(provider);
            var harness = provider.GetRequiredService<ITestHarness>();
            await Published<AlertChanged>(harness, m => m.Context.Message.Alert.Kind == AlertKinds.Fill);
            await harness.Bus.Publish(new IngestionConnection("ingest-1/a", false, _time.GetUtcNow()));
            var scheduler = provider.GetRequiredService<SchedulerService>();
            await WaitUntil(() => scheduler.IngestionAway == 1, "the loss taken");

            for (var i = 0; i < 12; i++)
            {
                var ticks = scheduler.Ticks;
                _time.Advance(TimeSpan.FromMinutes(10)); // two hours of silence, the broker away
                await WaitUntil(() => scheduler.Ticks > ticks, "a tick");
            }
            Assert.DoesNotContain(harness.Published.Select<AlertChanged>(), m => m.Context.Message.Alert.Kind == AlertKinds.Offline);
            await harness.Bus.Publish(new IngestionConnection("ingest-1/a", true, _time.GetUtcNow()));
            await WaitUntil(() => scheduler.IngestionAway == 0, "the return taken");
            _time.Advance(TimeSpan.FromMinutes(35)); // back 35 minutes, still silent: now it is the bin
            await Published<AlertChanged>(harness, m => m.Context.Message.Alert.Kind == AlertKinds.Offline && m.Context.Message.Type == "raised" && m.Context.Message.Alert.Bin == "JY-001");
            Assert.False(await harness.Published.Any<Fault>());
        }
        finally
        {
            await StopAsync(provider);
        }
    }

    [Fact]
    public async Task A_second_scheduler_on_the_in_memory_bus_is_refused_at_start_naming_the_setting()
    {
        var first = Build();
        await StartAsync(first);
        try
        {
            var second = Build();
            var error = await Assert.ThrowsAsync<Telemetry.Contracts.Configuration.ConfigurationException>(() => second.GetRequiredService<SchedulerService>().StartAsync(CancellationToken.None));
            Assert.Contains("Bus:Transport", error.Message, StringComparison.Ordinal);
            await second.DisposeAsync();
        }
        finally
        {
            await StopAsync(first);
        }
    }
}
