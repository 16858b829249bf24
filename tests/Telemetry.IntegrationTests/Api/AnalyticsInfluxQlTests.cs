using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Telemetry.Api.Access;
using Telemetry.Contracts.Readings;
using Telemetry.Storage;
using Telemetry.Storage.InfluxDb;

namespace Telemetry.IntegrationTests.Api;

/// <summary>
/// docs/analytics.md, checked: each InfluxQL block of the doc, read from the doc file itself, runs as it is printed
/// against influxd 1.6.7 on known readings, and its figures equal both the known values and what the real
/// <c>telemetry run --roles api</c> answers for the same data (CONTRACT §3 and §6). The readings include deposits at
/// 23:59:59.999 and 00:00:00.000 local time, at the period's start and end, and one just before local midnight that
/// is already the next day in UTC terms.
/// </summary>
public sealed class AnalyticsInfluxQlTests(AnalyticsInfluxQlFixture data) : IClassFixture<AnalyticsInfluxQlFixture>
{
    /// <summary>The doc's period (November 2026, local days in Asia/Shanghai), as the API takes it.</summary>
    private const string From = "2026-11-01T00:00:00+08:00";
    private const string To = "2026-12-01T00:00:00+08:00";

    private const double Tolerance = 1e-9;

    [Fact]
    public void Every_query_of_the_doc_is_checked_here()
    {
        string[] checkedHere =
        [
            "deposits-by-day", "deposits-by-stream", "deposits-by-community", "deposits-by-material", "deposits-for-one-bin",
            "deposits-for-one-community", "diversion-rate", "diversion-rate-by-community", "diversion-rate-by-day",
            "diversion-rate-for-one-bin", "fill-latest", "fill-hourly", "fill-daily", "dead-letters-by-reason",
            "collections-by-day", "device-events-for-one-bin", "alert-raises-by-day", "job-requests-by-day",
            "vehicle-positions-latest",
        ];
        Assert.Equal(checkedHere.Order(StringComparer.Ordinal), data.Queries.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Deposited_kg_per_day_stream_community_material_and_bin_match_the_api()
    {
        // Per stream per local day: 23:59:59.999 local is that day, 00:00:00.000 the next; the period is [from, to).
        var byDay = Sums(await data.InfluxQlAsync("deposits-by-day"), r => $"{Day(r.Time)}/{r.Tag("stream")}", "sum");
        AssertFigures(new()
        {
            ["2026-11-01/recyclable"] = 0.75,
            ["2026-11-19/recyclable"] = 1.8,
            ["2026-11-19/residual"] = 2.0,
            ["2026-11-20/recyclable"] = 3.05,
            ["2026-11-20/kitchen"] = 3.0,
            ["2026-11-20/hazardous"] = 0.125,
            ["2026-11-20/residual"] = 4.0,
            ["2026-11-21/residual"] = 5.0,
        }, byDay, "deposits-by-day (known)");
        var apiByDay = await data.DiversionAsync("groupBy=day");
        AssertFigures(byDay, GroupKg(apiByDay), "deposits-by-day (api groupBy=day)");

        var byStream = Sums(await data.InfluxQlAsync("deposits-by-stream"), r => r.Tag("stream"), "sum");
        AssertFigures(new() { ["recyclable"] = 5.6, ["kitchen"] = 3.0, ["hazardous"] = 0.125, ["residual"] = 11.0 }, byStream, "deposits-by-stream (known)");
        AssertFigures(byStream, GroupKg(await data.DiversionAsync("groupBy=stream")).ToDictionary(kv => kv.Key.Split('/')[1], kv => kv.Value), "deposits-by-stream (api groupBy=stream)");
        AssertFigures(byStream, TotalKg(apiByDay), "deposits-by-stream (api total)");

        var byCommunity = Sums(await data.InfluxQlAsync("deposits-by-community"), r => $"{r.Tag("community")}/{r.Tag("stream")}", "sum");
        AssertFigures(new()
        {
            ["c01/recyclable"] = 3.75, ["c01/kitchen"] = 3.0, ["c01/hazardous"] = 0.125, ["c01/residual"] = 4.0,
            ["c02/recyclable"] = 1.85, ["c02/residual"] = 2.0,
            ["c03/residual"] = 5.0,
        }, byCommunity, "deposits-by-community (known)");
        var apiByCommunity = await data.DiversionAsync("groupBy=community");
        AssertFigures(byCommunity, GroupKg(apiByCommunity), "deposits-by-community (api groupBy=community)");
        Assert.Equal("Xinyuan Community", apiByCommunity.RootElement.GetProperty("groups")[0].GetProperty("name").GetString());

        var byMaterial = Sums(await data.InfluxQlAsync("deposits-by-material"), r => $"{r.Tag("compartment")}/{r.Tag("stream")}", "sum");
        AssertFigures(new()
        {
            ["paper/recyclable"] = 3.75, ["plastic/recyclable"] = 0.75, ["glass/recyclable"] = 0.3, ["textile/recyclable"] = 0.8,
            ["kitchen/kitchen"] = 3.0, ["hazardous/hazardous"] = 0.125, ["residual/residual"] = 11.0,
        }, byMaterial, "deposits-by-material (known)");
        AssertFigures(byMaterial, GroupKg(await data.DiversionAsync("groupBy=material")), "deposits-by-material (api groupBy=material)");

        var oneBin = Sums(await data.InfluxQlAsync("deposits-for-one-bin"), r => r.Tag("stream"), "sum");
        AssertFigures(new() { ["recyclable"] = 3.75, ["kitchen"] = 3.0, ["hazardous"] = 0.125, ["residual"] = 4.0 }, oneBin, "deposits-for-one-bin (known)");
        AssertFigures(oneBin, TotalKg(await data.DiversionAsync("bin=JY-001")), "deposits-for-one-bin (api bin=JY-001)");

        var oneCommunity = Sums(await data.InfluxQlAsync("deposits-for-one-community"), r => r.Tag("stream"), "sum");
        AssertFigures(new() { ["recyclable"] = 1.85, ["residual"] = 2.0 }, oneCommunity, "deposits-for-one-community (known)");
        AssertFigures(oneCommunity, TotalKg(await data.DiversionAsync("community=c02")), "deposits-for-one-community (api community=c02)");
    }

    [Fact]
    public async Task The_diversion_rate_in_one_influxql_query_matches_the_api_and_the_definition()
    {
        var total = Assert.Single(await data.InfluxQlAsync("diversion-rate"));
        Assert.Equal(8.725, total.Value("diverted_kg")!.Value, Tolerance);
        Assert.Equal(19.725, total.Value("deposited_kg")!.Value, Tolerance);
        Assert.Equal(8.725 / 19.725, total.Value("diversion_rate")!.Value, Tolerance);
        using var api = await data.DiversionAsync("groupBy=community");
        Assert.Equal(api.RootElement.GetProperty("total").GetProperty("diversionRate").GetDouble(), total.Value("diversion_rate")!.Value, Tolerance);

        // c03 has residual deposits only: a rate of 0, not null.
        var byCommunity = Sums(await data.InfluxQlAsync("diversion-rate-by-community"), r => r.Tag("community"), "diversion_rate");
        AssertFigures(new() { ["c01"] = 6.875 / 10.875, ["c02"] = 1.85 / 3.85, ["c03"] = 0.0 }, byCommunity, "diversion-rate-by-community (known)");
        AssertFigures(byCommunity, GroupRates(api), "diversion-rate-by-community (api)");

        var byDay = Sums(await data.InfluxQlAsync("diversion-rate-by-day"), r => Day(r.Time), "diversion_rate");
        AssertFigures(new() { ["2026-11-01"] = 1.0, ["2026-11-19"] = 1.8 / 3.8, ["2026-11-20"] = 6.175 / 10.175, ["2026-11-21"] = 0.0 },
            byDay, "diversion-rate-by-day (known)");
        using var apiByDay = await data.DiversionAsync("groupBy=day");
        AssertFigures(byDay, GroupRates(apiByDay), "diversion-rate-by-day (api)");

        var oneBin = Assert.Single(await data.InfluxQlAsync("diversion-rate-for-one-bin"));
        Assert.Equal(6.875 / 10.875, oneBin.Value("diversion_rate")!.Value, Tolerance);
        using var apiOneBin = await data.DiversionAsync("bin=JY-001");
        Assert.Equal(apiOneBin.RootElement.GetProperty("total").GetProperty("diversionRate").GetDouble(), oneBin.Value("diversion_rate")!.Value, Tolerance);

        // The CSV the analysts open in a spreadsheet carries the same figures.
        var csv = await data.DiversionCsvAsync("groupBy=day");
        var deposits = Sums(await data.InfluxQlAsync("deposits-by-day"), r => $"{Day(r.Time)}/{r.Tag("stream")}", "sum");
        Assert.Equal("key,name,recyclableKg,kitchenKg,hazardousKg,residualKg,diversionRate", csv[0]);
        var csvKg = new Dictionary<string, double>(StringComparer.Ordinal);
        var csvRates = new Dictionary<string, double>(StringComparer.Ordinal);
        string[] streams = ["recyclable", "kitchen", "hazardous", "residual"];
        foreach (var line in csv.Skip(1).Where(l => !l.StartsWith("total,", StringComparison.Ordinal)))
        {
            var cells = line.Split(',');
            for (var i = 0; i < streams.Length; i++)
            {
                var kg = double.Parse(cells[2 + i], CultureInfo.InvariantCulture);
                if (kg != 0)
                {
                    csvKg[$"{cells[0]}/{streams[i]}"] = kg;
                }
            }
            csvRates[cells[0]] = double.Parse(cells[6], CultureInfo.InvariantCulture);
        }
        AssertFigures(deposits, csvKg, "deposits-by-day (api csv)");
        AssertFigures(byDay, csvRates, "diversion-rate-by-day (api csv)");
        var totalRow = csv.Single(l => l.StartsWith("total,", StringComparison.Ordinal)).Split(',');
        Assert.Equal(total.Value("diversion_rate")!.Value, double.Parse(totalRow[6], CultureInfo.InvariantCulture), Tolerance);
    }

    [Fact]
    public async Task Latest_and_bucketed_fill_match_the_api()
    {
        var latest = Sums(await data.InfluxQlAsync("fill-latest"), r => $"{r.Tag("bin")}/{r.Tag("compartment")}", "last");
        AssertFigures(new() { ["JY-001/paper"] = 50, ["JY-001/kitchen"] = 40, ["JY-002/paper"] = 5 }, latest, "fill-latest (known)");
        using var bins = await data.ApiJsonAsync("/api/bins");
        var apiLatest = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var bin in bins.RootElement.EnumerateArray())
        {
            foreach (var c in bin.GetProperty("compartments").EnumerateArray())
            {
                // The raw reading: fillPct is the cleaned level, which the raw fill measurement does not hold.
                if (c.GetProperty("rawFillPct").ValueKind == JsonValueKind.Number)
                {
                    apiLatest[$"{bin.GetProperty("id").GetString()}/{c.GetProperty("id").GetString()}"] = c.GetProperty("rawFillPct").GetDouble();
                }
            }
        }
        AssertFigures(latest, apiLatest, "fill-latest (api /api/bins)");

        // Hour buckets, keyed by their UTC instant (InfluxQL prints them in local time, the API in UTC).
        var hourly = Sums(await data.InfluxQlAsync("fill-hourly"), r => $"{r.Tag("compartment")}/{Instant(r.Time)}", "mean");
        AssertFigures(new()
        {
            [$"paper/{Instant("2026-11-20T09:00:00+08:00")}"] = 20,
            [$"paper/{Instant("2026-11-20T10:00:00+08:00")}"] = 50,
            [$"kitchen/{Instant("2026-11-20T00:00:00+08:00")}"] = 20,
            [$"kitchen/{Instant("2026-11-20T09:00:00+08:00")}"] = 40,
        }, hourly, "fill-hourly (known)");
        AssertFigures(hourly, await HistoryAsync("2026-11-20T00:00:00+08:00", "2026-11-21T00:00:00+08:00", "1h", Instant), "fill-hourly (api history every=1h)");

        var daily = Sums(await data.InfluxQlAsync("fill-daily"), r => $"{r.Tag("compartment")}/{Day(r.Time)}", "mean");
        AssertFigures(new() { ["paper/2026-11-19"] = 70, ["paper/2026-11-20"] = 30, ["kitchen/2026-11-20"] = 30 }, daily, "fill-daily (known)");
        AssertFigures(daily, await HistoryAsync(From, To, "1d", LocalDay), "fill-daily (api history every=1d)");
    }

    [Fact]
    public async Task Dead_letters_by_reason_match_the_api()
    {
        var counts = Sums(await data.InfluxQlAsync("dead-letters-by-reason"), r => r.Tag("reason"), "count");
        AssertFigures(new() { ["unknown-bin"] = 2, ["malformed-json"] = 1 }, counts, "dead-letters-by-reason (known)");
        using var api = await data.ApiJsonAsync("/api/deadletters?" + Period(), admin: true);
        var apiCounts = api.RootElement.GetProperty("counts").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble(), StringComparer.Ordinal);
        AssertFigures(counts, apiCounts, "dead-letters-by-reason (api /api/deadletters)");
    }

