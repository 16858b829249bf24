using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Telemetry.Fleet;
using Telemetry.Routing.Travel;

namespace Telemetry.UnitTests.Routing;

public sealed class GreatCircleTravelTests
{
    [Fact]
    public async Task Distances_are_haversine_times_the_road_factor_and_times_follow_the_speed()
    {
        // One degree of latitude on the mean Earth sphere is 6,371,008.8 m x pi / 180 = 111,195.08 m.
        var a = new GeoPoint(36.5, 117.0);
        var b = new GeoPoint(37.5, 117.0);
        Assert.Equal(111_195.08, GreatCircleTravel.Haversine(a, b), 0.1);

        // Equator to pole: a quarter of the circumference, 10,007,557 m; one degree of longitude on the equator as one of latitude.
        Assert.Equal(10_007_557, GreatCircleTravel.Haversine(new GeoPoint(0, 30), new GeoPoint(90, 30)), 1.0);
        Assert.Equal(111_195.08, GreatCircleTravel.Haversine(new GeoPoint(0, 117), new GeoPoint(0, 118)), 0.1);
        // Along a parallel the distance shrinks with the cosine of the latitude (small-angle check at 60 N: half).
        Assert.Equal(111_195.08 / 2, GreatCircleTravel.Haversine(new GeoPoint(60, 117), new GeoPoint(60, 117.001)) * 1000, 5.0);

        var travel = new GreatCircleTravel(roadFactor: 1.3, speedKmh: 30);
        var matrix = await travel.MatrixAsync([a, b, a], CancellationToken.None);
        Assert.Equal(111_195.08 * 1.3, matrix.Metres[0, 1], 0.2);
        Assert.Equal(matrix.Metres[0, 1], matrix.Metres[1, 0]);
        // 144.55 km at 30 km/h: 4.818 h.
        Assert.Equal(111_195.08 * 1.3 / (30 / 3.6), matrix.Seconds[0, 1], 0.1);
        Assert.Equal(matrix.Seconds[0, 1], matrix.Seconds[1, 0]);
        Assert.Equal(0, matrix.Metres[0, 2]);
        Assert.Equal(0, matrix.Seconds[1, 1]);
    }

    [Fact]
    public void Bad_settings_name_their_keys()
    {
        Assert.Empty(new TravelOptions().Validate());
        Assert.Contains(new TravelOptions { Provider = "crow" }.Validate(), e => e.StartsWith("Routing:Travel:Provider:", StringComparison.Ordinal));
        Assert.Contains(new TravelOptions { RoadFactor = 0.5 }.Validate(), e => e.StartsWith("Routing:Travel:RoadFactor:", StringComparison.Ordinal));
        Assert.Contains(new TravelOptions { SpeedKmh = 0 }.Validate(), e => e.StartsWith("Routing:Travel:SpeedKmh:", StringComparison.Ordinal));
        var osrm = new TravelOptions { Provider = "osrm", Osrm = new OsrmTravelOptions { Url = null, Profile = "dri ving", Timeout = TimeSpan.Zero, MaxTableSize = 1 } };
        var errors = osrm.Validate();
        Assert.Contains(errors, e => e.StartsWith("Routing:Travel:Osrm:Url:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Routing:Travel:Osrm:Profile:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Routing:Travel:Osrm:Timeout:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Routing:Travel:Osrm:MaxTableSize:", StringComparison.Ordinal));
        Assert.Contains(new TravelOptions { Provider = "osrm", Osrm = new OsrmTravelOptions { Url = "ftp://x" } }.Validate(),
            e => e.StartsWith("Routing:Travel:Osrm:Url:", StringComparison.Ordinal));
        Assert.Empty(new TravelOptions { Provider = "osrm", Osrm = new OsrmTravelOptions { Url = "http://127.0.0.1:5000" } }.Validate());
        Assert.IsType<OsrmTravel>(TravelCostProviders.Create(new TravelOptions { Provider = "osrm", Osrm = new OsrmTravelOptions { Url = "http://127.0.0.1:5000" } }, () => new HttpClient()));
        Assert.IsType<GreatCircleTravel>(TravelCostProviders.Create(new TravelOptions(), () => throw new InvalidOperationException("not asked for")));
        Assert.Throws<InvalidOperationException>(() => TravelCostProviders.Create(new TravelOptions { Provider = "osrm" }, () => new HttpClient()));
    }
}

