using Telemetry.Contracts.Readings;
using Telemetry.Fleet;
using Telemetry.Fleet.Signal;
using Telemetry.Scheduling;
using Telemetry.Scheduling.Alerts;
using Telemetry.Scheduling.Jobs;
using Telemetry.Scheduling.Signal;

namespace Telemetry.UnitTests.Scheduling;

/// <summary>The scheduler's tick over the registry: predictions against the time, the planner on the compartments no job covers, critical alerts.</summary>
public class SchedulerCoreTests
{
    private static readonly FleetRegistry Registry = FleetRegistryLoader.LoadDefault();

    // Monday 2026-11-02 10:00 local (UTC+8).
    private static readonly DateTimeOffset Now = new(2026, 11, 2, 2, 0, 0, TimeSpan.Zero);

    private static FillSignalBatch Fill(DateTimeOffset at, string bin, string compartment, double pct, DateTimeOffset? thresholdAt, DateTimeOffset? fullAt)
    {
        var stream = Registry.FindBin(bin)!.FindCompartment(compartment)!.Stream.Name();
        var forecast = new FillForecast(at, pct, 80, thresholdAt, thresholdAt, thresholdAt, fullAt, fullAt, fullAt, 1, "own");
        return new FillSignalBatch(false, [new SignalObservation(new FillReading(bin, "c01", compartment, stream, at, 1, pct), pct, forecast)], [], []);
    }

    [Fact]
    public void A_tick_raises_predicted_full_as_time_nears_and_a_job_it_plans_clears_it()
    {
        var core = new SchedulerCore(Registry, new AlertOptions());
        // Full in 13 hours: not yet within 12; at the threshold in 18 hours (04:00 tomorrow), before the recyclables' shift after
        // next (this afternoon's at 13:00 is the next; the one after it starts at 07:00 tomorrow).
        core.Observe(Fill(Now, "JY-001", "paper", 60, Now.AddHours(18), Now.AddHours(13)));
        var first = core.Tick(Now.AddMinutes(1), plan: false);
        Assert.Empty(first.Alerts);
        var later = core.Tick(Now.AddHours(1.5), plan: false);
        var raised = Assert.Single(later.Alerts, e => e.Alert.Kind != AlertKinds.Offline); // silent for 90 minutes: offline too
        Assert.Equal((AlertEvent.Raised, AlertKinds.PredictedFull), (raised.Type, raised.Alert.Kind));

        // With planning: the compartment is due before the shift after next, so a job covers it and the alert ends.
        var planned = core.Tick(Now.AddHours(2), plan: true);
        var job = Assert.Single(planned.Jobs);
        Assert.Equal(["paper"], job.Job.Compartments);
        Assert.Contains(planned.Alerts, e => e.Type == AlertEvent.Cleared && e.Alert.Kind == AlertKinds.PredictedFull);
        Assert.Null(core.Alerts.ActiveOf("JY-001", "paper", AlertKinds.PredictedFull));

        // Covered now: neither planned again nor raised again.
        var again = core.Tick(Now.AddHours(2.5), plan: true);
        Assert.Empty(again.Jobs);
        Assert.DoesNotContain(again.Alerts, e => e.Alert.Kind == AlertKinds.PredictedFull);
    }

    [Fact]
    public void A_route_plan_marks_its_jobs_planned_once_and_again_when_a_replan_moves_them()
    {
        var core = new SchedulerCore(Registry, new AlertOptions());
        var (job, _, _) = core.Request("JY-002", ["plastic"], "dispatcher", Now);
        var (other, _, _) = core.Request("JY-003", ["kitchen"], "dispatcher", Now);
        static Telemetry.Contracts.Messages.RoutePlanned Plan(int revision, string vehicle, params string[] jobs) => new(
            "recyclable:20261103T2300Z", revision, "recyclable", Now.AddHours(21), Now.AddHours(29), Now.AddHours(20), [
                new Telemetry.Contracts.Messages.RouteInfo(vehicle, 12.5, 1, [.. jobs.Select(j => new Telemetry.Contracts.Messages.RouteStopInfo(
                    "bin", "JY-002", 36.9, 117.1, Now.AddHours(22), Now.AddHours(22.1), 30, 30, j, ["plastic"]))]),
            ], [], "feasible");

        var first = core.Planned(Plan(1, "REC-01", job!.Id, "unknown-job"));
        var planned = Assert.Single(first.Jobs);
        Assert.Equal((JobStates.Planned, "REC-01", Now.AddHours(20)), (planned.Type, planned.Job.Vehicle, planned.Job.PlannedAt));
        Assert.Equal(JobStates.Planned, core.Jobs.Find(job.Id)!.State);
        Assert.True(core.Jobs.Covers("JY-002", "plastic"));
        Assert.Equal(JobStates.Requested, core.Jobs.Find(other!.Id)!.State);
        Assert.Empty(core.Planned(Plan(1, "REC-01", job.Id)).Jobs);
        Assert.Equal("REC-02", Assert.Single(core.Planned(Plan(2, "REC-02", job.Id)).Jobs).Job.Vehicle);
        // A closed job is not planned again.
        core.Close(job.Id, completed: true, Now.AddHours(23));
        Assert.Empty(core.Planned(Plan(3, "REC-03", job.Id)).Jobs);
    }

    [Fact]
    public void An_adopted_predicted_full_alert_is_cleared_by_the_tick_once_a_job_covers_it()
    {
        var core = new SchedulerCore(Registry, new AlertOptions());
        core.Observe(Fill(Now, "JY-002", "plastic", 50, null, null));
        core.Alerts.Adopt(new Alert("JY-002:plastic:predicted-full:1", "JY-002", "plastic", AlertKinds.PredictedFull, Severities.Warning, Now.AddHours(-1)));
        var (job, status, _) = core.Request("JY-002", ["plastic"], "dispatcher", Now);
        Assert.Equal("ok", status);
        Assert.NotNull(job);
        var tick = core.Tick(Now.AddMinutes(1), plan: true);
        var cleared = Assert.Single(tick.Alerts, e => e.Alert.Kind == AlertKinds.PredictedFull);
        Assert.Equal((AlertEvent.Cleared, "JY-002:plastic:predicted-full:1"), (cleared.Type, cleared.Alert.Id));
        Assert.Empty(tick.Jobs);
    }

    [Fact]
    public void A_compartment_with_a_critical_alert_gets_an_urgent_job_and_its_neighbours_of_the_stream_join_it()
    {
        var core = new SchedulerCore(Registry, new AlertOptions());
        // Overflowing in two readings: a critical overflow alert.
        core.Observe(Fill(Now.AddMinutes(-10), "JY-003", "glass", 96, Now, Now.AddHours(1)));
        core.Observe(Fill(Now, "JY-003", "glass", 97, Now, Now.AddHours(1)));
        // A fine compartment of another bin: no job.
        core.Observe(Fill(Now, "JY-004", "paper", 20, null, null));
        Assert.Equal(Severities.Critical, core.Alerts.ActiveOf("JY-003", "glass", AlertKinds.Overflow)!.Severity);
        var tick = core.Tick(Now.AddMinutes(1), plan: true);
        var job = Assert.Single(tick.Jobs).Job;
        Assert.Equal(("JY-003", JobReasons.Overflow, "urgent"), (job.Bin, job.Reason, job.Priority));
    }
}