    [Fact]
    public async Task Collections_and_device_events_match_what_the_store_reads_back()
    {
        // Per stream per local day: 23:59:59.999 local is that day, 00:00:00.000 the next; the period is [from, to).
        var rows = await data.InfluxQlAsync("collections-by-day");
        var counts = Sums(rows, r => $"{Day(r.Time)}/{r.Tag("stream")}", "collections");
        var kg = Sums(rows, r => $"{Day(r.Time)}/{r.Tag("stream")}", "kg");
        AssertFigures(new() { ["2026-11-20/recyclable"] = 2, ["2026-11-20/kitchen"] = 1, ["2026-11-21/recyclable"] = 1 }, counts, "collections-by-day (known)");
        AssertFigures(new() { ["2026-11-20/recyclable"] = 4.75, ["2026-11-20/kitchen"] = 6.0, ["2026-11-21/recyclable"] = 1.25 }, kg, "collections-by-day kg (known)");
        var stored = await data.StoreAsync(s => s.GetCollectionsAsync(null, DateTimeOffset.Parse(From, CultureInfo.InvariantCulture), DateTimeOffset.Parse(To, CultureInfo.InvariantCulture), CancellationToken.None));
        AssertFigures(counts, stored.GroupBy(c => $"{LocalDay(c.Time.ToString("O", CultureInfo.InvariantCulture))}/{c.Stream}").ToDictionary(g => g.Key, g => (double)g.Count(), StringComparer.Ordinal), "collections-by-day (store)");
        AssertFigures(kg, stored.GroupBy(c => $"{LocalDay(c.Time.ToString("O", CultureInfo.InvariantCulture))}/{c.Stream}").ToDictionary(g => g.Key, g => g.Sum(c => c.KgCollected), StringComparer.Ordinal), "collections-by-day kg (store)");

        // Of JY-001 in the period only, each event once, the detail as stored (plain text here: nothing to unescape).
        var events = (await data.InfluxQlAsync("device-events-for-one-bin"))
            .Select(r => $"{Instant(r.Time)} {r.Text("kind")} {r.Value("seq")?.ToString(CultureInfo.InvariantCulture) ?? "-"} {r.Text("detail")}")
            .Order(StringComparer.Ordinal).ToList();
        Assert.Equal(
        [
            "2026-11-20T03:00:00Z offline - no message for 900 s",
            "2026-11-20T03:30:00Z online 5231 ",
            "2026-11-20T03:30:00Z reboot 1 seq 1 after 5230",
        ], events);
        var storedEvents = await data.StoreAsync(s => s.GetDeviceEventsAsync("JY-001", DateTimeOffset.Parse(From, CultureInfo.InvariantCulture), DateTimeOffset.Parse(To, CultureInfo.InvariantCulture), CancellationToken.None));
        Assert.Equal(events, storedEvents.Select(e => $"{Instant(e.Time.ToString("O", CultureInfo.InvariantCulture))} {e.Kind} {e.Seq?.ToString(CultureInfo.InvariantCulture) ?? "-"} {e.Detail}"));
    }

