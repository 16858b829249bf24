using Microsoft.Extensions.Configuration;
using Telemetry.Contracts.Readings;
using Telemetry.Fleet;
using Telemetry.Fleet.Signal;
using Telemetry.Scheduling;
using Telemetry.Scheduling.Alerts;
using Telemetry.Scheduling.Jobs;
using Telemetry.Scheduling.Signal;
using Telemetry.Storage;
using static Telemetry.UnitTests.Scheduling.SchedulingTestData;

namespace Telemetry.UnitTests.Scheduling;

/// <summary>
/// A job completes when its compartment was emptied at a low level (no 30-point fall for the signal to call an emptying), and a
/// stream's collect-ahead time gathers the compartments predicted full soon after its next shift into that shift's round.
/// </summary>
public class JobCompletionAndCollectAheadTests
{
    [Fact]
    public void A_kitchen_compartment_emptied_at_a_quarter_full_completes_its_job_and_noise_does_not()
    {
        var core = new SchedulerCore(Registry, new AlertOptions(), KitchenDaily);
        var t = Local(2, 6);
        core.Observe(Fill(t, "JY-001", "kitchen", 25));
        var job = Assert.Single(core.Tick(t.AddMinutes(1)).Jobs).Job;
        Assert.Equal(JobReasons.Dwell, job.Reason);
        // Noise and a small fall (a settled load) leave the job open.
        Assert.Empty(core.Observe(Fill(t.AddMinutes(10), "JY-001", "kitchen", 27)).Jobs);
        Assert.Empty(core.Observe(Fill(t.AddMinutes(20), "JY-001", "kitchen", 21)).Jobs);
        // The truck takes it at 21 %: the cleaned level falls to 1 %, a fall the signal does not call an emptying (under 30 points).
        var emptied = core.Observe(Fill(t.AddHours(2), "JY-001", "kitchen", 1));
        var done = Assert.Single(emptied.Jobs);
        Assert.Equal((JobStates.Completed, job.Id, t.AddHours(2)), (done.Type, done.Job.Id, done.Job.CompletedAt!.Value));
        Assert.False(core.Jobs.Covers("JY-001", "kitchen"));
        // A job of a compartment near empty (raised just after an emptying, the level still settling) does not complete by itself.
        var core2 = new SchedulerCore(Registry, new AlertOptions(), KitchenDaily);
        core2.Observe(Fill(t, "JY-002", "kitchen", 14));
        Assert.Single(core2.Tick(t.AddMinutes(1)).Jobs);
        Assert.Empty(core2.Observe(Fill(t.AddMinutes(10), "JY-002", "kitchen", 16)).Jobs);
        Assert.Empty(core2.Observe(Fill(t.AddMinutes(20), "JY-002", "kitchen", 2)).Jobs);
        Assert.True(core2.Jobs.Covers("JY-002", "kitchen"));
        // A fall of ten points that leaves more than 10 % is no emptying either.
        var core3 = new SchedulerCore(Registry, new AlertOptions(), KitchenDaily);
        core3.Observe(Fill(t, "JY-003", "kitchen", 35));
        Assert.Single(core3.Tick(t.AddMinutes(1)).Jobs);
        Assert.Empty(core3.Observe(Fill(t.AddMinutes(10), "JY-003", "kitchen", 13)).Jobs);
        Assert.True(core3.Jobs.Covers("JY-003", "kitchen"));
    }

