using Telemetry.Contracts.Messages;
using Telemetry.Fleet;
using Telemetry.Routing;
using Telemetry.Routing.Planning;

namespace Telemetry.UnitTests.Routing;

public sealed class RoutingCoreTests
{
    private static readonly FleetRegistry Registry = FleetRegistryLoader.LoadDefault();

    // 2026-12-03 is a Thursday; kitchen vehicles work 05:00-13:00 Asia/Shanghai = 21:00-05:00 UTC.
    private static readonly DateTimeOffset KitchenShiftStart = new(2026, 12, 2, 21, 0, 0, TimeSpan.Zero);

    private static CollectionJobInfo Job(string id, string bin, string stream, string[] compartments, string priority = "normal", DateTimeOffset? at = null) =>
        new(id, bin, compartments, stream, "threshold", priority, null, (at ?? KitchenShiftStart) + TimeSpan.FromHours(12), "requested", null,
            at ?? KitchenShiftStart - TimeSpan.FromHours(3), "scheduler", null, null, null);

    private static RoutingCore Core(double waitOverflowHours = RoutingPolicy.DefaultWaitOverflowHours) =>
        new(Registry, new RoutingPolicy(TimeSpan.FromMinutes(30), TimeSpan.FromSeconds(1), waitOverflowHours));

    [Fact]
    public void Jobs_it_cannot_route_are_rejected_naming_the_problem()
    {
        var core = Core();
        var unknown = Assert.Throws<RouteJobRejectedException>(() => core.Add(Job("a", "JY-999", "kitchen", ["kitchen"]), KitchenShiftStart));
        Assert.Contains("no bin 'JY-999'", unknown.Message, StringComparison.Ordinal);
        var compartment = Assert.Throws<RouteJobRejectedException>(() => core.Add(Job("b", "JY-001", "kitchen", ["cardboard"]), KitchenShiftStart));
        Assert.Contains("no compartment 'cardboard'", compartment.Message, StringComparison.Ordinal);
        var stream = Assert.Throws<RouteJobRejectedException>(() => core.Add(Job("c", "JY-001", "kitchen", ["paper"]), KitchenShiftStart));
        Assert.Contains("is recyclable, not kitchen", stream.Message, StringComparison.Ordinal);
        Assert.Throws<RouteJobRejectedException>(() => core.Add(Job("d", "JY-001", "compost", ["kitchen"]), KitchenShiftStart));
        Assert.Equal(0, core.OpenJobs);
        core.Add(Job("e", "JY-002", "kitchen", ["kitchen"]), KitchenShiftStart);
        Assert.Equal(1, core.OpenJobs);
    }

    [Fact]
    public void A_shift_is_planned_once_at_its_lead_time_with_every_open_job_of_its_stream()
    {
        var core = Core();
        core.Add(Job("k1", "JY-001", "kitchen", ["kitchen"]), KitchenShiftStart - TimeSpan.FromHours(3));
        core.Add(Job("k2", "JY-002", "kitchen", ["kitchen"]), KitchenShiftStart - TimeSpan.FromHours(3));
        core.Add(Job("r1", "JY-003", "recyclable", ["paper", "glass"]), KitchenShiftStart - TimeSpan.FromHours(3));

        Assert.DoesNotContain(core.Due(KitchenShiftStart - TimeSpan.FromMinutes(31)), d => d.Shift.Stream == WasteStream.Kitchen);
        var due = Assert.Single(core.Due(KitchenShiftStart - TimeSpan.FromMinutes(30)), d => d.Shift.Stream == WasteStream.Kitchen);
        Assert.Equal(1, due.Revision);
        Assert.False(due.Replan);
        Assert.Equal("kitchen:20261202T2100Z", due.Shift.PlanId);
        Assert.Equal(["k1", "k2"], due.Request.Jobs.Select(j => j.JobId));
        Assert.Equal(10, due.Request.Vehicles.Count);
        Assert.All(due.Request.Vehicles, v => Assert.Equal(WasteStream.Kitchen, v.Stream));
        Assert.Equal(KitchenShiftStart + TimeSpan.FromHours(8), due.Request.ShiftEnd);
        // No weight known: a job's load is its compartments' maximum load.
        Assert.Equal(Registry.FindBin("JY-001")!.FindCompartment("kitchen")!.MaxKg, due.Request.Jobs[0].Kg);

        var message = core.Accept(due, PlanOf(due, "KIT-01", [("k1", "JY-001"), ("k2", "JY-002")]), KitchenShiftStart - TimeSpan.FromMinutes(29));
        Assert.Equal("kitchen", message.Stream);
        Assert.Equal(["depot", "JY-001", "JY-002", "kitchen-site", "depot"], message.Routes[0].Stops.Select(s => s.Place));
        Assert.DoesNotContain(core.Due(KitchenShiftStart - TimeSpan.FromMinutes(20)), d => d.Shift.Stream == WasteStream.Kitchen);

        // A job raised during the shift (not urgent) waits for the next shift; so does one the plan routed but that stays open.
        core.Add(Job("k3", "JY-004", "kitchen", ["kitchen"], at: KitchenShiftStart + TimeSpan.FromHours(1)), KitchenShiftStart + TimeSpan.FromHours(1));
        Assert.DoesNotContain(core.Due(KitchenShiftStart + TimeSpan.FromHours(2)), d => d.Shift.Stream == WasteStream.Kitchen);
        core.Remove("k1");
        var next = Assert.Single(core.Due(KitchenShiftStart + TimeSpan.FromHours(23.5)), d => d.Shift.Stream == WasteStream.Kitchen);
        Assert.Equal(["k2", "k3"], next.Request.Jobs.Select(j => j.JobId));
        Assert.Equal("kitchen:20261203T2100Z", next.Shift.PlanId);
    }