/// <summary>Against a local HTTP server that answers as OSRM's table service does.</summary>
public sealed class OsrmTravelTests : IAsyncLifetime, IDisposable
{
    private WebApplication? _app;
    private readonly HttpClient _http = new();

    /// <summary>What the server answers next.</summary>
    private volatile string _mode = "ok";
    private int _maxTableSize = 100;

    private readonly ConcurrentQueue<string> _requests = new();

    private string Url { get; set; } = "";

    // Point i lies at (36.9 + i/1000, 117.1 + i/1000); the server finds i from the coordinate it is sent.
    private static GeoPoint Point(int i) => new(36.9 + i / 1000.0, 117.1 + i / 1000.0);

    // Deliberately asymmetric, so a transposed matrix shows.
    private static double Metres(int from, int to) => 1000.0 * from + to + 0.5;

    private static double Seconds(int from, int to) => Metres(from, to) / 10;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.MapGet("/table/v1/{profile}/{coordinates}", (HttpContext context, string profile, string coordinates) => Answer(context, profile, coordinates));
        await _app.StartAsync();
        Url = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
    }

    public void Dispose() => _http.Dispose();

    private async Task<IResult> Answer(HttpContext context, string profile, string coordinates)
    {
        _requests.Enqueue(context.Request.Path + context.Request.QueryString);
        switch (_mode)
        {
            case "invalid-query":
                return Results.Json(new { code = "InvalidQuery", message = "Query string malformed close to position 42" }, statusCode: 400);
            case "no-table":
                return Results.Json(new { code = "NoTable", message = "No table found" }, statusCode: 400);
            case "malformed":
                return Results.Text("{\"code\":\"Ok\",\"durations\":[[0,", "application/json", statusCode: 200);
            case "server-error":
                return Results.Text("<html>502 Bad Gateway</html>", "text/html", statusCode: 500);
            case "slow":
                await Task.Delay(Timeout.InfiniteTimeSpan, context.RequestAborted);
                return Results.StatusCode(504);
        }
        if (profile != "driving")
        {
            return Results.Json(new { code = "InvalidValue", message = $"Unknown profile {profile}" }, statusCode: 400);
        }
        var ids = coordinates.Split(';').Select(c =>
        {
            var lon = double.Parse(c.Split(',')[0], CultureInfo.InvariantCulture);
            return (int)Math.Round((lon - 117.1) * 1000);
        }).ToArray();
        int[] Indices(string name) => context.Request.Query[name].ToString() is { Length: > 0 } list
            ? list.Split(';').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray()
            : Enumerable.Range(0, ids.Length).ToArray();
        var sources = Indices("sources");
        var destinations = Indices("destinations");
        if (context.Request.Query["annotations"] != "distance,duration")
        {
            return Results.Json(new { code = "InvalidOptions", message = "annotations" }, statusCode: 400);
        }
        if (sources.Length * destinations.Length > _maxTableSize * _maxTableSize)
        {
            return Results.Json(new { code = "TooBig", message = "Too many table coordinates" }, statusCode: 400);
        }
        var nullPair = _mode == "null-entry";
        double?[][] Table(Func<int, int, double> value) => [.. sources.Select(s => destinations
            .Select(d => nullPair && ids[s] == 2 && ids[d] == 3 ? (double?)null : ids[s] == ids[d] ? 0 : value(ids[s], ids[d])).ToArray())];
        return Results.Json(new { code = "Ok", distances = Table(Metres), durations = Table(Seconds), sources = Array.Empty<object>(), destinations = Array.Empty<object>() });
    }

    private OsrmTravel Travel(int maxTableSize = 100, TimeSpan? timeout = null) =>
        new(_http, new OsrmTravelOptions { Url = Url + "/", Profile = "driving", MaxTableSize = maxTableSize, Timeout = timeout ?? TimeSpan.FromSeconds(10) });

    private static void AssertMatrix(TravelMatrix matrix, int n)
    {
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                Assert.Equal(i == j ? 0 : Metres(i, j), matrix.Metres[i, j]);
                Assert.Equal(i == j ? 0 : Seconds(i, j), matrix.Seconds[i, j]);
            }
        }
    }

    [Fact]
    public async Task The_table_is_read_with_rows_as_sources()
    {
        var points = Enumerable.Range(0, 5).Select(Point).ToArray();
        var matrix = await Travel().MatrixAsync(points, CancellationToken.None);
        AssertMatrix(matrix, 5);
        // Row = from: 2 -> 3 is 2003.5 m, 3 -> 2 is 3002.5 m.
        Assert.Equal(2003.5, matrix.Metres[2, 3]);
        Assert.Equal(3002.5, matrix.Metres[3, 2]);
        var request = Assert.Single(_requests);
        Assert.StartsWith("/table/v1/driving/117.1,36.9;117.101,36.901;", request, StringComparison.Ordinal);
        Assert.EndsWith("?annotations=distance,duration", request, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_matrix_larger_than_the_table_size_is_asked_for_in_blocks()
    {
        _maxTableSize = 4;
        var points = Enumerable.Range(0, 10).Select(Point).ToArray();
        var matrix = await Travel(maxTableSize: 4).MatrixAsync(points, CancellationToken.None);
        AssertMatrix(matrix, 10);
        // Blocks of 4, 4, 2 sources times the same destinations: 9 requests, none over 4 x 4.
        Assert.Equal(9, _requests.Count);
        Assert.All(_requests, r => Assert.Contains("&sources=", r, StringComparison.Ordinal));
        Assert.Contains(_requests, r => r.Contains("/117.108,36.908;117.109,36.909;117.1,36.9;117.101,36.901;117.102,36.902;117.103,36.903?", StringComparison.Ordinal)
            && r.EndsWith("&sources=0;1&destinations=2;3;4;5", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_request_over_the_servers_table_size_fails_with_TooBig()
    {
        _maxTableSize = 4;
        var e = await Assert.ThrowsAsync<TravelCostException>(() => Travel(maxTableSize: 100).MatrixAsync(Enumerable.Range(0, 5).Select(Point).ToArray(), CancellationToken.None));
        Assert.Contains("TooBig", e.Message, StringComparison.Ordinal);
        Assert.Contains("Too many table coordinates", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("invalid-query", "HTTP 400, code 'InvalidQuery': Query string malformed close to position 42")]
    [InlineData("no-table", "HTTP 400, code 'NoTable': No table found")]
    [InlineData("malformed", "HTTP 200, the answer is not JSON")]
    [InlineData("server-error", "HTTP 500, the answer is not JSON")]
    [InlineData("null-entry", "no route from point 2 (36.902 N, 117.102 E) to point 3 (36.903 N, 117.103 E)")]
    public async Task Error_answers_become_errors_naming_the_request_and_the_cause(string mode, string expected)
    {
        _mode = mode;
        var e = await Assert.ThrowsAsync<TravelCostException>(() => Travel().MatrixAsync(Enumerable.Range(0, 5).Select(Point).ToArray(), CancellationToken.None));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains($"OSRM {Url}/table/v1/driving/117.1,36.9;", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_that_does_not_answer_in_time_is_an_error_naming_the_timeout()
    {
        _mode = "slow";
        var started = DateTime.UtcNow;
        var e = await Assert.ThrowsAsync<TravelCostException>(() => Travel(timeout: TimeSpan.FromMilliseconds(300)).MatrixAsync([Point(0), Point(1)], CancellationToken.None));
        Assert.Contains("no answer within 00:00:00.3000000 (Routing:Travel:Osrm:Timeout)", e.Message, StringComparison.Ordinal);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_server_that_is_away_is_an_error_naming_the_address()
    {
        var port = new Uri(Url).Port;
        await DisposeAsync();
        using var http = new HttpClient();
        var travel = new OsrmTravel(http, new OsrmTravelOptions { Url = $"http://127.0.0.1:{port}" });
        var e = await Assert.ThrowsAsync<TravelCostException>(() => travel.MatrixAsync([Point(0), Point(1)], CancellationToken.None));
        Assert.Contains($"OSRM http://127.0.0.1:{port}/table/v1/driving/", e.Message, StringComparison.Ordinal);
        Assert.Contains("the request failed", e.Message, StringComparison.Ordinal);
    }
}
