using System.Text;
using Telemetry.Contracts.Readings;
using Telemetry.Storage;

namespace Telemetry.IntegrationTests.Storage;

/// <summary>Vehicle positions (written with the readings) and route plans, on every backend.</summary>
public abstract partial class StoreContractTests
{
    private static VehiclePositionReading Position(string vehicle, DateTimeOffset t, double lat, double lon = 117.18, double speed = 30, string stream = "recyclable") =>
        new(vehicle, stream, t, lat, lon, speed);

    [Fact]
    public async Task Positions_are_stored_with_the_readings_and_the_newest_of_each_vehicle_is_read_back()
    {
        var t = T0.AddHours(30);
        Assert.Empty(await Store.GetLatestVehiclePositionsAsync(Ct));
        await Store.WriteAsync([
            Position("REC-01", t.AddSeconds(20), 36.97, speed: 12.5),
            Position("REC-01", t, 36.90),
            Fill("JY-001", "paper", t, 40),
            Position("KIT-02", t.AddSeconds(5), 37.01, 117.2, 0, "kitchen"),
            Position("REC-01", t.AddSeconds(10), 36.95),
        ], [], Ct);
        Assert.Equal([Position("KIT-02", t.AddSeconds(5), 37.01, 117.2, 0, "kitchen"), Position("REC-01", t.AddSeconds(20), 36.97, speed: 12.5)],
            await Store.GetLatestVehiclePositionsAsync(Ct));

        // A later batch moves a truck; an older position arriving late does not move it back.
        await Store.WriteAsync([Position("REC-01", t.AddSeconds(40), 36.99, speed: 41), Position("KIT-02", t, 36.85, stream: "kitchen")], [], Ct);
        Assert.Equal([Position("KIT-02", t.AddSeconds(5), 37.01, 117.2, 0, "kitchen"), Position("REC-01", t.AddSeconds(40), 36.99, speed: 41)],
            await Store.GetLatestVehiclePositionsAsync(Ct));

        // Positions are no bin readings: neither read back nor counted as those.
        Assert.Equal([Fill("JY-001", "paper", t, 40)], await Store.GetReadingsAsync(null, t.AddHours(-1), t.AddHours(1), Ct));
        Assert.Equal(new StoredCounts(1, 0, 0, 0), await Store.CountAsync(t.AddHours(-1), t.AddHours(1), Ct));
    }

    [Fact]
    public async Task A_position_written_twice_is_stored_once_and_the_later_write_wins()
    {
        var t = T0.AddHours(31);
        // Within one millisecond is the same position (ts is truncated to milliseconds).
        await Store.WriteAsync([Position("REC-03", t.AddTicks(3), 36.9)], [], Ct);
        await Store.WriteAsync([Position("REC-03", t.AddTicks(7_000), 36.91234567890123, 117.49876543210987, 199.99)], [], Ct);
        Assert.Equal([Position("REC-03", t, 36.91234567890123, 117.49876543210987, 199.99)], await Store.GetLatestVehiclePositionsAsync(Ct));
        Assert.Equal(TimeSpan.Zero, (await Store.GetLatestVehiclePositionsAsync(Ct))[0].Time.Offset);
    }

    private static StoredRoutePlan Plan(string id, int revision, DateTimeOffset shiftStart, DateTimeOffset plannedAt, string? body = null, string stream = "recyclable") =>
        new(id, revision, stream, shiftStart, shiftStart.AddHours(8), plannedAt, body ?? $$"""{"planId":"{{id}}","revision":{{revision}}}""");

    [Fact]
    public async Task Route_plans_round_trip_every_field_and_any_body_exactly()
    {
        var shift = T0.AddDays(3).AddHours(-1); // 07:00 Asia/Shanghai
        const string body = """
            {"planId":"recyclable-2026-11-23","routes":[{"vehicle":"REC-01","stops":[{"place":"JY-001","eta":"2026-11-23T00:10:00Z"}]}],"note":"\"quoted\" ,= back\\slash 中文 \u0000 line\nfill,bin=JY-002 pct=99 1","unserved":[]}
            """ + "\n raw line\r\n\0 and a raw NUL";
        List<StoredRoutePlan> plans =
        [
            Plan("recyclable-2026-11-23", 1, shift, shift.AddHours(-2), body),
            // Hostile text everywhere the store keeps text: plan id, stream, body.
            .. HostileTexts.Select((text, i) => new StoredRoutePlan(text, i + 2, text, shift, shift.AddHours(8), shift.AddHours(-1).AddMilliseconds(i), text)),
        ];
        foreach (var p in plans)
        {
            await Store.WriteRoutePlanAsync(p, Ct);
        }
        Assert.Equal(plans, await Store.GetRoutePlansAsync(shift, shift.AddHours(8), Ct));

        // A plan's body is as large as a whole fleet's routes: 200 KB of JSON.
        var large = new StringBuilder("{\"routes\":[");
        while (large.Length < 200_000)
        {
            large.Append("{\"vehicle\":\"REC-01\",\"place\":\"JY-001\",\"eta\":\"2026-11-23T00:10:00Z\",\"note\":\"\\\"x\\\" \\\\ 中\"},");
        }
        large.Append("{}]}");
        var big = Plan("recyclable-2026-11-24", 1, shift.AddDays(1), shift.AddDays(1).AddHours(-2), large.ToString());
        await Store.WriteRoutePlanAsync(big, Ct);
        Assert.Equal([big], await Store.GetRoutePlansAsync(shift.AddDays(1), shift.AddDays(1), Ct));

        // Times are kept to the millisecond.
        var sub = new StoredRoutePlan("kitchen-2026-11-25", 1, "kitchen", shift.AddDays(2).AddTicks(9_999), shift.AddDays(2).AddHours(8).AddTicks(1),
            shift.AddDays(2).AddHours(-2).AddTicks(5_000), "{}");
        await Store.WriteRoutePlanAsync(sub, Ct);
        Assert.Equal([sub with { ShiftStart = shift.AddDays(2), ShiftEnd = shift.AddDays(2).AddHours(8), PlannedAt = shift.AddDays(2).AddHours(-2) }],
            await Store.GetRoutePlansAsync(shift.AddDays(2), shift.AddDays(2), Ct));
        // Plans are neither readings nor events.
        Assert.Equal(new StoredCounts(0, 0, 0, 0), await Store.CountAsync(shift.AddDays(-1), shift.AddDays(4), Ct));
        Assert.Empty(await Store.GetJobEventsAsync(shift.AddDays(-1), shift.AddDays(4), 100, Ct));
    }

