using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Telemetry.Contracts.Messages;
using Telemetry.Fleet;

namespace Telemetry.IntegrationTests.Api;

/// <summary>Route plans as a routing worker would make them, for the registry's bins and facilities.</summary>
internal static class RoutePlans
{
    /// <summary>
    /// One vehicle's plan: from the depot to <paramref name="bins"/> in that order (20 minutes apart, 5 minutes at each, 40 kg of
    /// paper and plastic each), to the stream's facility, back to the depot; one job left out for lack of capacity.
    /// </summary>
    public static RoutePlanned Plan(FleetRegistry registry, string stream, string vehicle, DateTimeOffset shiftStart, int revision, params string[] bins)
    {
        var depot = registry.Facilities.First(f => f.Kind == FacilityKind.Depot);
        var facility = registry.Facility(WasteStreams.Parse(stream).Destination());
        var stops = new List<RouteStopInfo> { new("depot", depot.Id, depot.Location.Latitude, depot.Location.Longitude, shiftStart, shiftStart, 0, 0, null, []) };
        var t = shiftStart;
        var load = 0.0;
        foreach (var id in bins)
        {
            var bin = registry.FindBin(id)!;
            t = t.AddMinutes(20);
            load += 40;
            var compartments = bin.Compartments.Where(c => c.Stream == WasteStreams.Parse(stream)).Select(c => c.Id).Take(2).ToList();
            stops.Add(new("bin", id, bin.Location.Latitude, bin.Location.Longitude, t, t.AddMinutes(5), load, 40, $"job-{id}-{stream}", compartments));
            t = t.AddMinutes(5);
        }
        t = t.AddMinutes(30);
        stops.Add(new("facility", facility.Id, facility.Location.Latitude, facility.Location.Longitude, t, t.AddMinutes(15), 0, -load, null, []));
        stops.Add(new("depot", depot.Id, depot.Location.Latitude, depot.Location.Longitude, t.AddMinutes(40), t.AddMinutes(40), 0, 0, null, []));
        return new RoutePlanned($"{stream}-{shiftStart:yyyyMMddHHmm}", revision, stream, shiftStart, shiftStart.AddHours(8), shiftStart.AddMinutes(-30),
            [new RouteInfo(vehicle, 10 + revision + bins.Length, 1, stops)], [new UnservedJobInfo($"job-JY-050-{stream}", "JY-050", "capacity")], "optimal");
    }

    /// <summary>A shift that started an hour ago, on whole minutes.</summary>
    public static DateTimeOffset RunningShift() =>
        new DateTimeOffset(DateTimeOffset.UtcNow.Ticks / TimeSpan.TicksPerMinute * TimeSpan.TicksPerMinute, TimeSpan.Zero).AddHours(-1);
}

/// <summary>
/// <c>GET /api/routes</c> on the api role composed in this process: plans and truck positions published on its in-memory bus as
/// the routing worker and ingestion publish them; keys, shapes, filters, bad parameters and revisions.
/// </summary>
public sealed class RoutesApiTests : IAsyncLifetime
{
    private InProcessApi _api = null!;

    public async Task InitializeAsync() => _api = await InProcessApi.StartAsync();

    public async Task DisposeAsync() => await _api.DisposeAsync();

