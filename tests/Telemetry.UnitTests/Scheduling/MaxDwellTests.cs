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

/// <summary>A stream's maximum dwell (kitchen waste: a day): a job in time for the next shift, however little the compartment holds.</summary>
public class MaxDwellTests
{
    [Fact]
    public void Kitchen_waste_that_would_be_older_than_a_day_by_the_shift_after_next_gets_a_dwell_job_for_the_next_shift()
    {
        // Monday 14:00: the kitchen trucks' next shift is Tuesday 05-13, the one after it Wednesday 05:00.
        var now = Local(2, 14);
        var planner = new JobPlanner(new ShiftCalendar(Registry), 80, 95, KitchenDaily);
        var book = new JobBook();
        CompartmentOutlook[] fleet =
        [
            new("JY-001", "kitchen", WasteStream.Kitchen, 30, null, null, false, HoldsSince: Local(2, 9)), // a day old by Tuesday 09:00
            new("JY-002", "kitchen", WasteStream.Kitchen, 10, null, null, false, HoldsSince: null), // age unknown: due
            new("JY-003", "paper", WasteStream.Recyclable, 20, null, null, false, HoldsSince: Local(1, 9)), // no dwell for recyclables
        ];
        var jobs = planner.Tick(now, fleet, book);
        Assert.Equal(["JY-001", "JY-002"], jobs.Select(j => j.Bin));
        Assert.All(jobs, j => Assert.Equal((JobReasons.Dwell, "normal", "kitchen"), (j.Reason, j.Priority, j.Stream)));
        Assert.Equal(Local(3, 13), jobs[0].Deadline); // the end of the next shift
        Assert.Empty(planner.Tick(now.AddMinutes(1), fleet, book)); // covered now
    }

    [Fact]
    public void Waste_young_enough_to_wait_for_the_shift_after_next_gets_no_dwell_job_and_without_the_setting_none_at_all()
    {
        // Tuesday 05:30, during the shift: the next one is Wednesday 05:00, the one after Thursday 05:00. Emptied Tuesday
        // 05:10: a day old on Wednesday 05:10, after Wednesday's shift started but before Thursday's: Wednesday's shift must come.
        var now = Local(3, 5).AddMinutes(30);
        var withDwell = new JobPlanner(new ShiftCalendar(Registry), 80, 95, KitchenDaily);
        CompartmentOutlook[] justEmptied = [new("JY-001", "kitchen", WasteStream.Kitchen, 2, null, null, false, HoldsSince: now.AddMinutes(-20))];
        Assert.Single(withDwell.Tick(now, justEmptied, new JobBook()));
        // A dwell of 12 hours: waste from 19:00 Monday is too old by Tuesday 07:00, before Wednesday's shift: due for Tuesday's.
        var halfDay = new JobPlanner(new ShiftCalendar(Registry), 80, 95, new Dictionary<WasteStream, TimeSpan> { [WasteStream.Kitchen] = TimeSpan.FromHours(12) });
        Assert.Single(halfDay.Tick(Local(2, 20), [new("JY-001", "kitchen", WasteStream.Kitchen, 2, null, null, false, HoldsSince: Local(2, 19))], new JobBook()));
        // A dwell of three days: emptied this morning, the waste can wait past Thursday's shift.
        var threeDays = new JobPlanner(new ShiftCalendar(Registry), 80, 95, new Dictionary<WasteStream, TimeSpan> { [WasteStream.Kitchen] = TimeSpan.FromDays(3) });
        Assert.Empty(threeDays.Tick(now, justEmptied, new JobBook()));
        Assert.Empty(new JobPlanner(new ShiftCalendar(Registry), 80, 95).Tick(now, justEmptied, new JobBook()));
    }

