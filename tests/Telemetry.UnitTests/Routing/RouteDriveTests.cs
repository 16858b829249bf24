using Telemetry.Fleet;
using Telemetry.Routing.Driving;
using Telemetry.Routing.Planning;

namespace Telemetry.UnitTests.Routing;

/// <summary>A truck on its planned route: where it is between and at stops, its speed, and each stop handed out once at its ETA.</summary>
public class RouteDriveTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 2, 23, 0, 0, TimeSpan.Zero);
    private static readonly GeoPoint Depot = new(36.96, 117.20);
    private static readonly GeoPoint BinA = new(36.98, 117.20);
    private static readonly GeoPoint BinB = new(36.98, 117.22);

    // Depot (leaves 07:00) -> A (07:10, serves 5 min) -> B (07:25, serves 5 min) -> depot (07:45); 12 km as planned.
    private static PlannedRoute Route() => new("KIT-01",
    [
        new PlannedStop(StopKind.Depot, "depot", Depot, T0, T0, 0),
        new PlannedStop(StopKind.Bin, "JY-001", BinA, T0.AddMinutes(10), T0.AddMinutes(15), 50, "j1", ["kitchen"], 50),
        new PlannedStop(StopKind.Bin, "JY-002", BinB, T0.AddMinutes(25), T0.AddMinutes(30), 90, "j2", ["kitchen"], 40),
        new PlannedStop(StopKind.Depot, "depot", Depot, T0.AddMinutes(45), T0.AddMinutes(45), 90),
    ], 12, 1);

    [Fact]
    public void Half_way_along_a_leg_the_truck_is_half_way_between_its_stops_at_the_legs_speed()
    {
        var drive = new RouteDrive(Route());
        var p = drive.PositionAt(T0.AddMinutes(5));
        Assert.Equal(DriveState.Driving, p.State);
        Assert.Equal(1, p.StopIndex);
        Assert.Equal(36.97, p.Location.Latitude, 6);
        Assert.Equal(117.20, p.Location.Longitude, 6);
        // The legs' great-circle lengths scaled to the planned 12 km: each leg's share over its time.
        var total = drive.LegKm(1) + drive.LegKm(2) + drive.LegKm(3);
        Assert.Equal(12, total, 6);
        Assert.Equal(drive.LegKm(1) / (10 / 60.0), p.SpeedKmh, 6);
        Assert.True(p.SpeedKmh > 10);
    }

    [Fact]
    public void At_a_stop_while_serving_the_truck_stands_still_there()
    {
        var drive = new RouteDrive(Route());
        var p = drive.PositionAt(T0.AddMinutes(12));
        Assert.Equal((DriveState.AtStop, 1, 0.0), (p.State, p.StopIndex, p.SpeedKmh));
        Assert.Equal(BinA, p.Location);
        var q = drive.PositionAt(T0.AddMinutes(27.5));
        Assert.Equal((DriveState.AtStop, 2), (q.State, q.StopIndex));
        Assert.Equal(BinB, q.Location);
    }

    [Fact]
    public void Before_the_start_and_after_the_end_the_truck_is_at_the_depot()
    {
        var drive = new RouteDrive(Route());
        var before = drive.PositionAt(T0.AddMinutes(-30));
        Assert.Equal((DriveState.BeforeStart, 0, 0.0), (before.State, before.StopIndex, before.SpeedKmh));
        Assert.Equal(Depot, before.Location);
        var after = drive.PositionAt(T0.AddHours(3));
        Assert.Equal((DriveState.Finished, 3), (after.State, after.StopIndex));
        Assert.Equal(Depot, after.Location);
    }

    [Fact]
    public void Each_stop_is_handed_out_once_when_the_time_passes_its_eta()
    {
        var drive = new RouteDrive(Route());
        Assert.Equal([0], drive.TakeArrivals(T0.AddMinutes(9)).Select(a => a.Index));
        Assert.Empty(drive.TakeArrivals(T0.AddMinutes(9.5)));
        Assert.Equal(T0.AddMinutes(10), drive.NextArrivalAt);
        var next = drive.TakeArrivals(T0.AddMinutes(30));
        Assert.Equal(["JY-001", "JY-002"], next.Select(a => a.Stop.Place));
        Assert.Equal(T0.AddMinutes(10), next[0].Stop.Eta);
        Assert.False(drive.Finished);
        Assert.Equal([3], drive.TakeArrivals(T0.AddHours(1)).Select(a => a.Index));
        Assert.True(drive.Finished);
        Assert.Null(drive.NextArrivalAt);
        Assert.Empty(drive.TakeArrivals(T0.AddHours(2)));
    }

    [Fact]
    public void A_replanned_route_does_not_hand_out_the_stops_served_before_again()
    {
        var drive = new RouteDrive(Route(), servedUntil: T0.AddMinutes(12));
        Assert.Equal(2, drive.Reached);
        Assert.Equal(["JY-002"], drive.TakeArrivals(T0.AddMinutes(26)).Select(a => a.Stop.Place));
    }

    [Fact]
    public void A_route_out_of_time_order_is_refused_naming_the_stop()
    {
        var route = Route();
        var stops = route.Stops.ToList();
        stops[2] = stops[2] with { Eta = T0.AddMinutes(11) }; // before A is left at 07:15
        var ex = Assert.Throws<ArgumentException>(() => new RouteDrive(route with { Stops = stops }));
        Assert.Contains("stop 2 (JY-002)", ex.Message, StringComparison.Ordinal);
    }
}