    [Fact]
    public void A_job_raised_right_after_an_emptying_is_not_completed_by_the_level_catching_up()
    {
        var core = new SchedulerCore(Registry, new AlertOptions(), KitchenDaily);
        var t = Local(2, 6);
        core.Observe(Fill(t, "JY-001", "kitchen", 45));
        var first = Assert.Single(core.Tick(t.AddMinutes(1)).Jobs).Job;
        Assert.Empty(core.Observe(Fill(t.AddMinutes(10), "JY-001", "kitchen", 46)).Jobs);
        // The truck at 07:00: the weight shows the emptying at once, the cleaned level still holds 46 % for confirmation.
        var emptiedAt = Local(2, 7);
        var done = core.Observe(new FillSignalBatch(false, [], [], [new CollectionEvent("JY-001", "c01", "kitchen", "kitchen", emptiedAt, 40, 46, 0)]));
        Assert.Equal((JobStates.Completed, first.Id), (Assert.Single(done.Jobs).Type, done.Jobs[0].Job.Id));
        var second = Assert.Single(core.Tick(emptiedAt.AddMinutes(1)).Jobs).Job; // the dwell for tomorrow's shift
        // The level follows a minute later: no emptying for the new job, which waits for tomorrow's truck.
        Assert.Empty(core.Observe(Fill(emptiedAt.AddMinutes(2), "JY-001", "kitchen", 1)).Jobs);
        Assert.Equal(second.Id, core.Jobs.OpenFor("JY-001", "kitchen")!.Id);
    }

    [Fact]
    public void Collect_ahead_gives_a_job_now_to_a_compartment_predicted_full_within_that_time_after_the_next_shift_starts()
    {
        // Monday 14:00: the recyclable trucks' next shift starts Tuesday 07:00, the one after it Tuesday 13:00.
        var now = Local(2, 14);
        CompartmentOutlook[] fleet =
        [
            // At the threshold Tuesday 18:00 (after the shift after next starts), full Wednesday 02:00: 19 h after the next shift starts.
            new("JY-001", "paper", WasteStream.Recyclable, 50, Local(3, 18), Local(4, 2), false, now.AddHours(-30)),
            // Full Wednesday 12:00: 29 h after.
            new("JY-002", "paper", WasteStream.Recyclable, 40, Local(4, 6), Local(4, 12), false, now.AddHours(-30)),
            // Within the time, but below the prediction floor.
            new("JY-003", "metal", WasteStream.Recyclable, 20, Local(3, 18), Local(4, 2), false, now.AddHours(-30)),
        ];
        var off = new JobPlanner(new ShiftCalendar(Registry), 80, 95, null, predictedFromPct: 30);
        Assert.Empty(off.Tick(now, fleet, new JobBook()));
        var day = new JobPlanner(new ShiftCalendar(Registry), 80, 95, null, 30, new Dictionary<WasteStream, TimeSpan> { [WasteStream.Recyclable] = TimeSpan.FromDays(1) });
        var job = Assert.Single(day.Tick(now, fleet, new JobBook()));
        Assert.Equal(("JY-001", JobReasons.Predicted, Local(3, 15)), (job.Bin, job.Reason, job.Deadline));
        var residualOnly = new JobPlanner(new ShiftCalendar(Registry), 80, 95, null, 30, new Dictionary<WasteStream, TimeSpan> { [WasteStream.Residual] = TimeSpan.FromDays(1) });
        Assert.Empty(residualOnly.Tick(now, fleet, new JobBook()));
    }

    [Fact]
    public void The_collect_ahead_setting_binds_per_stream_is_off_by_default_and_is_validated_naming_the_key()
    {
        Assert.Empty(new SchedulingOptions().CollectAheadByStream());
        var bound = new SchedulingOptions();
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Scheduling:CollectAhead:recyclable"] = "1.00:00:00",
            ["Scheduling:CollectAhead:residual"] = "00:00:00",
        }).Build().GetSection("Scheduling").Bind(bound);
        Assert.Equal(new Dictionary<WasteStream, TimeSpan> { [WasteStream.Recyclable] = TimeSpan.FromDays(1) }, bound.CollectAheadByStream());
        var v = new SchedulingOptionsValidator();
        Assert.True(v.Validate(null, bound).Succeeded);
        Assert.Contains("Scheduling:CollectAhead:compost", v.Validate(null, new SchedulingOptions { CollectAhead = new() { ["compost"] = TimeSpan.FromDays(1) } }).FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Scheduling:CollectAhead:kitchen", v.Validate(null, new SchedulingOptions { CollectAhead = new() { ["kitchen"] = TimeSpan.FromDays(30) } }).FailureMessage, StringComparison.Ordinal);
    }
}