    [Fact]
    public async Task Alert_raises_per_kind_and_day_match_what_the_store_reads_back()
    {
        // Raised events only, per kind per local day: 23:59:59.999 local is that day, 00:00:00.000 the next; the period is [from, to).
        var raised = Sums(await data.InfluxQlAsync("alert-raises-by-day"), r => $"{Day(r.Time)}/{r.Tag("kind")}", "raised");
        AssertFigures(new() { ["2026-11-20/fill"] = 2, ["2026-11-20/offline"] = 1, ["2026-11-21/fill"] = 1 }, raised, "alert-raises-by-day (known)");
        var stored = await data.StoreAsync(s => s.GetAlertEventsAsync(DateTimeOffset.Parse(From, CultureInfo.InvariantCulture), DateTimeOffset.Parse(To, CultureInfo.InvariantCulture), 1000, CancellationToken.None));
        AssertFigures(raised, stored.Where(e => e.Type == "raised")
            .GroupBy(e => $"{LocalDay(e.At.ToString("O", CultureInfo.InvariantCulture))}/{e.Kind}")
            .ToDictionary(g => g.Key, g => (double)g.Count(), StringComparer.Ordinal), "alert-raises-by-day (store)");
    }

    [Fact]
    public async Task Job_requests_per_stream_and_day_match_what_the_store_reads_back()
    {
        // Requested events only, per stream per local day: 23:59:59.999 local is that day, 00:00:00.000 the next; the period is [from, to).
        var requested = Sums(await data.InfluxQlAsync("job-requests-by-day"), r => $"{Day(r.Time)}/{r.Tag("stream")}", "requested");
        AssertFigures(new() { ["2026-11-20/recyclable"] = 3, ["2026-11-20/kitchen"] = 1, ["2026-11-21/recyclable"] = 1 }, requested, "job-requests-by-day (known)");
        var stored = await data.StoreAsync(s => s.GetJobEventsAsync(DateTimeOffset.Parse(From, CultureInfo.InvariantCulture), DateTimeOffset.Parse(To, CultureInfo.InvariantCulture), 1000, CancellationToken.None));
        AssertFigures(requested, stored.Where(e => e.Type == "requested")
            .GroupBy(e => $"{LocalDay(e.At.ToString("O", CultureInfo.InvariantCulture))}/{e.Stream}")
            .ToDictionary(g => g.Key, g => (double)g.Count(), StringComparer.Ordinal), "job-requests-by-day (store)");
    }