    [Fact]
    public void A_shift_whose_jobs_can_all_wait_for_the_next_one_is_not_driven_and_they_ride_along_when_waiting_would_overflow_too_long()
    {
        var core = Core();
        var lead = KitchenShiftStart - TimeSpan.FromMinutes(30);
        // Predicted full after the next kitchen shift (a day later) starts: waiting costs no hour at 100 %.
        core.Add(Job("p1", "JY-001", "kitchen", ["kitchen"]) with { Reason = "predicted", PredictedFullAt = KitchenShiftStart + TimeSpan.FromHours(30) }, lead);
        core.Add(Job("p2", "JY-002", "kitchen", ["kitchen"]) with { Reason = "predicted", PredictedFullAt = KitchenShiftStart + TimeSpan.FromHours(26) }, lead);
        Assert.DoesNotContain(core.Due(lead), d => d.Shift.Stream == WasteStream.Kitchen);

        // Full 4 h before the next shift: 4 compartment-hours at 100 %, fewer than the 12 that drive a shift.
        core.Add(Job("p3", "JY-003", "kitchen", ["kitchen"]) with { Reason = "predicted", PredictedFullAt = KitchenShiftStart + TimeSpan.FromHours(20) }, lead);
        Assert.DoesNotContain(core.Due(KitchenShiftStart - TimeSpan.FromMinutes(1)), d => d.Shift.Stream == WasteStream.Kitchen);

        // A compartment at the threshold predicted full 8 h before the next shift: 12 in all, the shift goes, the others with it.
        core.Add(Job("t1", "JY-004", "kitchen", ["kitchen"]) with { PredictedFullAt = KitchenShiftStart + TimeSpan.FromHours(16) }, lead);
        var due = Assert.Single(core.Due(KitchenShiftStart - TimeSpan.FromMinutes(1)), d => d.Shift.Stream == WasteStream.Kitchen);
        Assert.Equal(["p1", "p2", "p3", "t1"], due.Request.Jobs.Select(j => j.JobId).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(core.TakeWaited(KitchenShiftStart), w => w.Shift.Stream == WasteStream.Kitchen); // it was driven

        // A shift that starts without being driven is reported once, as last weighed.
        var quiet = Core();
        quiet.Add(Job("p3", "JY-003", "kitchen", ["kitchen"]) with { Reason = "predicted", PredictedFullAt = KitchenShiftStart + TimeSpan.FromHours(20) }, lead);
        Assert.DoesNotContain(quiet.Due(lead), d => d.Shift.Stream == WasteStream.Kitchen);
        Assert.DoesNotContain(quiet.TakeWaited(lead), w => w.Shift.Stream == WasteStream.Kitchen); // not started yet
        Assert.DoesNotContain(quiet.Due(KitchenShiftStart), d => d.Shift.Stream == WasteStream.Kitchen);
        var waited = Assert.Single(quiet.TakeWaited(KitchenShiftStart), w => w.Shift.Stream == WasteStream.Kitchen);
        Assert.Equal((1, 4.0, KitchenShiftStart + TimeSpan.FromDays(1)), (waited.Jobs, waited.OverflowHours, waited.FollowingStart));
        Assert.Equal(KitchenShiftStart, waited.Shift.Start);
        Assert.DoesNotContain(quiet.TakeWaited(KitchenShiftStart + TimeSpan.FromMinutes(5)), w => w.Shift.Stream == WasteStream.Kitchen);

        // Hours already at 100 % by this shift's start are not saved by driving it: full 4 h before it adds the 24 h to the next
        // shift, not 28; with one full 4 h before the next shift, 28 in all, fewer than 30.
        var late = Core(waitOverflowHours: 30);
        late.Add(Job("f1", "JY-001", "kitchen", ["kitchen"]) with { Reason = "predicted", PredictedFullAt = KitchenShiftStart - TimeSpan.FromHours(4) }, lead);
        late.Add(Job("f2", "JY-002", "kitchen", ["kitchen"]) with { Reason = "predicted", PredictedFullAt = KitchenShiftStart + TimeSpan.FromHours(20) }, lead);
        Assert.DoesNotContain(late.Due(lead), d => d.Shift.Stream == WasteStream.Kitchen);
        late.Add(Job("f3", "JY-003", "kitchen", ["kitchen"]) with { Reason = "predicted", PredictedFullAt = KitchenShiftStart + TimeSpan.FromHours(18) }, lead);
        Assert.Single(late.Due(lead), d => d.Shift.Stream == WasteStream.Kitchen);

        // A compartment long full (its job keeps the reason and prediction it was raised with) cannot wait for ever, whatever the
        // gap between shifts: full 10 h before this shift, it would stand at 100 % for 34 h by the next one, over 30.
        var stale = Core(waitOverflowHours: 30);
        stale.Add(Job("s1", "JY-001", "kitchen", ["kitchen"]) with { PredictedFullAt = KitchenShiftStart - TimeSpan.FromHours(10) }, lead);
        Assert.Single(stale.Due(lead), d => d.Shift.Stream == WasteStream.Kitchen);
        var fresh = Core(waitOverflowHours: 30);
        fresh.Add(Job("s1", "JY-001", "kitchen", ["kitchen"]) with { PredictedFullAt = KitchenShiftStart - TimeSpan.FromHours(5) }, lead);
        Assert.DoesNotContain(fresh.Due(lead), d => d.Shift.Stream == WasteStream.Kitchen);

        // With 0, any predicted hour at 100 % drives the shift.
        var strict = Core(waitOverflowHours: 0);
        strict.Add(Job("p3", "JY-003", "kitchen", ["kitchen"]) with { Reason = "predicted", PredictedFullAt = KitchenShiftStart + TimeSpan.FromHours(20) }, lead);
        Assert.Single(strict.Due(lead), d => d.Shift.Stream == WasteStream.Kitchen);
        var none = Core(waitOverflowHours: 0);
        none.Add(Job("p1", "JY-001", "kitchen", ["kitchen"]) with { Reason = "predicted", PredictedFullAt = KitchenShiftStart + TimeSpan.FromHours(30) }, lead);
        Assert.DoesNotContain(none.Due(lead), d => d.Shift.Stream == WasteStream.Kitchen);

        // An overflow, the dwell, a dispatcher, an urgent job or one with no prediction do not wait.
        foreach (var job in new[]
        {
            Job("o1", "JY-004", "kitchen", ["kitchen"]) with { Reason = "overflow", PredictedFullAt = KitchenShiftStart + TimeSpan.FromDays(3) },
            Job("d1", "JY-004", "kitchen", ["kitchen"]) with { Reason = "dwell", PredictedFullAt = KitchenShiftStart + TimeSpan.FromDays(3) },
            Job("m1", "JY-004", "kitchen", ["kitchen"]) with { Reason = "manual", PredictedFullAt = KitchenShiftStart + TimeSpan.FromDays(3) },
            Job("u1", "JY-004", "kitchen", ["kitchen"], priority: "urgent") with { Reason = "predicted", PredictedFullAt = KitchenShiftStart + TimeSpan.FromDays(3) },
            Job("n1", "JY-004", "kitchen", ["kitchen"]),
        })
        {
            var other = Core();
            other.Add(job, lead);
            Assert.True(other.Due(lead).Any(d => d.Shift.Stream == WasteStream.Kitchen), job.Id);
        }
    }

    [Fact]
    public void A_shift_the_worker_first_sees_after_it_started_is_weighed_from_now_once()
    {
        // Busy past the lead time (or started during it): at 21:40 the 21:00 kitchen shift has no plan and was never looked at.
        var late = Core();
        late.Add(Job("k1", "JY-001", "kitchen", ["kitchen"]), KitchenShiftStart - TimeSpan.FromHours(3));
        var now = KitchenShiftStart + TimeSpan.FromMinutes(40);
        var due = Assert.Single(late.Due(now), d => d.Shift.Stream == WasteStream.Kitchen);
        Assert.Equal("kitchen:20261202T2100Z", due.Shift.PlanId);
        Assert.Equal(now, due.Request.ShiftStart);
        Assert.Equal(["k1"], due.Request.Jobs.Select(j => j.JobId));
        // Its planning failed (no plan accepted): it is weighed again, and due again, at the next call.
        Assert.Single(late.Due(now + TimeSpan.FromMinutes(1)), d => d.Shift.Stream == WasteStream.Kitchen);

        // Weighed from now: hours at 100 % before now are not saved by driving it late. Full 20 min into the shift, 20 min
        // before now: 23.3 h by the next shift, with 6.5 h of another job 29.8 h in all, under 30 (30.2 counted from the start).
        var fromNow = Core(waitOverflowHours: 30);
        fromNow.Add(Job("f1", "JY-001", "kitchen", ["kitchen"]) with { Reason = "predicted", PredictedFullAt = KitchenShiftStart + TimeSpan.FromMinutes(20) }, now);
        fromNow.Add(Job("f2", "JY-002", "kitchen", ["kitchen"]) with { Reason = "predicted", PredictedFullAt = KitchenShiftStart + TimeSpan.FromHours(17.5) }, now);
        Assert.DoesNotContain(fromNow.Due(now), d => d.Shift.Stream == WasteStream.Kitchen);
        var fromNowWaited = Assert.Single(fromNow.TakeWaited(now), w => w.Shift.Stream == WasteStream.Kitchen);
        Assert.Equal(29.83, fromNowWaited.OverflowHours, 2);

        // Jobs that may wait: weighed once, the shift reported as waited, and not weighed again at the next ticks.
        var waiting = Core();
        waiting.Add(Job("p1", "JY-001", "kitchen", ["kitchen"]) with { Reason = "predicted", PredictedFullAt = KitchenShiftStart + TimeSpan.FromHours(30) }, now);
        Assert.DoesNotContain(waiting.Due(now), d => d.Shift.Stream == WasteStream.Kitchen);
        Assert.Single(waiting.TakeWaited(now), w => w.Shift.Stream == WasteStream.Kitchen);
        Assert.DoesNotContain(waiting.Due(now + TimeSpan.FromMinutes(1)), d => d.Shift.Stream == WasteStream.Kitchen);
        Assert.DoesNotContain(waiting.TakeWaited(now + TimeSpan.FromMinutes(1)), w => w.Shift.Stream == WasteStream.Kitchen);

        // Looked at before it started (with nothing to do then): a job that comes during the shift waits for the next one.
        var seen = Core();
        Assert.DoesNotContain(seen.Due(KitchenShiftStart - TimeSpan.FromMinutes(10)), d => d.Shift.Stream == WasteStream.Kitchen);
        seen.Add(Job("k2", "JY-002", "kitchen", ["kitchen"], at: now), now);
        Assert.DoesNotContain(seen.Due(now), d => d.Shift.Stream == WasteStream.Kitchen);
    }

    [Fact]
    public void An_urgent_job_during_a_shift_replans_it_from_where_the_vehicles_are()
    {
        var core = Core();
        core.Add(Job("k1", "JY-001", "kitchen", ["kitchen"]), KitchenShiftStart - TimeSpan.FromHours(3));
        core.Add(Job("k2", "JY-002", "kitchen", ["kitchen"]), KitchenShiftStart - TimeSpan.FromHours(3));
        var due = Assert.Single(core.Due(KitchenShiftStart - TimeSpan.FromMinutes(10)), d => d.Shift.Stream == WasteStream.Kitchen);
        core.Accept(due, PlanOf(due, "KIT-01", [("k1", "JY-001"), ("k2", "JY-002")]), KitchenShiftStart - TimeSpan.FromMinutes(9));

        // PlanOf: stops an hour apart; at start + 1.5 h the truck has left JY-001.
        var at = KitchenShiftStart + TimeSpan.FromHours(1.5);
        Assert.False(core.Add(Job("k3", "JY-005", "kitchen", ["kitchen"], at: at), at));
        Assert.True(core.Add(Job("k4", "JY-006", "kitchen", ["kitchen"], "urgent", at), at));
        var replan = Assert.Single(core.Due(at), d => d.Shift.Stream == WasteStream.Kitchen);
        Assert.True(replan.Replan);
        Assert.Equal(2, replan.Revision);
        var progress = replan.Request.Progress!["KIT-01"];
        Assert.Equal(["depot", "JY-001"], progress.Served.Select(s => s.Place));
        Assert.Equal(Registry.FindBin("JY-001")!.Location, progress.Position);
        // Served jobs are not planned again; the routed one not yet served, the urgent one and the waiting one are.
        Assert.Equal(["k2", "k3", "k4"], replan.Request.Jobs.Select(j => j.JobId));
        Assert.True(replan.Request.Jobs.Single(j => j.JobId == "k4").Urgent);
    }

    [Fact]
    public void Plans_restored_from_the_store_keep_their_jobs_routed()
    {
        var core = Core();
        var first = Core();
        first.Add(Job("k1", "JY-001", "kitchen", ["kitchen"]), KitchenShiftStart - TimeSpan.FromHours(3));
        var due = first.Due(KitchenShiftStart - TimeSpan.FromMinutes(10)).Single(d => d.Shift.Stream == WasteStream.Kitchen);
        var message = first.Accept(due, PlanOf(due, "KIT-01", [("k1", "JY-001")]), KitchenShiftStart - TimeSpan.FromMinutes(9));

        core.Restore(message);
        core.Add(Job("k1", "JY-001", "kitchen", ["kitchen"]), KitchenShiftStart);
        core.Add(Job("k2", "JY-002", "kitchen", ["kitchen"]), KitchenShiftStart);
        Assert.Single(core.Current(KitchenShiftStart));
        // The shift has its plan: not planned again; k1 stays with it.
        Assert.DoesNotContain(core.Due(KitchenShiftStart - TimeSpan.FromMinutes(5)), d => d.Shift.Stream == WasteStream.Kitchen);
        var next = core.Due(KitchenShiftStart + TimeSpan.FromHours(23.5)).Single(d => d.Shift.Stream == WasteStream.Kitchen);
        Assert.Equal(["k1", "k2"], next.Request.Jobs.Select(j => j.JobId));
    }

    [Fact]
    public void A_shift_without_jobs_is_not_planned_until_a_job_comes_before_it_starts()
    {
        var core = Core();
        Assert.Empty(core.Due(KitchenShiftStart - TimeSpan.FromMinutes(20)));
        core.Add(Job("k1", "JY-001", "kitchen", ["kitchen"]), KitchenShiftStart - TimeSpan.FromMinutes(10));
        Assert.Equal(["k1"], Assert.Single(core.Due(KitchenShiftStart - TimeSpan.FromMinutes(10)), d => d.Shift.Stream == WasteStream.Kitchen).Request.Jobs.Select(j => j.JobId));
        // Once the shift runs without a plan, a normal job waits for the next shift; an urgent one is planned from now.
        Assert.DoesNotContain(core.Due(KitchenShiftStart + TimeSpan.FromMinutes(1)), d => d.Shift.Stream == WasteStream.Kitchen);
        var at = KitchenShiftStart + TimeSpan.FromHours(2);
        Assert.True(core.Add(Job("k2", "JY-002", "kitchen", ["kitchen"], "urgent", at), at));
        var now = Assert.Single(core.Due(at), d => d.Shift.Stream == WasteStream.Kitchen);
        Assert.Equal((at, KitchenShiftStart, 1), (now.Request.ShiftStart, now.Shift.Start, now.Revision));
        Assert.Equal(["k1", "k2"], now.Request.Jobs.Select(j => j.JobId));
    }

    /// <summary>A plan with one vehicle visiting the jobs an hour apart, then the facility, then the depot.</summary>
    private static ShiftPlan PlanOf(DuePlan due, string vehicle, (string Job, string Bin)[] stops)
    {
        var depot = Registry.Facility(FacilityKind.Depot);
        var site = Registry.Facility(FacilityKind.KitchenSite);
        var t = due.Shift.Start;
        var list = new List<PlannedStop> { new(StopKind.Depot, depot.Id, depot.Location, t, t, 0) };
        var load = 0.0;
        foreach (var (job, bin) in stops)
        {
            t += TimeSpan.FromHours(1);
            load += 100;
            list.Add(new PlannedStop(StopKind.Bin, bin, Registry.FindBin(bin)!.Location, t, t + TimeSpan.FromMinutes(5), load, job, ["kitchen"], 100));
        }
        t += TimeSpan.FromHours(1);
        list.Add(new PlannedStop(StopKind.Facility, site.Id, site.Location, t, t + TimeSpan.FromMinutes(15), 0, Kg: -load));
        t += TimeSpan.FromHours(1);
        list.Add(new PlannedStop(StopKind.Depot, depot.Id, depot.Location, t, t, 0));
        return new ShiftPlan(due.Shift.Stream, due.Shift.Start, due.Shift.End, [new PlannedRoute(vehicle, list, 42, 1)], [], "feasible", TimeSpan.FromSeconds(1));
    }
}
