using System.Globalization;
using System.Text.Json;
using Telemetry.Contracts.Readings;
using Telemetry.Fleet;
using Telemetry.Storage;

namespace Telemetry.IntegrationTests.Api;

/// <summary>
/// The fill signal of a real <c>telemetry run --roles api</c> process over a real store (per backend): rebuilt at start
/// from recent stored readings, it serves the cleaned level and a prediction in /api/bins, stores the collections and
/// device events it finds (measurements <c>collection</c> and <c>device_event</c>) and serves them on /events, a
/// forecast curve on /forecast and the cleaned history on /history; and it finds them again after a restart.
/// </summary>
public abstract class FillSignalApiTests : IAsyncLifetime
{
    private const string Bin = "JY-030";
    private readonly FleetRegistry _registry = FleetRegistryLoader.LoadDefault();
    private ApiProcess _api = null!;

    /// <summary>The seed's times: 36 hours of readings ending 30 minutes ago (well within Scheduling:HistoryDays).</summary>
    private readonly DateTimeOffset _start = Whole(DateTimeOffset.UtcNow.AddHours(-36.5));

    private DateTimeOffset EmptiedAt => _start.AddHours(24);

    private DateTimeOffset RebootAt => _start.AddHours(6);

    private DateTimeOffset OfflineAt => _start.AddHours(12);

    private DateTimeOffset OnlineAt => _start.AddHours(14);

    private DateTimeOffset EchoAt => _start.AddHours(36);

    protected abstract ITelemetryStore CreateStore();

    protected abstract IReadOnlyDictionary<string, string> StorageSettings { get; }