    [Fact]
    public async Task The_newest_vehicle_positions_match_what_the_store_reads_back()
    {
        var rows = await data.InfluxQlAsync("vehicle-positions-latest");
        var positions = rows.Select(r => $"{r.Tag("vehicle")} {r.Tag("stream")} {Instant(r.Time)} {r.Value("lat")} {r.Value("lon")} {r.Value("speed_kmh")}")
            .Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["KIT-02 kitchen 2026-11-20T02:00:00Z 37.01 117.2 0", "REC-01 recyclable 2026-11-20T01:05:00Z 36.97 117.18 32.5"], positions);
        var stored = await data.StoreAsync(s => s.GetLatestVehiclePositionsAsync(CancellationToken.None));
        Assert.Equal(positions, stored.Select(p => string.Create(CultureInfo.InvariantCulture,
            $"{p.VehicleId} {p.Stream} {Instant(p.Time.ToString("O", CultureInfo.InvariantCulture))} {p.Lat} {p.Lon} {p.SpeedKmh}")));
    }

    // ---------------------------------------------------------------- helpers

    internal static string Period() => $"from={Uri.EscapeDataString(From)}&to={Uri.EscapeDataString(To)}";

    /// <summary>The local date of an InfluxQL time printed with tz('Asia/Shanghai'): its first ten characters.</summary>
    private static string Day(string time)
    {
        Assert.EndsWith("+08:00", time, StringComparison.Ordinal);
        return time[..10];
    }

    private static string Instant(string time) =>
        DateTimeOffset.Parse(time, CultureInfo.InvariantCulture).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string LocalDay(string time) =>
        TimeZoneInfo.ConvertTime(DateTimeOffset.Parse(time, CultureInfo.InvariantCulture), AnalyticsInfluxQlFixture.Shanghai).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>The API's fill history of JY-001: compartment/bucket key → mean fill, buckets with a fill only.</summary>
    private async Task<Dictionary<string, double>> HistoryAsync(string from, string to, string every, Func<string, string> bucketKey)
    {
        using var history = await data.ApiJsonAsync(
            $"/api/bins/JY-001/history?from={Uri.EscapeDataString(from)}&to={Uri.EscapeDataString(to)}&every={every}");
        var figures = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var c in history.RootElement.GetProperty("compartments").EnumerateArray())
        {
            foreach (var b in c.GetProperty("buckets").EnumerateArray())
            {
                if (b.GetProperty("fillPct").ValueKind == JsonValueKind.Number)
                {
                    figures[$"{c.GetProperty("id").GetString()}/{bucketKey(b.GetProperty("start").GetString()!)}"] = b.GetProperty("fillPct").GetDouble();
                }
            }
        }
        return figures;
    }

    private static Dictionary<string, double> Sums(IReadOnlyList<AnalyticsInfluxQlRow> rows, Func<AnalyticsInfluxQlRow, string> key, string column)
    {
        var figures = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            var value = row.Value(column) ?? throw new Xunit.Sdk.XunitException($"no {column} in a row of {row.Series}: null");
            Assert.True(figures.TryAdd(key(row), value), $"two rows for {key(row)}");
        }
        return figures;
    }

    /// <summary>The groups' kg as group/stream → kg, streams with a deposit only (InfluxQL has no row for the others).</summary>
    private static Dictionary<string, double> GroupKg(JsonDocument report)
    {
        var figures = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var g in report.RootElement.GetProperty("groups").EnumerateArray())
        {
            foreach (var (stream, kg) in Kg(g.GetProperty("depositedKg")))
            {
                figures[$"{g.GetProperty("key").GetString()}/{stream}"] = kg;
            }
        }
        return figures;
    }

    private static Dictionary<string, double> TotalKg(JsonDocument report) =>
        Kg(report.RootElement.GetProperty("total").GetProperty("depositedKg")).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);

    private static IEnumerable<KeyValuePair<string, double>> Kg(JsonElement depositedKg) =>
        depositedKg.EnumerateObject().Where(p => p.Value.GetDouble() != 0).Select(p => KeyValuePair.Create(p.Name, p.Value.GetDouble()));

    private static Dictionary<string, double> GroupRates(JsonDocument report) =>
        report.RootElement.GetProperty("groups").EnumerateArray().ToDictionary(
            g => g.GetProperty("key").GetString()!, g => g.GetProperty("diversionRate").GetDouble(), StringComparer.Ordinal);

    /// <summary>The same keys, and values equal up to the last digits of a double (sums added in another order).</summary>
    private static void AssertFigures(Dictionary<string, double> expected, Dictionary<string, double> actual, string what)
    {
        static string Show(Dictionary<string, double> d) =>
            string.Join(", ", d.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value.ToString("R", CultureInfo.InvariantCulture)}"));
        Assert.True(expected.Keys.Order(StringComparer.Ordinal).SequenceEqual(actual.Keys.Order(StringComparer.Ordinal)),
            $"{what}: expected {Show(expected)}\nbut got {Show(actual)}");
        foreach (var (key, value) in expected)
        {
            Assert.True(Math.Abs(value - actual[key]) <= Tolerance, $"{what}: {key} expected {value.ToString("R", CultureInfo.InvariantCulture)}, got {actual[key].ToString("R", CultureInfo.InvariantCulture)}");
        }
    }
}

