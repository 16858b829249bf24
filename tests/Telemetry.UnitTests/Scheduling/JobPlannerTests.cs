using Telemetry.Fleet;
using Telemetry.Scheduling.Jobs;

namespace Telemetry.UnitTests.Scheduling;

public class JobPlannerTests
{
    private static readonly FleetRegistry Registry = FleetRegistryLoader.LoadDefault();

    // 2026-11-02 10:00 local (UTC+8): the recyclables' shifts are 07–15 and 13–21, the kitchen trucks' 05–13.
    private static readonly DateTimeOffset Now = new(2026, 11, 2, 2, 0, 0, TimeSpan.Zero);

    private readonly ShiftCalendar _shifts = new(Registry);

    private static DateTimeOffset Local(int day, int hour) => new(2026, 11, day, hour, 0, 0, TimeSpan.FromHours(8));

    [Fact]
    public void The_next_shifts_of_a_stream_come_from_its_vehicles_hours_in_local_time()
    {
        var (next, after) = _shifts.Upcoming(WasteStream.Recyclable, Now)!.Value;
        Assert.Equal((Local(2, 13), Local(2, 21)), (next.Start, next.End));
        Assert.Equal((Local(3, 7), Local(3, 15)), (after.Start, after.End));
        var (kitchen, kitchenAfter) = _shifts.Upcoming(WasteStream.Kitchen, Now)!.Value;
        Assert.Equal((Local(3, 5), Local(4, 5)), (kitchen.Start, kitchenAfter.Start));
    }

    [Fact]
    public void Compartments_at_the_threshold_or_due_before_the_shift_after_next_get_one_job_per_bin_and_stream()
    {
        var planner = new JobPlanner(_shifts, 80, 95);
        var book = new JobBook();
        CompartmentOutlook[] fleet =
        [
            new("JY-001", "paper", WasteStream.Recyclable, 82, Now, Now.AddHours(20), false), // at the threshold
            new("JY-001", "plastic", WasteStream.Recyclable, 60, Local(3, 6), Local(3, 20), false), // before 07:00 tomorrow
            new("JY-001", "glass", WasteStream.Recyclable, 40, Local(3, 8), null, false), // after it: not yet
            new("JY-002", "kitchen", WasteStream.Kitchen, 30, Local(5, 0), null, false), // days away
            new("JY-003", "residual", WasteStream.Residual, 96, Now, Now.AddHours(1), false), // overflowing
        ];
        var jobs = planner.Tick(Now, fleet, book);
        Assert.Equal(2, jobs.Count);
        var recyclable = jobs.Single(j => j.Bin == "JY-001");
        Assert.Equal(["paper", "plastic"], recyclable.Compartments);
        Assert.Equal(("recyclable", JobReasons.Threshold, "normal", JobStates.Requested), (recyclable.Stream, recyclable.Reason, recyclable.Priority, recyclable.State));
        Assert.Equal(Local(2, 21), recyclable.Deadline); // the end of the next shift (full later)
        var residual = jobs.Single(j => j.Bin == "JY-003");
        Assert.Equal((JobReasons.Overflow, "urgent", Now.AddHours(1)), (residual.Reason, residual.Priority, residual.Deadline));

        // The next tick: those compartments are covered, so no second job.
        Assert.Empty(planner.Tick(Now.AddMinutes(5), fleet, book));
        Assert.True(book.Covers("JY-001", "plastic"));
    }

    [Fact]
    public void A_critical_alert_makes_a_job_urgent_whatever_the_level()
    {
        var jobs = new JobPlanner(_shifts, 80, 95).Tick(Now, [new("JY-004", "paper", WasteStream.Recyclable, 20, null, null, Critical: true)], new JobBook());
        Assert.Equal("urgent", Assert.Single(jobs).Priority);
    }

    [Fact]
    public void A_job_completes_when_one_of_its_compartments_is_seen_emptied_or_a_dispatcher_closes_it()
    {
        var book = new JobBook();
        var job = book.Add(new CollectionJob("j1", "JY-001", ["paper", "plastic"], "recyclable", JobReasons.Threshold, "normal", null, Now, JobStates.Requested, null, Now, "scheduler"))!;
        Assert.Null(book.Add(job with { Id = "j2", Compartments = ["plastic"] })); // never two open jobs for one compartment
        Assert.Null(book.Emptied("JY-001", "glass", Now.AddHours(1))); // not the job's
        Assert.True(book.Covers("JY-001", "plastic"));
        // The truck's stop empties paper and plastic together; plastic, nearly empty, shows no emptying of its own.
        var done = book.Emptied("JY-001", "paper", Now.AddHours(1));
        Assert.Equal((JobStates.Completed, Now.AddHours(1)), (done!.State, done.CompletedAt!.Value));
        Assert.False(book.Covers("JY-001", "plastic"));
        Assert.Null(book.Emptied("JY-001", "plastic", Now.AddHours(1))); // completed once
        Assert.Null(book.Close("j1", completed: false, Now)); // no longer open

        var manual = book.Add(job with { Id = "j3", Reason = JobReasons.Manual, RequestedBy = "li.wei" })!;
        var cancelled = book.Close(manual.Id, completed: false, Now.AddHours(2));
        Assert.Equal((JobStates.Cancelled, Now.AddHours(2)), (cancelled!.State, cancelled.CancelledAt!.Value));
        Assert.NotNull(book.Add(job with { Id = "j4" })); // free again
    }
}