    private static DateTimeOffset Whole(DateTimeOffset t) => new(t.UtcTicks - (t.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero);

    public async Task InitializeAsync()
    {
        await using (var store = CreateStore())
        {
            await store.InitializeAsync(CancellationToken.None);
            await store.WriteAsync(Seed(), [], CancellationToken.None);
        }
        _api = await ApiProcess.StartAsync(StorageSettings);
    }

    public virtual async Task DisposeAsync()
    {
        if (_api is not null)
        {
            await _api.DisposeAsync();
        }
    }

    /// <summary>
    /// Paper of JY-030, a reading every 10 minutes: rising from 10 % by 3 points an hour to 82 % at 24 h, emptied there (the
    /// weight falls from 24 kg to 0.2 kg with it), rising again, and a false echo (99 %) as the last reading. The device's
    /// seq goes down at 6 h (a reboot); its Last Will at 12 h, a status again at 14 h.
    /// </summary>
    private List<Reading> Seed()
    {
        var bin = _registry.FindBin(Bin)!;
        var paper = bin.FindCompartment("paper")!;
        var readings = new List<Reading>();
        var seq = 5000L;
        for (var t = _start; t <= EchoAt; t += TimeSpan.FromMinutes(10))
        {
            if (t == RebootAt)
            {
                seq = 0;
            }
            var hours = (t - _start).TotalHours;
            var emptied = t >= EmptiedAt;
            var pct = emptied ? 2 + ((hours - 24) * 3) : 10 + (hours * 3);
            var kg = emptied ? 0.2 + ((hours - 24) * 0.9) : 3 + (hours * 0.9);
            if (t == EchoAt)
            {
                pct = 99; // a false echo: the cleaned level must not follow it
            }
            if (t == EmptiedAt || !emptied || t > EmptiedAt)
            {
                readings.Add(new WeightReading(Bin, bin.Community, "paper", paper.Stream.Name(), t, seq++, Math.Round(kg, 2), t == EmptiedAt ? null : 0.5));
            }
            readings.Add(new FillReading(Bin, bin.Community, "paper", paper.Stream.Name(), t.AddSeconds(1), seq++, Math.Round(pct, 2)));
            if (t == OfflineAt)
            {
                readings.Add(new StatusReading(Bin, bin.Community, t.AddSeconds(2), null, false, false, null, null, null, null));
            }
            if (t == OnlineAt)
            {
                readings.Add(new StatusReading(Bin, bin.Community, t.AddSeconds(2), seq++, true, true, 90, 18, false, false));
            }
        }
        return readings;
    }

    [Fact]
    public async Task The_api_serves_the_cleaned_level_and_a_prediction_with_its_band()
    {
        using var client = _api.Client(_api.Keys!.Analyst);
        var paper = await PaperAsync(client);
        Assert.Equal(99, paper.GetProperty("rawFillPct").GetDouble());
        // The last reading was the echo: held, so the clean level is where the rise had got to (2 + 12 × 3 = 38).
        Assert.InRange(paper.GetProperty("fillPct").GetDouble(), 34, 40);
        var p = paper.GetProperty("prediction");
        var madeAt = Time(p, "madeAt");
        var thresholdAt = Time(p, "thresholdAt");
        // 42 points to go at 3 an hour (the rhythm is flat here): about 14 h.
        Assert.InRange((thresholdAt - madeAt).TotalHours, 8, 22);
        Assert.True(Time(p, "thresholdLow") <= thresholdAt && thresholdAt <= Time(p, "thresholdHigh"), p.GetRawText());
        Assert.True(Time(p, "fullAt") > thresholdAt, p.GetRawText());
        Assert.Equal(p.GetProperty("fullAt").GetString(), paper.GetProperty("predictedFullAt").GetString());
    }

    [Fact]
    public async Task Collections_and_device_events_are_stored_and_served()
    {
        using var client = _api.Client(_api.Keys!.Analyst);
        var query = $"from={Iso(_start.AddHours(-1))}&to={Iso(DateTimeOffset.UtcNow.AddHours(1))}";
        using var events = await WaitForEventsAsync(client, query);
        var collection = Assert.Single(events.RootElement.GetProperty("collections").EnumerateArray());
        Assert.Equal("paper", collection.GetProperty("compartment").GetString());
        Assert.Equal("recyclable", collection.GetProperty("stream").GetString());
        Assert.Equal(EmptiedAt, Time(collection, "time")); // the weight drop's time
        Assert.InRange(collection.GetProperty("kgCollected").GetDouble(), 20, 25); // 24.6 kg → 0.2 kg
        Assert.InRange(collection.GetProperty("fillBeforePct").GetDouble(), 78, 84);
        Assert.InRange(collection.GetProperty("fillAfterPct").GetDouble(), 0, 5);

        var devices = events.RootElement.GetProperty("deviceEvents").EnumerateArray()
            .Select(d => (d.GetProperty("kind").GetString(), Time(d, "time"))).ToList();
        Assert.Contains(("reboot", RebootAt), devices);
        Assert.Contains(("offline", OfflineAt.AddSeconds(2)), devices);
        Assert.Contains(("online", OfflineAt.AddSeconds(10 * 60)), devices); // the first message after the Last Will
        Assert.Equal(3, devices.Count);

        // In the store, where analysts query them.
        await using var store = CreateStore();
        var stored = await store.GetCollectionsAsync(Bin, _start, DateTimeOffset.UtcNow.AddHours(1), CancellationToken.None);
        Assert.Equal(EmptiedAt, Assert.Single(stored).Time);
        Assert.Equal(3, (await store.GetDeviceEventsAsync(Bin, _start, DateTimeOffset.UtcNow.AddHours(1), CancellationToken.None)).Count);
    }

    [Fact]
    public async Task The_forecast_curve_rises_inside_its_band_and_the_history_is_cleaned()
    {
        using var client = _api.Client(_api.Keys!.Analyst);
        using var forecast = await Json(client, $"/api/bins/{Bin}/forecast?every=2h");
        var paper = forecast.RootElement.GetProperty("compartments").EnumerateArray().Single(c => c.GetProperty("id").GetString() == "paper");
        var curve = paper.GetProperty("curve").EnumerateArray().Select(p => (Pct: p.GetProperty("pct").GetDouble(), Low: p.GetProperty("lowPct").GetDouble(), High: p.GetProperty("highPct").GetDouble())).ToList();
        Assert.True(curve.Count > 3, paper.GetRawText());
        Assert.All(curve, p => Assert.True(p.Low <= p.Pct && p.Pct <= p.High, $"{p}"));
        Assert.Equal(curve.Select(p => p.Pct).Order(), curve.Select(p => p.Pct));
        Assert.Equal(100, curve[^1].Pct, 0);

        using var history = await Json(client, $"/api/bins/{Bin}/history?from={Iso(EchoAt.AddHours(-1))}&to={Iso(EchoAt.AddMinutes(10))}&every=1h");
        var buckets = history.RootElement.GetProperty("compartments").EnumerateArray().Single(c => c.GetProperty("id").GetString() == "paper").GetProperty("buckets").EnumerateArray().ToList();
        var last = buckets[^1];
        // The bucket with the echo: the raw mean is pulled up by the 99, the clean one is not.
        Assert.True(last.GetProperty("cleanPct").GetDouble() < last.GetProperty("fillPct").GetDouble() - 5, last.GetRawText());
        Assert.Equal(JsonValueKind.Number, buckets[0].GetProperty("cleanPct").ValueKind);
    }

    [Fact]
    public async Task A_restarted_api_rebuilds_the_same_state_and_stores_no_event_twice()
    {
        using (var client = _api.Client(_api.Keys!.Analyst))
        {
            using var _ = await WaitForEventsAsync(client, $"from={Iso(_start.AddHours(-1))}&to={Iso(DateTimeOffset.UtcNow.AddHours(1))}");
        }
        var before = await PaperAsync(_api.Client(_api.Keys!.Analyst));
        await _api.DisposeAsync();
        _api = await ApiProcess.StartAsync(StorageSettings);
        using var again = _api.Client(_api.Keys!.Analyst);
        var after = await PaperAsync(again);
        Assert.Equal(before.GetProperty("fillPct").GetDouble(), after.GetProperty("fillPct").GetDouble());
        Assert.Equal(before.GetProperty("predictedFullAt").GetString(), after.GetProperty("predictedFullAt").GetString());
        await using var store = CreateStore();
        Assert.Single(await store.GetCollectionsAsync(Bin, _start, DateTimeOffset.UtcNow.AddHours(1), CancellationToken.None));
        Assert.Equal(3, (await store.GetDeviceEventsAsync(Bin, _start, DateTimeOffset.UtcNow.AddHours(1), CancellationToken.None)).Count);
    }

    [Theory]
    [InlineData("/api/bins/JY-999/events", 404)]
    [InlineData("/api/bins/JY-999/forecast", 404)]
    [InlineData("/api/bins/JY-030/events?from=yesterday", 400)]
    [InlineData("/api/bins/JY-030/forecast?every=1m", 400)]
    public async Task Bad_requests_are_refused_with_problem_details(string path, int status)
    {
        using var client = _api.Client(_api.Keys!.Analyst);
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Events_and_forecasts_need_a_key()
    {
        using var client = _api.Client();
        using var events = await client.GetAsync(new Uri($"/api/bins/{Bin}/events", UriKind.Relative));
        using var forecast = await client.GetAsync(new Uri($"/api/bins/{Bin}/forecast", UriKind.Relative));
        Assert.Equal((401, 401), ((int)events.StatusCode, (int)forecast.StatusCode));
    }

    private static async Task<JsonDocument> WaitForEventsAsync(HttpClient client, string query)
    {
        // The rebuild writes the events before the api is ready, so the first answer already has them; the deadline
        // only guards a slow store.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var doc = await Json(client, $"/api/bins/{Bin}/events?{query}");
            if (doc.RootElement.GetProperty("collections").GetArrayLength() > 0 || DateTime.UtcNow > deadline)
            {
                return doc;
            }
            doc.Dispose();
            await Task.Delay(200);
        }
    }

    private static async Task<JsonElement> PaperAsync(HttpClient client)
    {
        using var doc = await Json(client, $"/api/bins/{Bin}");
        return doc.RootElement.GetProperty("compartments").EnumerateArray().Single(c => c.GetProperty("id").GetString() == "paper").Clone();
    }

    private static async Task<JsonDocument> Json(HttpClient client, string path)
    {
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body);
    }

    private static DateTimeOffset Time(JsonElement e, string name) =>
        DateTimeOffset.Parse(e.GetProperty(name).GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    private static string Iso(DateTimeOffset t) => Uri.EscapeDataString(t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
}

public sealed class SqliteFillSignalApiTests : FillSignalApiTests
{
    private readonly SqliteTestStore _store = new("telemetry-fill-");

    protected override ITelemetryStore CreateStore() => _store.Create();

    protected override IReadOnlyDictionary<string, string> StorageSettings => _store.Settings;

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _store.RemoveAsync();
    }
}

public sealed class InfluxDbFillSignalApiTests : FillSignalApiTests
{
    private readonly InfluxDbTestStore _store = new("fill_");

    protected override ITelemetryStore CreateStore() => _store.Create();

    protected override IReadOnlyDictionary<string, string> StorageSettings => _store.Settings;

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _store.RemoveAsync();
    }
}