/// <summary>
/// A fresh database with the known readings, the doc's queries, and the api process reading that database; shared by
/// the tests of <see cref="AnalyticsInfluxQlTests"/>, dropped afterwards.
/// </summary>
public sealed partial class AnalyticsInfluxQlFixture : IAsyncLifetime
{
    internal static readonly TimeZoneInfo Shanghai = TimeZoneInfo.FindSystemTimeZoneById("Asia/Shanghai");

    private readonly string _database = "t_analytics_" + Guid.NewGuid().ToString("N");
    private ApiProcess? _api;
    private HttpClient? _http;

    /// <summary>The InfluxQL blocks of docs/analytics.md by their <c>-- query: name</c> line, each its whole text.</summary>
    internal IReadOnlyDictionary<string, string> Queries { get; } = ReadQueries();

    public async Task InitializeAsync()
    {
        await using (var store = new InfluxDbStore(new InfluxDbStoreOptions
        {
            Url = TestServices.InfluxUrl,
            Bucket = _database,
            ApiVersion = 1,
            CreateDatabase = true,
        }))
        {
            await store.InitializeAsync(CancellationToken.None);
            await store.WriteAsync(Readings(), DeadLetters(), CancellationToken.None);
            await store.WriteEventsAsync(Collections(), DeviceEvents(), CancellationToken.None);
            await store.WriteAlertEventsAsync(AlertEvents(), CancellationToken.None);
            await store.WriteJobEventsAsync(JobEvents(), CancellationToken.None);
            await store.WriteAsync(Positions(), [], CancellationToken.None);
        }
        _api = await ApiProcess.StartAsync(new Dictionary<string, string>
        {
            ["Storage:Backend"] = "influxdb",
            ["Storage:InfluxDb:Url"] = TestServices.InfluxUrl.ToString(),
            ["Storage:InfluxDb:ApiVersion"] = "1",
            ["Storage:InfluxDb:Bucket"] = _database,
        });
    }

    public async Task DisposeAsync()
    {
        _http?.Dispose();
        if (_api is not null)
        {
            await _api.DisposeAsync();
        }
        using var influx = new HttpClient { BaseAddress = TestServices.InfluxUrl };
        using var content = new FormUrlEncodedContent([new("q", $"DROP DATABASE \"{_database}\"")]);
        using var response = await influx.PostAsync(new Uri("/query", UriKind.Relative), content);
        response.EnsureSuccessStatusCode();
    }

    private static DateTimeOffset Local(string time) => DateTimeOffset.Parse(time + "+08:00", CultureInfo.InvariantCulture);

    private static WeightReading Deposit(string bin, string community, string compartment, string stream, string localTime, double kg) =>
        new(bin, community, compartment, stream, Local(localTime), 1, 10, kg);

    private static FillReading Fill(string bin, string compartment, string stream, string localTime, double pct) =>
        new(bin, bin == "JY-001" ? "c01" : "c02", compartment, stream, Local(localTime), 1, pct);

