using Microsoft.Extensions.Time.Testing;
using Telemetry.Api;
using Telemetry.Api.Endpoints;
using Telemetry.Api.State;
using Telemetry.Contracts.Messages;
using Telemetry.Contracts.Time;
using Telemetry.Fleet;

namespace Telemetry.UnitTests.Api;

public sealed class RouteBoardTests
{
    private static readonly FleetRegistry Registry = FleetRegistryLoader.LoadDefault();

    // Monday 2026-12-07, 07:00 in Asia/Shanghai is 23:00 UTC the day before.
    private static readonly DateTimeOffset Shift1 = new(2026, 12, 6, 23, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Shift2 = Shift1.AddDays(1);

    private readonly FakeTimeProvider _time = new(Shift1.AddHours(-2));

    private RouteBoard Board() => new(new TelemetryClock(_time));

    internal static RoutePlanned Plan(string stream, DateTimeOffset shiftStart, int revision = 1, string vehicle = "REC-01", params string[] bins)
    {
        var depot = Registry.Facilities.First(f => f.Kind == FacilityKind.Depot);
        var facility = Registry.Facility(WasteStreams.Parse(stream).Destination());
        var stops = new List<RouteStopInfo> { new("depot", depot.Id, depot.Location.Latitude, depot.Location.Longitude, shiftStart, shiftStart, 0, 0, null, []) };
        var t = shiftStart;
        var load = 0.0;
        foreach (var (id, i) in (bins.Length == 0 ? ["JY-001", "JY-002"] : bins).Select((b, i) => (b, i)))
        {
            var bin = Registry.FindBin(id)!;
            t = t.AddMinutes(20);
            load += 40;
            stops.Add(new("bin", id, bin.Location.Latitude, bin.Location.Longitude, t, t.AddMinutes(5), load, 40, $"job-{id}-{revision}", ["paper", "plastic"]));
        }
        t = t.AddMinutes(30);
        stops.Add(new("facility", facility.Id, facility.Location.Latitude, facility.Location.Longitude, t, t.AddMinutes(15), 0, -load, null, []));
        stops.Add(new("depot", depot.Id, depot.Location.Latitude, depot.Location.Longitude, t.AddMinutes(40), t.AddMinutes(40), 0, 0, null, []));
        return new RoutePlanned($"{stream}-{shiftStart:yyyyMMddHH}", revision, stream, shiftStart, shiftStart.AddHours(8), shiftStart.AddHours(-1),
            [new RouteInfo(vehicle, 12.5 * revision, 1, stops)], [new UnservedJobInfo("job-JY-009", "JY-009", "capacity")], "optimal");
    }

    [Fact]
    public void A_later_revision_of_a_plan_replaces_it_and_an_older_or_repeated_one_changes_nothing()
    {
        var board = Board();
        Assert.True(board.Apply(Plan("recyclable", Shift1, revision: 1)));
        Assert.True(board.Apply(Plan("recyclable", Shift1, revision: 3, bins: ["JY-005"])));
        Assert.False(board.Apply(Plan("recyclable", Shift1, revision: 2)));
        Assert.False(board.Apply(Plan("recyclable", Shift1, revision: 3)));
        var plan = Assert.Single(board.Current());
        Assert.Equal(3, plan.Revision);
        Assert.Equal(["depot", "JY-005", "sorting-centre"], plan.Routes[0].Stops.Take(3).Select(s => s.Place));
    }

    [Fact]
    public void The_next_shift_is_kept_beside_the_running_one_and_replaces_it_when_it_starts()
    {
        var board = Board();
        _time.SetUtcNow(Shift1.AddHours(1));
        board.Apply(Plan("recyclable", Shift1));
        board.Apply(Plan("recyclable", Shift2));
        board.Apply(Plan("kitchen", Shift1, vehicle: "KIT-01"));
        Assert.Equal(3, board.Current().Count);
        // The first shift ended (08:00 after its start): the next one replaces it although it has not started.
        _time.SetUtcNow(Shift1.AddHours(8));
        Assert.Equal([Shift2], board.Current().Where(p => p.Stream == "recyclable").Select(p => p.ShiftStart));
        // A stream without a later plan keeps its last one after it ended.
        Assert.Equal([Shift1], board.Current().Where(p => p.Stream == "kitchen").Select(p => p.ShiftStart));
    }

    [Fact]
    public void Of_ended_shifts_only_the_most_recent_is_kept_whatever_order_they_come_in()
    {
        var board = Board();
        _time.SetUtcNow(Shift2.AddDays(3));
        Assert.Equal(2, board.Load([Plan("residual", Shift2, vehicle: "RES-01"), Plan("residual", Shift1, vehicle: "RES-01")]));
        Assert.Equal([Shift2], board.Current().Select(p => p.ShiftStart));
    }

    [Fact]
    public void A_plan_for_a_shift_that_started_replaces_an_earlier_one_still_running()
    {
        var board = Board();
        board.Apply(Plan("hazardous", Shift1, vehicle: "HAZ-01"));
        var overlapping = Plan("hazardous", Shift1.AddHours(4), vehicle: "HAZ-01");
        board.Apply(overlapping);
        _time.SetUtcNow(Shift1.AddHours(3));
        Assert.Equal(2, board.Current().Count);
        _time.SetUtcNow(Shift1.AddHours(4));
        Assert.Equal([overlapping.PlanId], board.Current().Select(p => p.PlanId));
    }

    [Fact]
    public void Only_a_newer_position_of_a_truck_is_taken()
    {
        var board = new VehicleBoard();
        var t = Shift1;
        Assert.True(board.Update(new VehiclePositionUpdate("REC-01", t, 36.98, 117.17, 30)));
        Assert.False(board.Update(new VehiclePositionUpdate("REC-01", t.AddSeconds(-1), 36.90, 117.10, 0)));
        Assert.False(board.Update(new VehiclePositionUpdate("REC-01", t, 36.90, 117.10, 0)));
        Assert.Equal(1, board.Load([new VehiclePositionUpdate("REC-01", t.AddSeconds(5), 36.99, 117.18, 25), new VehiclePositionUpdate("REC-01", t.AddSeconds(2), 36.0, 117.0, 1)]));
        var p = Assert.Single(board.Current());
        Assert.Equal((36.99, 117.18, 25.0), (p.Lat, p.Lon, p.SpeedKmh));
    }

    private static ShiftWaited Waited(string stream, DateTimeOffset shiftStart, int jobs = 3, double hours = 4.2) =>
        new($"{stream}-{shiftStart:yyyyMMddHH}", stream, shiftStart, shiftStart.AddHours(8), jobs, hours, shiftStart.AddDays(1), 12, shiftStart);

    [Fact]
    public void A_shift_not_driven_is_shown_until_the_following_shift_starts_or_a_plan_drives_it_after_all()
    {
        var board = Board();
        _time.SetUtcNow(Shift1);
        Assert.True(board.Apply(Waited("recyclable", Shift1)));
        Assert.False(board.Apply(Waited("recyclable", Shift1))); // a redelivery
        Assert.True(board.Apply(Waited("hazardous", Shift1, jobs: 1, hours: 0)));
        Assert.Equal(["hazardous", "recyclable"], board.Waiting().Select(w => w.Stream));

        // An urgent job drove the recyclable shift after all: its plan replaces the notice.
        Assert.True(board.Apply(Plan("recyclable", Shift1)));
        Assert.Equal(["hazardous"], board.Waiting().Select(w => w.Stream));
        Assert.False(board.Apply(Waited("recyclable", Shift1))); // late: the plan is there

        // Gone when the following shift starts; a notice already past it is not taken.
        _time.SetUtcNow(Shift2);
        Assert.Empty(board.Waiting());
        Assert.False(board.Apply(Waited("kitchen", Shift1)));

        // A late notice of a shift whose plan has since given way to a later shift's is not taken either (its following shift
        // not started yet); another shift's is.
        var late = Board();
        Assert.True(late.Apply(Plan("recyclable", Shift1)));
        Assert.True(late.Apply(Plan("recyclable", Shift2)));
        Assert.Equal([Shift2], late.Current().Select(p => p.ShiftStart)); // the ended plan gave way
        Assert.False(late.Apply(Waited("recyclable", Shift1) with { FollowingStart = Shift2.AddHours(6) }));
        Assert.True(late.Apply(Waited("kitchen", Shift1) with { FollowingStart = Shift2.AddHours(6) }));
        Assert.Equal(["kitchen"], late.Waiting().Select(w => w.Stream));

        var answer = RoutesEndpoints.Answer("hazardous", null, [], [], Registry, new MapOptions(), [Waited("hazardous", Shift1, jobs: 1), Waited("recyclable", Shift1)]);
        var w = Assert.Single(answer.Waiting);
        Assert.Equal(("hazardous", 1, 4.2, Shift2, 12.0), (w.Stream, w.Jobs, w.OverflowHours, w.FollowingStart, w.WaitOverflowHours));
    }

    [Fact]
    public void The_answer_names_stops_by_address_or_facility_and_filters_by_stream_and_vehicle()
    {
        var plans = new[] { Plan("recyclable", Shift1), Plan("kitchen", Shift1, vehicle: "KIT-01", bins: ["JY-003"]) };
        var positions = new[] { new VehiclePositionUpdate("REC-01", Shift1, 36.98, 117.17, 30), new VehiclePositionUpdate("KIT-01", Shift1, 36.97, 117.16, 0) };
        var all = RoutesEndpoints.Answer(null, null, plans, positions, Registry, new MapOptions());
        // Streams in the registry's order: recyclable before kitchen.
        Assert.Equal(["REC-01", "KIT-01"], all.Routes.Select(r => r.Vehicle));
        var stops = all.Routes[0].Stops;
        Assert.Equal(Enumerable.Range(0, stops.Count), stops.Select(s => s.Seq));
        Assert.Equal(Registry.FindBin("JY-001")!.Address, stops[1].Name);
        Assert.Equal(Registry.FindBin("JY-001")!.AddressZh, stops[1].NameZh);
        Assert.Equal(Registry.Facility(FacilityKind.SortingCentre).Name, stops[3].Name);
        Assert.Equal(2, all.Unserved.Count);
        Assert.Equal(["KIT-01", "REC-01"], all.Vehicles.Select(v => v.Id));

        var kitchen = RoutesEndpoints.Answer("kitchen", null, plans, positions, Registry, new MapOptions());
        Assert.Equal(["KIT-01"], kitchen.Routes.Select(r => r.Vehicle));
        Assert.Equal(["KIT-01"], kitchen.Vehicles.Select(v => v.Id));
        Assert.All(kitchen.Unserved, u => Assert.Equal("kitchen", u.Stream));
        var one = RoutesEndpoints.Answer(null, "REC-01", plans, positions, Registry, new MapOptions());
        Assert.Equal(["REC-01"], one.Routes.Select(r => r.Vehicle));
        Assert.Equal(["REC-01"], one.Vehicles.Select(v => v.Id));
        Assert.Equal("stream", Assert.Throws<QueryParameters.BadParameterException>(() => RoutesEndpoints.Answer("glass", null, plans, positions, Registry, new MapOptions())).Parameter);
        Assert.Equal("vehicle", Assert.Throws<QueryParameters.BadParameterException>(() => RoutesEndpoints.Answer(null, "REC-99", plans, positions, Registry, new MapOptions())).Parameter);
    }

    [Fact]
    public void On_a_GCJ_02_map_stops_and_trucks_are_drawn_at_converted_positions()
    {
        var plan = Plan("recyclable", Shift1);
        var answer = RoutesEndpoints.Answer(null, null, [plan], [new VehiclePositionUpdate("REC-01", Shift1, 36.98, 117.17, 30)], Registry, new MapOptions { TileDatum = "gcj02" });
        var stop = answer.Routes[0].Stops[1];
        var expected = MapDatums.ToGcj02(new GeoPoint(stop.Lat, stop.Lon));
        Assert.Equal(Math.Round(expected.Latitude, 7), stop.Map.Latitude);
        Assert.NotEqual(stop.Lat, stop.Map.Latitude);
        Assert.NotEqual(36.98, answer.Vehicles[0].Map.Latitude);
    }
}