    [Fact]
    public async Task A_route_plan_written_twice_is_stored_once_every_revision_is_kept_and_the_later_write_wins()
    {
        var shift = T0.AddDays(5);
        var first = Plan("kitchen-1", 1, shift, shift.AddHours(-2), stream: "kitchen");
        await Store.WriteRoutePlanAsync(first, Ct);
        await Store.WriteRoutePlanAsync(first, Ct);
        Assert.Equal([first], await Store.GetRoutePlansAsync(shift, shift.AddHours(8), Ct));

        // The same plan and revision with other content (a retried publish of a corrected plan): one plan, the later write's.
        var corrected = first with { Body = """{"corrected":true}""" };
        await Store.WriteRoutePlanAsync(corrected, Ct);
        // A re-plan during the shift is the next revision: both are kept, in order of planning.
        var replanned = Plan("kitchen-1", 2, shift, shift.AddHours(3), """{"revision":2}""", "kitchen");
        await Store.WriteRoutePlanAsync(replanned, Ct);
        Assert.Equal([corrected, replanned], await Store.GetRoutePlansAsync(shift, shift.AddHours(8), Ct));

        // Written again with an earlier planned time (a stale copy): the later planned one stays.
        await Store.WriteRoutePlanAsync(replanned with { PlannedAt = shift.AddHours(1), Body = "stale" }, Ct);
        Assert.Equal([corrected, replanned], await Store.GetRoutePlansAsync(shift, shift.AddHours(8), Ct));
        // With a later planned time, it replaces the revision.
        var later = replanned with { PlannedAt = shift.AddHours(4), Body = "later" };
        await Store.WriteRoutePlanAsync(later, Ct);
        Assert.Equal([corrected, later], await Store.GetRoutePlansAsync(shift, shift.AddHours(8), Ct));
    }

    [Fact]
    public async Task Route_plans_are_those_whose_shift_touches_the_period_ordered_by_planned_time_then_revision()
    {
        var from = T0.AddDays(7);
        var to = from.AddHours(6);
        StoredRoutePlan Shift(string id, int revision, DateTimeOffset start, DateTimeOffset end, DateTimeOffset plannedAt) =>
            new(id, revision, "residual", start, end, plannedAt, id);
        List<StoredRoutePlan> inside =
        [
            Shift("ends-at-from", 1, from.AddHours(-8), from, from.AddHours(-9)),
            Shift("overlaps-start", 1, from.AddHours(-2), from.AddHours(2), from.AddHours(-3)),
            Shift("within", 1, from.AddHours(1), from.AddHours(2), from.AddHours(-1)),
            Shift("within", 2, from.AddHours(1), from.AddHours(2), from.AddHours(1)),
            Shift("b-same-time", 1, from.AddHours(1), from.AddHours(3), from.AddHours(1)),
            Shift("a-same-time", 1, from.AddHours(1), from.AddHours(3), from.AddHours(1)),
            Shift("spans", 1, from.AddHours(-1), to.AddHours(1), from.AddHours(-2)),
            Shift("starts-at-to", 1, to, to.AddHours(8), to.AddHours(-1)),
            // Planned after the period (a re-plan late in a shift that began within it).
            Shift("overlaps-end", 3, to.AddHours(-1), to.AddHours(7), to.AddHours(2)),
        ];
        List<StoredRoutePlan> outside =
        [
            Shift("before", 1, from.AddHours(-9), from.AddMilliseconds(-1), from.AddHours(-10)),
            Shift("after", 1, to.AddMilliseconds(1), to.AddHours(8), from),
        ];
        foreach (var p in outside.Concat(Enumerable.Reverse(inside)))
        {
            await Store.WriteRoutePlanAsync(p, Ct);
        }
        var expected = inside.OrderBy(p => p.PlannedAt).ThenBy(p => p.Revision).ThenBy(p => p.PlanId, StringComparer.Ordinal).ToList();
        Assert.Equal(expected.Select(p => (p.PlanId, p.Revision)), (await Store.GetRoutePlansAsync(from, to, Ct)).Select(p => (p.PlanId, p.Revision)));
        Assert.Equal(expected, await Store.GetRoutePlansAsync(from, to, Ct));
        Assert.Empty(await Store.GetRoutePlansAsync(to.AddHours(9), to.AddHours(10), Ct));
    }
}