    private async Task<JsonElement> RoutesAsync(string query = "", string role = "analyst")
    {
        using var http = _api.Client(_api.Keys.For(role));
        using var response = await http.GetAsync(new Uri("/api/routes" + query, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.Clone();
    }

    /// <summary>Polls /api/routes until <paramref name="done"/> holds (the bus delivers asynchronously); fails after 10 s.</summary>
    private async Task<JsonElement> WaitAsync(Func<JsonElement, bool> done, string what, string query = "")
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var answer = await RoutesAsync(query);
            if (done(answer))
            {
                return answer;
            }
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"within 10 s: {what}; last answer {answer}");
            await Task.Delay(50);
        }
    }

    private static int Revision(JsonElement answer, string vehicle) =>
        answer.GetProperty("routes").EnumerateArray().Where(r => r.GetProperty("vehicle").GetString() == vehicle).Select(r => r.GetProperty("revision").GetInt32()).SingleOrDefault();

    [Fact]
    public async Task Without_a_key_it_is_401_and_every_role_reads_it()
    {
        using (var anonymous = _api.Client())
        using (var response = await anonymous.GetAsync(new Uri("/api/routes", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
        }
        using (var wrong = _api.Client("not-a-key"))
        using (var response = await wrong.GetAsync(new Uri("/api/routes", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        foreach (var role in new[] { "analyst", "dispatcher", "admin" })
        {
            var answer = await RoutesAsync(role: role);
            Assert.Equal(JsonValueKind.Array, answer.GetProperty("routes").ValueKind);
            Assert.Equal(JsonValueKind.Array, answer.GetProperty("unserved").ValueKind);
            Assert.Equal(JsonValueKind.Array, answer.GetProperty("vehicles").ValueKind);
        }
        // Documented in the OpenAPI document, with the key it needs.
        using var http = _api.Client();
        var openapi = await http.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative));
        using var doc = JsonDocument.Parse(openapi);
        var get = doc.RootElement.GetProperty("paths").GetProperty("/api/routes").GetProperty("get");
        Assert.Contains("routes", get.GetProperty("summary").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.True(get.TryGetProperty("security", out _));
    }

    [Fact]
    public async Task A_published_plan_is_served_with_its_stops_in_order_names_and_times_and_the_truck_positions()
    {
        var shift = RoutePlans.RunningShift();
        var plan = RoutePlans.Plan(_api.Registry, "recyclable", "REC-03", shift, 1, "JY-004", "JY-002", "JY-007");
        await _api.Bus.Publish(plan);
        await _api.PublishPositionsAsync(new VehiclePositionUpdate("REC-03", shift.AddMinutes(30), 36.97, 117.2, 28.5));
        var answer = await WaitAsync(a => a.GetProperty("routes").GetArrayLength() == 1 && a.GetProperty("vehicles").GetArrayLength() == 1, "the plan and the position");

        var route = answer.GetProperty("routes")[0];
        Assert.Equal(plan.PlanId, route.GetProperty("planId").GetString());
        Assert.Equal(1, route.GetProperty("revision").GetInt32());
        Assert.Equal("recyclable", route.GetProperty("stream").GetString());
        Assert.Equal("REC-03", route.GetProperty("vehicle").GetString());
        Assert.Equal(shift, route.GetProperty("shiftStart").GetDateTimeOffset());
        Assert.EndsWith("Z", route.GetProperty("shiftEnd").GetString(), StringComparison.Ordinal);
        Assert.Equal(plan.PlannedAt, route.GetProperty("plannedAt").GetDateTimeOffset());
        Assert.Equal(14, route.GetProperty("distanceKm").GetDouble());
        Assert.Equal(1, route.GetProperty("trips").GetInt32());
        Assert.Equal("optimal", route.GetProperty("solverStatus").GetString());
        var stops = route.GetProperty("stops").EnumerateArray().ToList();
        Assert.Equal(["depot", "JY-004", "JY-002", "JY-007", "sorting-centre", "depot"], stops.Select(s => s.GetProperty("place").GetString()));
        Assert.Equal([0, 1, 2, 3, 4, 5], stops.Select(s => s.GetProperty("seq").GetInt32()));
        Assert.Equal(["depot", "bin", "bin", "bin", "facility", "depot"], stops.Select(s => s.GetProperty("kind").GetString()));
        var first = stops[1];
        var bin = _api.Registry.FindBin("JY-004")!;
        Assert.Equal(bin.Address, first.GetProperty("name").GetString());
        Assert.Equal(bin.AddressZh, first.GetProperty("nameZh").GetString());
        Assert.Equal(bin.Location.Latitude, first.GetProperty("lat").GetDouble());
        Assert.Equal(bin.Location.Longitude, first.GetProperty("lon").GetDouble());
        Assert.Equal(bin.Location.Latitude, first.GetProperty("map").GetProperty("latitude").GetDouble(), 6);
        Assert.Equal(shift.AddMinutes(20), first.GetProperty("eta").GetDateTimeOffset());
        Assert.Equal(shift.AddMinutes(25), first.GetProperty("departs").GetDateTimeOffset());
        Assert.Equal(40, first.GetProperty("loadKg").GetDouble());
        Assert.Equal(40, first.GetProperty("kg").GetDouble());
        Assert.Equal("job-JY-004-recyclable", first.GetProperty("jobId").GetString());
        Assert.Equal(["paper", "plastic"], first.GetProperty("compartments").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal("Jiyang Recyclables Sorting Centre", stops[4].GetProperty("name").GetString());
        Assert.Equal("济阳区可回收物分拣中心", stops[4].GetProperty("nameZh").GetString());
        Assert.Equal(-120, stops[4].GetProperty("kg").GetDouble());
        Assert.Equal(JsonValueKind.Null, stops[0].GetProperty("jobId").ValueKind);

        var unserved = Assert.Single(answer.GetProperty("unserved").EnumerateArray());
        Assert.Equal(plan.PlanId, unserved.GetProperty("planId").GetString());
        Assert.Equal("recyclable", unserved.GetProperty("stream").GetString());
        Assert.Equal("job-JY-050-recyclable", unserved.GetProperty("jobId").GetString());
        Assert.Equal("JY-050", unserved.GetProperty("bin").GetString());
        Assert.Equal("capacity", unserved.GetProperty("reason").GetString());

        var truck = answer.GetProperty("vehicles")[0];
        Assert.Equal("REC-03", truck.GetProperty("id").GetString());
        Assert.Equal("recyclable", truck.GetProperty("stream").GetString());
        Assert.Equal(36.97, truck.GetProperty("lat").GetDouble());
        Assert.Equal(117.2, truck.GetProperty("lon").GetDouble());
        Assert.Equal(28.5, truck.GetProperty("speedKmh").GetDouble());
        Assert.Equal(shift.AddMinutes(30), truck.GetProperty("ts").GetDateTimeOffset());

        // A newer position moves the truck; an older one that arrives late does not.
        await _api.PublishPositionsAsync(new VehiclePositionUpdate("REC-03", shift.AddMinutes(31), 36.975, 117.21, 12));
        await _api.PublishPositionsAsync(new VehiclePositionUpdate("REC-03", shift.AddMinutes(29), 36.0, 117.0, 0));
        await _api.PublishPositionsAsync(new VehiclePositionUpdate("KIT-02", shift.AddMinutes(29), 36.96, 117.19, 5));
        answer = await WaitAsync(a => a.GetProperty("vehicles").GetArrayLength() == 2, "the kitchen truck");
        Assert.Equal(36.975, answer.GetProperty("vehicles").EnumerateArray().Single(v => v.GetProperty("id").GetString() == "REC-03").GetProperty("lat").GetDouble());
    }

    [Fact]
    public async Task Stream_and_vehicle_filters_and_a_bad_value_is_400_naming_the_parameter()
    {
        var shift = RoutePlans.RunningShift();
        await _api.Bus.Publish(RoutePlans.Plan(_api.Registry, "recyclable", "REC-01", shift, 1, "JY-001"));
        await _api.Bus.Publish(RoutePlans.Plan(_api.Registry, "kitchen", "KIT-01", shift.AddMinutes(1), 1, "JY-003", "JY-005"));
        await _api.PublishPositionsAsync(new VehiclePositionUpdate("REC-01", shift, 36.97, 117.2, 0), new VehiclePositionUpdate("KIT-01", shift, 36.96, 117.19, 0));
        await WaitAsync(a => a.GetProperty("routes").GetArrayLength() == 2 && a.GetProperty("vehicles").GetArrayLength() == 2, "both plans");

        var kitchen = await RoutesAsync("?stream=kitchen");
        Assert.Equal(["KIT-01"], kitchen.GetProperty("routes").EnumerateArray().Select(r => r.GetProperty("vehicle").GetString()));
        Assert.Equal(["KIT-01"], kitchen.GetProperty("vehicles").EnumerateArray().Select(r => r.GetProperty("id").GetString()));
        Assert.All(kitchen.GetProperty("unserved").EnumerateArray(), u => Assert.Equal("kitchen", u.GetProperty("stream").GetString()));
        var one = await RoutesAsync("?vehicle=REC-01");
        Assert.Equal(["REC-01"], one.GetProperty("routes").EnumerateArray().Select(r => r.GetProperty("vehicle").GetString()));
        Assert.Equal(["REC-01"], one.GetProperty("vehicles").EnumerateArray().Select(r => r.GetProperty("id").GetString()));
        // A known vehicle without a plan: nothing, not an error.
        Assert.Equal(0, (await RoutesAsync("?vehicle=REC-20")).GetProperty("routes").GetArrayLength());
        Assert.Equal(0, (await RoutesAsync("?stream=hazardous")).GetProperty("routes").GetArrayLength());

        using var http = _api.Client(_api.Keys.Analyst);
        foreach (var (query, parameter) in new[] { ("?stream=glass", "stream"), ("?vehicle=REC-99", "vehicle"), ("?stream=", "stream") })
        {
            using var response = await http.GetAsync(new Uri("/api/routes" + query, UriKind.Relative));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal(parameter, problem.RootElement.GetProperty("parameter").GetString());
            Assert.StartsWith(parameter + ":", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_later_revision_replaces_the_plan_and_an_older_one_arriving_late_does_not()
    {
        var shift = RoutePlans.RunningShift();
        await _api.Bus.Publish(RoutePlans.Plan(_api.Registry, "residual", "RES-02", shift, 2, "JY-010", "JY-011"));
        await WaitAsync(a => Revision(a, "RES-02") == 2, "revision 2");
        await _api.Bus.Publish(RoutePlans.Plan(_api.Registry, "residual", "RES-02", shift, 1, "JY-012"));
        await _api.Bus.Publish(RoutePlans.Plan(_api.Registry, "residual", "RES-02", shift, 3, "JY-013", "JY-010", "JY-011"));
        var answer = await WaitAsync(a => Revision(a, "RES-02") == 3, "revision 3");
        var route = Assert.Single(answer.GetProperty("routes").EnumerateArray());
        Assert.Equal(["JY-013", "JY-010", "JY-011"], route.GetProperty("stops").EnumerateArray().Where(s => s.GetProperty("kind").GetString() == "bin").Select(s => s.GetProperty("place").GetString()));
        // Revision 1 came between: had it been taken it would have been replaced by 3 anyway, so it is sent again now.
        await _api.Bus.Publish(RoutePlans.Plan(_api.Registry, "residual", "RES-02", shift, 1, "JY-012"));
        await _api.Bus.Publish(RoutePlans.Plan(_api.Registry, "hazardous", "HAZ-01", shift, 1, "JY-020"));
        answer = await WaitAsync(a => Revision(a, "HAZ-01") == 1, "the hazardous plan, published after the late revision");
        Assert.Equal(3, Revision(answer, "RES-02"));
    }
}