    [Fact]
    public void The_scheduler_counts_the_dwell_from_the_last_emptying_it_saw()
    {
        var core = new SchedulerCore(Registry, new AlertOptions(), KitchenDaily);
        var t = Local(2, 6);
        core.Observe(Fill(t, "JY-001", "kitchen", 20));
        var first = Assert.Single(core.Tick(t.AddMinutes(1)).Jobs);
        Assert.Equal(JobReasons.Dwell, first.Job.Reason);
        // The truck empties it at 08:00: the job completes; the waste from then on is due by Tuesday's shift, so a new job
        // for Tuesday follows at the next tick.
        var emptiedAt = Local(2, 8);
        var done = core.Observe(new FillSignalBatch(false, [], [], [new CollectionEvent("JY-001", "c01", "kitchen", "kitchen", emptiedAt, 20, 20, 0)]));
        Assert.Equal(JobStates.Completed, Assert.Single(done.Jobs).Type);
        var next = Assert.Single(core.Tick(emptiedAt.AddMinutes(1)).Jobs);
        Assert.Equal((JobReasons.Dwell, Local(3, 13)), (next.Job.Reason, next.Job.Deadline));
    }

    [Fact]
    public void Below_the_prediction_floor_a_prediction_alone_raises_no_job_but_the_threshold_and_the_dwell_still_do()
    {
        var now = Local(2, 14);
        var planner = new JobPlanner(new ShiftCalendar(Registry), 80, 95, KitchenDaily, predictedFromPct: 30);
        CompartmentOutlook[] fleet =
        [
            new("JY-001", "metal", WasteStream.Recyclable, 12, now.AddHours(6), now.AddHours(9), false, now.AddHours(-2)), // predicted, but at 12 %
            new("JY-002", "paper", WasteStream.Recyclable, 45, now.AddHours(6), now.AddHours(9), false, now.AddHours(-20)), // predicted, at 45 %
            new("JY-003", "kitchen", WasteStream.Kitchen, 5, null, null, false, null), // the dwell
            new("JY-004", "glass", WasteStream.Recyclable, 10, null, null, Critical: true), // critical
        ];
        var jobs = planner.Tick(now, fleet, new JobBook());
        Assert.Equal([("JY-002", JobReasons.Predicted), ("JY-003", JobReasons.Dwell), ("JY-004", JobReasons.Predicted)], jobs.Select(j => (j.Bin, j.Reason)));
        // Without the floor, the metal compartment's prediction raises a job too.
        Assert.Contains(new JobPlanner(new ShiftCalendar(Registry), 80, 95).Tick(now, fleet, new JobBook()), j => j.Bin == "JY-001");
        Assert.Equal(30, new SchedulingOptions().PredictedFromPct);
        Assert.Contains("Scheduling:PredictedFromPct", new SchedulingOptionsValidator().Validate(null, new SchedulingOptions { PredictedFromPct = 85 }).FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void The_setting_binds_per_stream_with_kitchen_daily_by_default_and_is_validated_naming_the_key()
    {
        var defaults = new SchedulingOptions();
        Assert.Equal(new Dictionary<WasteStream, TimeSpan> { [WasteStream.Kitchen] = TimeSpan.FromDays(1) }, defaults.MaxDwellByStream());
        var bound = new SchedulingOptions();
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Scheduling:MaxDwell:kitchen"] = "00:00:00",
            ["Scheduling:MaxDwell:residual"] = "2.00:00:00",
        }).Build().GetSection("Scheduling").Bind(bound);
        Assert.Equal(new Dictionary<WasteStream, TimeSpan> { [WasteStream.Residual] = TimeSpan.FromDays(2) }, bound.MaxDwellByStream());
        var v = new SchedulingOptionsValidator();
        Assert.True(v.Validate(null, bound).Succeeded);
        var unknown = new SchedulingOptions { MaxDwell = new() { ["compost"] = TimeSpan.FromDays(1) } };
        Assert.Contains("Scheduling:MaxDwell:compost", v.Validate(null, unknown).FailureMessage, StringComparison.Ordinal);
        var tooShort = new SchedulingOptions { MaxDwell = new() { ["kitchen"] = TimeSpan.FromMinutes(5) } };
        Assert.Contains("Scheduling:MaxDwell:kitchen", v.Validate(null, tooShort).FailureMessage, StringComparison.Ordinal);
    }
}