    private static List<Reading> Readings() =>
    [
        // JY-001 (c01): the two sides of local midnight, and 07:59:59.999 local, which is the previous day in UTC.
        Deposit("JY-001", "c01", "paper", "recyclable", "2026-11-19T23:59:59.999", 1.5),
        Deposit("JY-001", "c01", "paper", "recyclable", "2026-11-20T00:00:00.000", 2.25),
        Deposit("JY-001", "c01", "hazardous", "hazardous", "2026-11-20T07:59:59.999", 0.125),
        Deposit("JY-001", "c01", "kitchen", "kitchen", "2026-11-20T08:00:00.000", 3.0),
        Deposit("JY-001", "c01", "residual", "residual", "2026-11-20T12:00:00.000", 4.0),
        new WeightReading("JY-001", "c01", "paper", "recyclable", Local("2026-11-20T13:00:00.000"), 2, 3.1, null), // a load, no deposit
        // c02: sums that are not exact in binary (0.1 + 0.2), a textile compartment, the period's first instant.
        Deposit("JY-002", "c02", "glass", "recyclable", "2026-11-19T10:00:00.000", 0.1),
        Deposit("JY-002", "c02", "glass", "recyclable", "2026-11-19T10:05:00.000", 0.2),
        Deposit("JY-002", "c02", "residual", "residual", "2026-11-19T11:00:00.000", 2.0),
        Deposit("JY-004", "c02", "textile", "recyclable", "2026-11-20T15:00:00.000", 0.8),
        Deposit("JY-003", "c02", "plastic", "recyclable", "2026-11-01T00:00:00.000", 0.75),
        // Outside the period [from, to): just before it, and at its end.
        Deposit("JY-003", "c02", "metal", "recyclable", "2026-10-31T23:59:59.999", 1.0),
        Deposit("JY-003", "c02", "residual", "residual", "2026-12-01T00:00:00.000", 6.0),
        // c03: residual only, a diversion rate of 0.
        Deposit("JY-005", "c03", "residual", "residual", "2026-11-21T09:00:00.000", 5.0),

        Fill("JY-001", "paper", "recyclable", "2026-11-19T23:59:59.999", 70),
        Fill("JY-001", "kitchen", "kitchen", "2026-11-20T00:00:00.000", 20),
        Fill("JY-001", "paper", "recyclable", "2026-11-20T09:10:00.000", 10),
        Fill("JY-001", "kitchen", "kitchen", "2026-11-20T09:15:00.000", 40),
        Fill("JY-001", "paper", "recyclable", "2026-11-20T09:50:00.000", 30),
        Fill("JY-001", "paper", "recyclable", "2026-11-20T10:20:00.000", 50),
        Fill("JY-002", "paper", "recyclable", "2026-11-20T10:00:00.000", 5),
    ];

    private static List<DeadLetter> DeadLetters() =>
    [
        new(Local("2026-11-20T10:00:00.000"), "unknown-bin", "unknown", "ingest-a", "bins/JY-999/fill", "{}", "no bin JY-999"),
        new(Local("2026-11-20T10:00:00.000"), "unknown-bin", "unknown", "ingest-a", "bins/JY-998/fill", "{}", "no bin JY-998"),
        new(Local("2026-11-19T23:59:59.999"), "malformed-json", "JY-001", "ingest-a", "bins/JY-001/fill", "{", "not JSON"),
        new(Local("2026-10-31T23:00:00.000"), "too-large", "JY-001", "ingest-a", "bins/JY-001/fill", "x", "too large"),
        new(Local("2026-12-01T00:00:00.000"), "invalid-field", "JY-001", "ingest-a", "bins/JY-001/fill", "{}", "bad ts"),
    ];

    private static List<CollectionEvent> Collections() =>
    [
        new("JY-001", "c01", "paper", "recyclable", Local("2026-11-20T09:40:00.000"), 4.5, 82, 1),
        new("JY-002", "c02", "glass", "recyclable", Local("2026-11-20T23:59:59.999"), 0.25, 40, 0),
        new("JY-001", "c01", "kitchen", "kitchen", Local("2026-11-20T10:00:00.000"), 6, 95, 2),
        new("JY-002", "c02", "glass", "recyclable", Local("2026-11-21T00:00:00.000"), 1.25, 50, 0),
        // Outside the period [from, to).
        new("JY-003", "c02", "metal", "recyclable", Local("2026-10-31T23:59:59.999"), 9, 90, 0),
        new("JY-003", "c02", "metal", "recyclable", Local("2026-12-01T00:00:00.000"), 9, 90, 0),
    ];

    private static List<DeviceEvent> DeviceEvents() =>
    [
        new("JY-001", "c01", Local("2026-11-20T11:00:00.000"), "offline", null, "no message for 900 s"),
        new("JY-001", "c01", Local("2026-11-20T11:30:00.000"), "online", 5231, ""),
        new("JY-001", "c01", Local("2026-11-20T11:30:00.000"), "reboot", 1, "seq 1 after 5230"),
        // Another bin, and JY-001 outside the period.
        new("JY-002", "c02", Local("2026-11-20T11:00:00.000"), "offline", null, "no message for 900 s"),
        new("JY-001", "c01", Local("2026-12-01T00:00:00.000"), "offline", null, "no message for 900 s"),
    ];

    private static StoredAlertEvent AlertEvent(string type, string localTime, string bin, string? compartment, string kind, string severity, string raisedLocal) =>
        new(type, Local(localTime), $"{bin}:{compartment}:{kind}:{Local(raisedLocal).ToUnixTimeMilliseconds()}", bin, bin == "JY-001" ? "c01" : "c02",
            compartment, kind, severity, Local(raisedLocal), type == "cleared" ? Local(localTime) : null, null, null);

