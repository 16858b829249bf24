using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using Telemetry.Fleet;
using Telemetry.Routing.Planning;
using Telemetry.Routing.Travel;
using Xunit.Abstractions;

namespace Telemetry.UnitTests.Routing;

public sealed class OrToolsShiftPlannerTests(ITestOutputHelper output)
{
    private static readonly FleetRegistry Registry = FleetRegistryLoader.LoadDefault();
    private static readonly GreatCircleTravel Travel = new();
    private static readonly ShiftPlannerOptions Options = new();

    // 2026-12-03, 07:00-15:00 Asia/Shanghai: the recyclables morning shift.
    private static readonly DateTimeOffset ShiftStart = new(2026, 12, 2, 23, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset ShiftEnd = ShiftStart + TimeSpan.FromHours(8);

    private static OrToolsShiftPlanner Planner() => new(Registry, Travel, new FakeTimeProvider(ShiftStart), Options);

    private static Vehicle[] MorningVehicles(WasteStream stream = WasteStream.Recyclable) =>
        [.. Registry.Vehicles.Where(v => v.Stream == stream && v.ShiftStart == new TimeOnly(7, 0))];

    private static RouteJob Job(string bin, double kg, bool urgent = false, double deadlineHours = 48, string? id = null, WasteStream stream = WasteStream.Recyclable)
    {
        var compartments = Registry.FindBin(bin)?.Compartments.Where(c => c.Stream == stream).Select(c => c.Id).ToArray() ?? ["paper"];
        return new RouteJob(id ?? $"job-{bin}", bin, compartments, kg, urgent, ShiftStart + TimeSpan.FromHours(deadlineHours), ShiftStart - TimeSpan.FromHours(2));
    }

    private static string BinId(int i) => $"JY-{i:000}";

    private static ShiftPlanRequest Request(IReadOnlyList<RouteJob> jobs, IReadOnlyList<Vehicle>? vehicles = null, TimeSpan? solverTime = null, DateTimeOffset? end = null,
        IReadOnlyDictionary<string, VehicleProgress>? progress = null) =>
        new(WasteStream.Recyclable, ShiftStart, end ?? ShiftEnd, vehicles ?? MorningVehicles(), jobs, solverTime ?? TimeSpan.FromSeconds(1), progress);

    /// <summary>Everything a plan must hold, whatever the solver chose.</summary>
    private static void AssertConsistent(ShiftPlan plan, ShiftPlanRequest request)
    {
        var facility = Registry.Facility(request.Stream.Destination());
        var jobs = request.Jobs.ToDictionary(j => j.JobId);
        var servedIds = plan.Routes.SelectMany(r => r.Stops).Select(s => s.JobId).OfType<string>().ToList();
        Assert.Equal(servedIds.Count, servedIds.Distinct().Count());
        Assert.Empty(servedIds.Intersect(plan.Unserved.Select(u => u.JobId)));
        foreach (var route in plan.Routes)
        {
            var vehicle = request.Vehicles.Single(v => v.Id == route.Vehicle);
            var progress = request.Progress?.GetValueOrDefault(vehicle.Id);
            var stops = route.Stops;
            var first = progress?.Served.Count ?? 0;
            Assert.Equal(StopKind.Depot, stops[0].Kind);
            Assert.Equal(StopKind.Depot, stops[^1].Kind);
            Assert.Equal(Registry.Facility(FacilityKind.Depot).Location, stops[^1].Location);
            Assert.True(stops.Any(s => s.Kind == StopKind.Bin) || progress is not null);
            if (stops.Any(s => s.Kind == StopKind.Bin))
            {
                Assert.Equal(StopKind.Facility, stops[^2].Kind); // the last load goes to the facility before the depot
            }
            var load = 0.0;
            var metres = 0.0;
            for (var i = 0; i < stops.Count; i++)
            {
                var s = stops[i];
                switch (s.Kind)
                {
                    case StopKind.Bin:
                        if (i >= first)
                        {
                            var job = jobs[s.JobId!];
                            Assert.Equal(job.Bin, s.Place);
                            Assert.Equal(job.Kg, s.Kg);
                            Assert.Equal(job.Compartments, s.Compartments);
                        }
                        load += s.Kg;
                        Assert.Equal(Options.ServiceTime(s.Compartments!.Count), s.Departs - s.Eta);
                        break;
                    case StopKind.Facility:
                        Assert.Equal(facility.Id, s.Place);
                        Assert.Equal(-load, s.Kg, 6);
                        Assert.True(s.Kg < 0);
                        load = 0;
                        Assert.Equal(Options.UnloadTime, s.Departs - s.Eta);
                        break;
                    default:
                        Assert.Equal(0, load);
                        break;
                }
                Assert.Equal(load, s.LoadKg, 6);
                Assert.True(load <= vehicle.CapacityKg + 1e-9, $"{route.Vehicle} carries {load} kg at stop {i}, over its {vehicle.CapacityKg} kg");
                Assert.True(s.Departs >= s.Eta);
                if (i > 0)
                {
                    var travel = Travel.Seconds(stops[i - 1].Location, s.Location);
                    Assert.True(Math.Abs((s.Eta - stops[i - 1].Departs).TotalSeconds - travel) < 0.01,
                        $"{route.Vehicle} stop {i}: arrives {(s.Eta - stops[i - 1].Departs).TotalSeconds} s after leaving the previous one, the drive takes {travel} s");
                    metres += Travel.Metres(stops[i - 1].Location, s.Location);
                }
                if (i >= first)
                {
                    Assert.True(s.Eta >= request.ShiftStart && s.Departs <= request.ShiftEnd, $"{route.Vehicle} stop {i} at {s.Eta:O} is outside the shift");
                }
            }
            Assert.Equal(metres / 1000, route.DistanceKm, 6);
            Assert.Equal(stops.Count(s => s.Kind == StopKind.Facility), route.Trips);
        }
    }

    [Fact]
    public async Task Every_job_is_served_when_the_shift_has_room()
    {
        var jobs = Enumerable.Range(1, 20).Select(i => Job(BinId(i), 120)).ToList();
        var request = Request(jobs);
        var plan = await Planner().PlanAsync(request, CancellationToken.None);
        AssertConsistent(plan, request);
        Assert.Empty(plan.Unserved);
        Assert.Equal(jobs.Select(j => j.JobId).Order(), plan.Routes.SelectMany(r => r.Stops).Select(s => s.JobId).OfType<string>().Order());
        Assert.Contains(plan.SolverStatus, new[] { "time-limit", "feasible", "optimal" });
        Assert.All(plan.Routes, r => Assert.True(r.DistanceKm > 0));
    }

    [Fact]
    public async Task A_late_penalty_brings_a_job_due_early_in_the_shift_forward_and_none_gives_the_shortest_route()
    {
        // One truck, eight bins, nothing due within the shift: the default (no late penalty) plans the shortest route.
        var truck = MorningVehicles().First(v => v.CapacityKg == 2000);
        var jobs = Enumerable.Range(1, 8).Select(i => Job(BinId(i * 6), 100)).ToList();
        var shortest = await Planner().PlanAsync(Request(jobs, [truck]), CancellationToken.None);
        var order = Assert.Single(shortest.Routes).Stops.Where(s => s.Kind == StopKind.Bin).Select(s => s.JobId!).ToList();
        Assert.Equal(8, order.Count);

        // The bin that route reaches last becomes due 20 minutes into the shift: with a late penalty the plan goes there first,
        // though the route is longer (the greedy stand-in, shorter and late, must not win either).
        var last = order[^1];
        var dueEarly = jobs.Select(j => j.JobId == last ? j with { Deadline = ShiftStart + TimeSpan.FromMinutes(20) } : j).ToList();
        var penalised = new OrToolsShiftPlanner(Registry, Travel, new FakeTimeProvider(ShiftStart), new ShiftPlannerOptions { LatePenaltyPerMinute = 100_000 });
        var request = Request(dueEarly, [truck]);
        var early = await penalised.PlanAsync(request, CancellationToken.None);
        AssertConsistent(early, request);
        var earlyRoute = Assert.Single(early.Routes);
        var earlyStops = earlyRoute.Stops.Where(s => s.Kind == StopKind.Bin).ToList();
        output.WriteLine($"shortest {shortest.Routes[0].DistanceKm:F2} km, {last} last; with the penalty {earlyRoute.DistanceKm:F2} km, {last} at stop {earlyStops.FindIndex(s => s.JobId == last) + 1}");
        Assert.Equal(last, earlyStops[0].JobId);
        Assert.True(earlyRoute.DistanceKm > shortest.Routes[0].DistanceKm,
            $"the penalised route ({earlyRoute.DistanceKm} km) is no longer than the shortest ({shortest.Routes[0].DistanceKm} km)");
    }

    [Fact]
    public async Task Loads_over_a_vehicles_capacity_take_further_trips_to_the_facility()
    {
        // One 2,000 kg truck and 12 jobs of 400 kg: at least three loads.
        var truck = MorningVehicles().First(v => v.CapacityKg == 2000);
        var jobs = Enumerable.Range(1, 12).Select(i => Job(BinId(i * 4), 400)).ToList();
        var request = Request(jobs, [truck]);
        var plan = await Planner().PlanAsync(request, CancellationToken.None);
        AssertConsistent(plan, request);
        Assert.Empty(plan.Unserved);
        var route = Assert.Single(plan.Routes);
        Assert.True(route.Trips >= 3, $"{route.Trips} trips");
        Assert.Equal(4800, -route.Stops.Where(s => s.Kind == StopKind.Facility).Sum(s => s.Kg), 6);
        Assert.True(route.Stops.Max(s => s.LoadKg) <= 2000);
        Assert.Equal([StopKind.Facility, StopKind.Depot], route.Stops.TakeLast(2).Select(s => s.Kind));
    }

    [Fact]
    public async Task A_shift_too_short_for_every_job_serves_the_urgent_ones_and_says_why_the_rest_wait()
    {
        // One truck, two hours, every bin: it cannot visit all 55.
        var truck = MorningVehicles().First(v => v.CapacityKg == 3000);
        var jobs = Enumerable.Range(1, 55).Select(i => Job(BinId(i), 20, urgent: i % 11 == 0, deadlineHours: 24 + i)).ToList();
        var request = Request(jobs, [truck], end: ShiftStart + TimeSpan.FromHours(2));
        var plan = await Planner().PlanAsync(request, CancellationToken.None);
        AssertConsistent(plan, request);
        var served = plan.Routes.SelectMany(r => r.Stops).Select(s => s.JobId).OfType<string>().ToHashSet();
        Assert.All(jobs.Where(j => j.Urgent), j => Assert.Contains(j.JobId, served));
        Assert.NotEmpty(plan.Unserved);
        Assert.Equal(55, served.Count + plan.Unserved.Count);
        Assert.All(plan.Unserved, u => Assert.StartsWith("no room in the shift", u.Reason, StringComparison.Ordinal));
        output.WriteLine($"served {served.Count} of 55 in two hours");
    }

    [Fact]
    public async Task When_not_even_the_urgent_jobs_fit_the_earliest_due_are_served_and_the_rest_listed()
    {
        var truck = MorningVehicles().First(v => v.CapacityKg == 3000);
        // Every job urgent; every other bin due at the shift's start, the rest a week later (neighbours differ).
        var jobs = Enumerable.Range(1, 55).Select(i => Job(BinId(i), 20, urgent: true, deadlineHours: i % 2 == 0 ? 0 : 160)).ToList();
        var request = Request(jobs, [truck], end: ShiftStart + TimeSpan.FromHours(2));
        var plan = await Planner().PlanAsync(request, CancellationToken.None);
        AssertConsistent(plan, request);
        var route = Assert.Single(plan.Routes);
        var served = route.Stops.Select(s => s.JobId).OfType<string>().ToHashSet();
        Assert.NotEmpty(served);
        Assert.NotEmpty(plan.Unserved);
        var early = jobs.Where(j => j.Deadline == ShiftStart).Select(j => j.JobId).ToHashSet();
        var servedEarly = served.Count(early.Contains);
        Assert.True(servedEarly >= 3 * (served.Count - servedEarly), $"{servedEarly} of the {served.Count} jobs served are the ones due first");
        Assert.All(plan.Unserved, u => Assert.Contains("more urgent jobs served", u.Reason, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unknown_bin_or_an_overweight_job_is_unserved_alone()
    {
        var jobs = new List<RouteJob> { Job(BinId(1), 100), Job("JY-999", 50, id: "ghost"), Job(BinId(2), 3500, id: "heavy"), Job(BinId(3), 100, urgent: true) };
        var request = Request(jobs);
        var plan = await Planner().PlanAsync(request, CancellationToken.None);
        AssertConsistent(plan, request);
        Assert.Equal(2, plan.Unserved.Count);
        Assert.Equal("no bin 'JY-999' in the registry", plan.Unserved.Single(u => u.JobId == "ghost").Reason);
        Assert.Equal("its load of 3500 kg is more than any vehicle carries (the largest takes 3000 kg)", plan.Unserved.Single(u => u.JobId == "heavy").Reason);
        Assert.Equal(["job-JY-001", "job-JY-003"], plan.Routes.SelectMany(r => r.Stops).Select(s => s.JobId).OfType<string>().Order());
    }

    [Fact]
    public async Task A_job_too_far_for_the_shift_is_unserved_before_solving()
    {
        // Half an hour cannot take a truck to a bin, the facility and back with 15 min unloading.
        var request = Request([Job(BinId(5), 100)], end: ShiftStart + TimeSpan.FromMinutes(30));
        var plan = await Planner().PlanAsync(request, CancellationToken.None);
        Assert.Empty(plan.Routes);
        Assert.StartsWith("too far for the shift", Assert.Single(plan.Unserved).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_re_plan_keeps_the_stops_already_served_and_starts_where_the_vehicle_is()
    {
        var truck = MorningVehicles().First(v => v.CapacityKg == 2500);
        var jobs = Enumerable.Range(1, 10).Select(i => Job(BinId(i * 3), 200)).ToList();
        var first = await Planner().PlanAsync(Request(jobs, [truck]), CancellationToken.None);
        var route = Assert.Single(first.Routes);
        var served = route.Stops.Take(4).ToList(); // the depot and three bins
        Assert.All(served.Skip(1), s => Assert.Equal(StopKind.Bin, s.Kind));
        var last = served[^1];
        var progress = new VehicleProgress(last.Location, last.Departs, last.LoadKg, served,
            Enumerable.Range(1, 3).Sum(i => Travel.Metres(served[i - 1].Location, served[i].Location)) / 1000, 0);
        var servedIds = served.Select(s => s.JobId).OfType<string>().ToHashSet();
        var urgent = Job(BinId(50), 150, urgent: true, deadlineHours: 3, id: "urgent-50");
        var remaining = jobs.Where(j => !servedIds.Contains(j.JobId)).Append(urgent).ToList();
        var request = Request(remaining, [truck], progress: new Dictionary<string, VehicleProgress> { [truck.Id] = progress });

        var plan = await Planner().PlanAsync(request, CancellationToken.None);
        AssertConsistent(plan, request);
        var replanned = Assert.Single(plan.Routes);
        Assert.Equal(served, replanned.Stops.Take(4));
        Assert.Contains(replanned.Stops, s => s.JobId == "urgent-50");
        Assert.Empty(plan.Unserved);
        Assert.True(replanned.Stops[4].Eta >= last.Departs);
        Assert.Equal(last.LoadKg + replanned.Stops[4].Kg, replanned.Stops[4].LoadKg, 6);
        Assert.Equal(jobs.Count + 1, replanned.Stops.Count(s => s.Kind == StopKind.Bin));
    }

    [Theory]
    [InlineData(20)]
    [InlineData(0)] // no time at all: the greedy plan
    public async Task A_very_short_time_limit_still_gives_a_plan(int milliseconds)
    {
        var jobs = Enumerable.Range(1, 55).Select(i => Job(BinId(i), 150, urgent: i % 10 == 0)).ToList();
        var request = Request(jobs, solverTime: TimeSpan.FromMilliseconds(milliseconds));
        var plan = await Planner().PlanAsync(request, CancellationToken.None);
        AssertConsistent(plan, request);
        Assert.NotEmpty(plan.Routes);
        Assert.Empty(plan.Unserved);
        Assert.Equal("time-limit", plan.SolverStatus);
    }

    /// <summary>
    /// Every bin of the Jiyang fleet, full (each compartment at its maximum load), with the morning shift's 14 recyclables
    /// trucks. TELEMETRY_PLANNER_SECONDS sets the solver time (default 1 s); the figures go to the test output.
    /// </summary>
    [Fact]
    public async Task All_55_bins_of_the_recyclable_stream_are_planned_within_the_time_limit()
    {
        var seconds = double.Parse(Environment.GetEnvironmentVariable("TELEMETRY_PLANNER_SECONDS") ?? "1", CultureInfo.InvariantCulture);
        var jobs = Registry.Bins.Select(b => Job(b.Id, b.Compartments.Where(c => c.Stream == WasteStream.Recyclable).Sum(c => c.MaxKg))).ToList();
        var request = Request(jobs, solverTime: TimeSpan.FromSeconds(seconds));
        var started = DateTime.UtcNow;
        var plan = await new OrToolsShiftPlanner(Registry, Travel, TimeProvider.System, Options).PlanAsync(request, CancellationToken.None);
        var wall = DateTime.UtcNow - started;
        AssertConsistent(plan, request);
        Assert.Empty(plan.Unserved);
        Assert.True(plan.SolveTime < TimeSpan.FromSeconds(seconds) + TimeSpan.FromSeconds(2), $"solved in {plan.SolveTime}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"solver {seconds} s: {plan.SolverStatus}, solve {plan.SolveTime.TotalSeconds:0.00} s (wall {wall.TotalSeconds:0.00} s), {plan.Routes.Count} vehicles, {plan.Routes.Sum(r => r.Trips)} trips, {plan.Routes.Sum(r => r.DistanceKm):0.0} km, {jobs.Sum(j => j.Kg):0} kg, last back {plan.Routes.Max(r => r.End):HH:mm} UTC"));
    }
}