    private static List<StoredAlertEvent> AlertEvents() =>
    [
        // Raised on either side of local midnight, and a bin's alert (no compartment).
        AlertEvent("raised", "2026-11-20T09:40:00.000", "JY-001", "paper", "fill", "warning", "2026-11-20T09:40:00.000"),
        AlertEvent("raised", "2026-11-20T23:59:59.999", "JY-002", "glass", "fill", "warning", "2026-11-20T23:59:59.999"),
        AlertEvent("raised", "2026-11-21T00:00:00.000", "JY-001", "kitchen", "fill", "warning", "2026-11-21T00:00:00.000"),
        AlertEvent("raised", "2026-11-20T11:00:00.000", "JY-001", null, "offline", "warning", "2026-11-20T11:00:00.000"),
        // Events that are not raises.
        AlertEvent("cleared", "2026-11-20T11:30:00.000", "JY-001", null, "offline", "warning", "2026-11-20T11:00:00.000"),
        AlertEvent("escalated", "2026-11-20T21:40:00.000", "JY-001", "paper", "fill", "critical", "2026-11-20T09:40:00.000"),
        AlertEvent("refired", "2026-11-20T22:00:00.000", "JY-001", "paper", "fill", "critical", "2026-11-20T09:40:00.000"),
        // Outside the period [from, to).
        AlertEvent("raised", "2026-10-31T23:59:59.999", "JY-003", null, "tilt", "warning", "2026-10-31T23:59:59.999"),
        AlertEvent("raised", "2026-12-01T00:00:00.000", "JY-003", null, "tilt", "warning", "2026-12-01T00:00:00.000"),
    ];

    private static StoredJobEvent JobEvent(string type, string localTime, string jobId, string bin, string[] compartments, string stream, string requestedLocal) =>
        new(type, Local(localTime), jobId, bin, bin == "JY-001" ? "c01" : "c02", compartments, stream, "threshold", "normal", null,
            Local(requestedLocal).AddHours(8), type is "planned" or "completed" ? "planned" : type, type == "requested" ? null : "truck-1", Local(requestedLocal),
            "scheduler", type == "requested" ? null : Local(localTime), type == "completed" ? Local(localTime) : null, null,
            type == "planned" ? "routing" : "scheduler");

    /// <summary>Two trucks' positions; REC-01's newest is not the last one written.</summary>
    internal static List<Reading> Positions() =>
    [
        new VehiclePositionReading("REC-01", "recyclable", new DateTimeOffset(2026, 11, 20, 1, 0, 0, TimeSpan.Zero), 36.95, 117.15, 20),
        new VehiclePositionReading("REC-01", "recyclable", new DateTimeOffset(2026, 11, 20, 1, 5, 0, TimeSpan.Zero), 36.97, 117.18, 32.5),
        new VehiclePositionReading("REC-01", "recyclable", new DateTimeOffset(2026, 11, 20, 0, 55, 0, TimeSpan.Zero), 36.9, 117.1, 10),
        new VehiclePositionReading("KIT-02", "kitchen", new DateTimeOffset(2026, 11, 20, 2, 0, 0, TimeSpan.Zero), 37.01, 117.2, 0),
    ];

    private static List<StoredJobEvent> JobEvents() =>
    [
        // Requested on either side of local midnight, two jobs of one bin and stream at one instant, and another stream.
        JobEvent("requested", "2026-11-20T09:40:00.000", "job-1", "JY-001", ["paper"], "recyclable", "2026-11-20T09:40:00.000"),
        JobEvent("requested", "2026-11-20T09:40:00.000", "job-5", "JY-001", ["metal"], "recyclable", "2026-11-20T09:40:00.000"),
        JobEvent("requested", "2026-11-20T23:59:59.999", "job-2", "JY-002", ["glass"], "recyclable", "2026-11-20T23:59:59.999"),
        JobEvent("requested", "2026-11-21T00:00:00.000", "job-3", "JY-001", ["plastic"], "recyclable", "2026-11-21T00:00:00.000"),
        JobEvent("requested", "2026-11-20T11:00:00.000", "job-4", "JY-001", ["kitchen"], "kitchen", "2026-11-20T11:00:00.000"),
        // Events that are not requests.
        JobEvent("planned", "2026-11-20T10:00:00.000", "job-1", "JY-001", ["paper"], "recyclable", "2026-11-20T09:40:00.000"),
        JobEvent("completed", "2026-11-20T14:00:00.000", "job-1", "JY-001", ["paper"], "recyclable", "2026-11-20T09:40:00.000"),
        JobEvent("cancelled", "2026-11-20T12:00:00.000", "job-4", "JY-001", ["kitchen"], "kitchen", "2026-11-20T11:00:00.000"),
        // Outside the period [from, to).
        JobEvent("requested", "2026-10-31T23:59:59.999", "job-0", "JY-003", ["paper"], "recyclable", "2026-10-31T23:59:59.999"),
        JobEvent("requested", "2026-12-01T00:00:00.000", "job-9", "JY-003", ["paper"], "recyclable", "2026-12-01T00:00:00.000"),
    ];

    /// <summary>What a store on the fixture's database answers.</summary>
    internal async Task<T> StoreAsync<T>(Func<ITelemetryStore, Task<T>> read)
    {
        await using var store = new InfluxDbStore(new InfluxDbStoreOptions { Url = TestServices.InfluxUrl, Bucket = _database, ApiVersion = 1 });
        return await read(store);
    }

    /// <summary>Runs the doc's query <paramref name="name"/> as the doc says (GET /query, db and q URL-encoded), JSON answer.</summary>
    internal async Task<IReadOnlyList<AnalyticsInfluxQlRow>> InfluxQlAsync(string name)
    {
        var q = Queries[name];
        var uri = new Uri($"/query?db={Uri.EscapeDataString(_database)}&q={Uri.EscapeDataString(q)}", UriKind.Relative);
        using var influx = new HttpClient { BaseAddress = TestServices.InfluxUrl };
        using var response = await influx.GetAsync(uri);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{name}: HTTP {(int)response.StatusCode} {body}");
        using var json = JsonDocument.Parse(body);
        var rows = new List<AnalyticsInfluxQlRow>();
        foreach (var result in json.RootElement.GetProperty("results").EnumerateArray())
        {
            if (result.TryGetProperty("error", out var error))
            {
                throw new Xunit.Sdk.XunitException($"{name}: influxd refused the query: {error.GetString()}\n{q}");
            }
            if (!result.TryGetProperty("series", out var series))
            {
                continue;
            }
            foreach (var s in series.EnumerateArray())
            {
                var tags = s.TryGetProperty("tags", out var t)
                    ? t.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal)
                    : new Dictionary<string, string>(StringComparer.Ordinal);
                var columns = s.GetProperty("columns").EnumerateArray().Select(c => c.GetString()!).ToList();
                foreach (var v in s.GetProperty("values").EnumerateArray())
                {
                    var cells = v.EnumerateArray().ToList();
                    var values = new Dictionary<string, double?>(StringComparer.Ordinal);
                    var texts = new Dictionary<string, string?>(StringComparer.Ordinal);
                    for (var i = 1; i < columns.Count; i++)
                    {
                        values[columns[i]] = cells[i].ValueKind == JsonValueKind.Number ? cells[i].GetDouble() : null;
                        texts[columns[i]] = cells[i].ValueKind == JsonValueKind.String ? cells[i].GetString() : null;
                    }
                    rows.Add(new AnalyticsInfluxQlRow($"{name} {string.Join(',', tags.Select(kv => kv.Key + "=" + kv.Value))}", tags, cells[0].GetString()!, values, texts));
                }
            }
        }
        return rows;
    }

    /// <summary>GET /api/analytics/diversion for the doc's period, with further <paramref name="query"/> parameters.</summary>
    internal Task<JsonDocument> DiversionAsync(string query) =>
        ApiJsonAsync($"/api/analytics/diversion?{AnalyticsInfluxQlTests.Period()}&{query}");

    /// <summary>The CSV of the diversion endpoint, as lines (byte-order mark and CRLF checked and removed).</summary>
    internal async Task<string[]> DiversionCsvAsync(string query)
    {
        using var request = Request($"/api/analytics/diversion?{AnalyticsInfluxQlTests.Period()}&{query}", admin: false);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));
        using var response = await (_http ??= Api.Client()).SendAsync(request);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(bytes.AsSpan().StartsWith(Encoding.UTF8.GetPreamble()), "the CSV starts with a byte-order mark");
        var text = Encoding.UTF8.GetString(bytes, 3, bytes.Length - 3);
        Assert.EndsWith("\r\n", text, StringComparison.Ordinal);
        return text[..^2].Split("\r\n");
    }

    internal async Task<JsonDocument> ApiJsonAsync(string pathAndQuery, bool admin = false)
    {
        using var request = Request(pathAndQuery, admin);
        using var response = await (_http ??= Api.Client()).SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {pathAndQuery}: HTTP {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body);
    }

    private ApiProcess Api => _api ?? throw new InvalidOperationException("the api process is not running");

    private HttpRequestMessage Request(string pathAndQuery, bool admin)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(pathAndQuery, UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", admin ? Api.Keys!.Admin : Api.Keys!.Analyst);
        return request;
    }

    private static Dictionary<string, string> ReadQueries()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Telemetry.sln")))
        {
            dir = dir.Parent;
        }
        Assert.NotNull(dir);
        var doc = File.ReadAllText(Path.Combine(dir.FullName, "docs", "analytics.md"));
        var queries = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match m in QueryBlock().Matches(doc))
        {
            Assert.True(queries.TryAdd(m.Groups["name"].Value, m.Groups["text"].Value), $"docs/analytics.md names two queries {m.Groups["name"].Value}");
        }
        Assert.NotEmpty(queries);
        return queries;
    }

    /// <summary>A fenced <c>sql</c> block whose first line is <c>-- query: name</c>; the text is the whole block.</summary>
    [GeneratedRegex(@"^```sql\n(?<text>-- query: (?<name>[a-z0-9-]+)\n.*?)\n```$", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex QueryBlock();
}

/// <summary>One row of an InfluxQL answer: its series' tags, the time as printed, the other columns.</summary>
internal sealed record AnalyticsInfluxQlRow(
    string Series, IReadOnlyDictionary<string, string> Tags, string Time, IReadOnlyDictionary<string, double?> Values, IReadOnlyDictionary<string, string?> Texts)
{
    public string? Text(string column) => Texts.TryGetValue(column, out var v) ? v : throw new Xunit.Sdk.XunitException($"{Series}: no column {column}");

    public string Tag(string name) => Tags.TryGetValue(name, out var v) ? v : throw new Xunit.Sdk.XunitException($"{Series}: no tag {name}");

    public double? Value(string column) => Values.TryGetValue(column, out var v) ? v : throw new Xunit.Sdk.XunitException($"{Series}: no column {column}");
}
