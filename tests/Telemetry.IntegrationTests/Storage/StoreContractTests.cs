using Telemetry.Contracts.Readings;
using Telemetry.Storage;

namespace Telemetry.IntegrationTests.Storage;

/// <summary>
/// What every storage backend must do, run against each real backend (SQLite file, influxd).
/// Each test class instance gets an empty store.
/// </summary>
public abstract partial class StoreContractTests : IAsyncLifetime
{
    protected static readonly DateTimeOffset T0 = new(2026, 11, 20, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeZoneInfo Shanghai = TimeZoneInfo.FindSystemTimeZoneById("Asia/Shanghai");

    protected ITelemetryStore Store { get; private set; } = null!;

    protected abstract Task<ITelemetryStore> CreateStoreAsync();

    public async Task InitializeAsync()
    {
        Store = await CreateStoreAsync();
        await Store.InitializeAsync(CancellationToken.None);
    }

    public virtual async Task DisposeAsync() => await Store.DisposeAsync();

    protected static FillReading Fill(string bin, string compartment, DateTimeOffset t, double pct, long seq = 1) =>
        new(bin, "c01", compartment, compartment is "kitchen" ? "kitchen" : "recyclable", t, seq, pct);

    protected static WeightReading Weight(string bin, string compartment, DateTimeOffset t, double net, double? deposit, long seq = 1) =>
        new(bin, "c01", compartment, compartment switch { "kitchen" => "kitchen", "residual" => "residual", _ => "recyclable" }, t, seq, net, deposit);

    private static readonly CancellationToken Ct = CancellationToken.None;

    [Fact]
    public async Task Readings_are_stored_and_counted()
    {
        await Store.WriteAsync([
            Fill("JY-001", "paper", T0, 10), Fill("JY-001", "glass", T0, 20),
            Weight("JY-001", "paper", T0.AddSeconds(1), 5, 0.5),
            new StatusReading("JY-001", "c01", T0.AddSeconds(2), 7, true, true, 88, 12.5, false, false),
        ], [], Ct);
        Assert.Equal(new StoredCounts(2, 1, 1, 0), await Store.CountAsync(T0, T0.AddMinutes(1), Ct));
        Assert.Equal(new StoredCounts(0, 0, 0, 0), await Store.CountAsync(T0.AddMinutes(1), T0.AddMinutes(2), Ct));
        Assert.Equal(new StoredCounts(2, 1, 1, 0), await Store.CountAsync(T0, T0.AddMinutes(1), "JY-00", Ct));
        Assert.Equal(new StoredCounts(0, 0, 0, 0), await Store.CountAsync(T0, T0.AddMinutes(1), "JY-002", Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.CountAsync(T0, T0.AddMinutes(1), "JY.*", Ct));
    }

    [Fact]
    public async Task A_reading_delivered_twice_is_stored_once()
    {
        IReadOnlyList<Reading> batch = [Fill("JY-002", "paper", T0, 10), Weight("JY-002", "paper", T0, 3, 1),
            new StatusReading("JY-002", "c01", T0, 9, true, true, 50, null, null, null)];
        await Store.WriteAsync(batch, [], Ct);
        await Store.WriteAsync(batch, [], Ct);
        Assert.Equal(new StoredCounts(1, 1, 1, 0), await Store.CountAsync(T0, T0.AddMinutes(1), Ct));
    }

    [Fact]
    public async Task The_later_write_of_one_identity_wins()
    {
        await Store.WriteAsync([Fill("JY-003", "paper", T0, 10), Weight("JY-003", "paper", T0, 3, 1)], [], Ct);
        await Store.WriteAsync([Fill("JY-003", "paper", T0, 12.5), Weight("JY-003", "paper", T0, 4, 1)], [], Ct);
        var latest = Assert.Single(await Store.GetLatestAsync(Ct), l => l.BinId == "JY-003");
        Assert.Equal((12.5, 4.0), (latest.FillPct!.Value, latest.NetKg!.Value));
        Assert.Equal(new StoredCounts(1, 1, 0, 0), await Store.CountAsync(T0, T0.AddMinutes(1), Ct));
    }

    [Fact]
    public async Task Latest_is_by_reading_time_not_by_write_order()
    {
        await Store.WriteAsync([Fill("JY-004", "paper", T0.AddMinutes(10), 40), Weight("JY-004", "paper", T0.AddMinutes(10), 8, null)], [], Ct);
        await Store.WriteAsync([Fill("JY-004", "paper", T0, 30), Fill("JY-004", "glass", T0, 5), Weight("JY-004", "paper", T0, 6, 2)], [], Ct);
        var latest = (await Store.GetLatestAsync(Ct)).Where(l => l.BinId == "JY-004").ToList();
        var paper = Assert.Single(latest, l => l.Compartment == "paper");
        Assert.Equal((40.0, T0.AddMinutes(10), 8.0), (paper.FillPct!.Value, paper.FillTime!.Value, paper.NetKg!.Value));
        Assert.Equal("recyclable", paper.Stream);
        Assert.Equal("c01", paper.Community);
        var glass = Assert.Single(latest, l => l.Compartment == "glass");
        Assert.Equal(5.0, glass.FillPct);
        Assert.Null(glass.NetKg);
    }

    [Fact]
    public async Task Latest_status_keeps_the_latest_value_of_each_field()
    {
        await Store.WriteAsync([
            new StatusReading("JY-005", "c01", T0, 1, true, true, 90, 10, false, false),
            new StatusReading("JY-005", "c01", T0.AddMinutes(5), 2, true, null, 89, null, true, null),
            new StatusReading("JY-005", "c01", T0.AddMinutes(9), null, false, false, null, null, null, null),
        ], [], Ct);
        var s = Assert.Single(await Store.GetLatestStatusAsync(Ct), x => x.BinId == "JY-005");
        Assert.Equal(T0.AddMinutes(9), s.LastSeen);
        Assert.Equal((false, 89.0, 10.0, true, false), (s.Online!.Value, s.BatteryPct!.Value, s.TempC!.Value, s.Tilt!.Value, s.DoorOpen!.Value));
    }

    [Fact]
    public async Task History_has_mean_fill_and_last_weight_per_bucket()
    {
        await Store.WriteAsync([
            Fill("JY-006", "paper", T0, 10), Fill("JY-006", "paper", T0.AddMinutes(30), 20), Fill("JY-006", "paper", T0.AddMinutes(70), 50),
            Weight("JY-006", "paper", T0.AddMinutes(5), 1, 1), Weight("JY-006", "paper", T0.AddMinutes(50), 2, 1),
            Fill("JY-007", "paper", T0, 99),
        ], [], Ct);
        var h = await Store.GetHistoryAsync("JY-006", T0, T0.AddHours(2), TimeSpan.FromHours(1), Ct);
        Assert.Equal(2, h.Count);
        Assert.Equal(("paper", T0, 15.0, 2.0), (h[0].Compartment, h[0].Start, h[0].FillPct!.Value, h[0].NetKg!.Value));
        Assert.Equal((T0.AddHours(1), 50.0), (h[1].Start, h[1].FillPct!.Value));
        Assert.Null(h[1].NetKg);
    }

    [Fact]
    public async Task Deposits_are_summed_per_local_day_community_and_material()
    {
        // 15:59Z and 16:01Z are on different days in Asia/Shanghai (UTC+8).
        var day = new DateTimeOffset(2026, 11, 20, 15, 59, 0, TimeSpan.Zero);
        await Store.WriteAsync([
            Weight("JY-008", "paper", day, 5, 1.5), Weight("JY-008", "paper", day.AddSeconds(1), 6, 1.0),
            Weight("JY-008", "paper", day.AddMinutes(2), 7, 2.0), Weight("JY-008", "kitchen", day, 7, 3.0),
            Weight("JY-008", "paper", day.AddMinutes(3), 0, null), // a collection, no deposit
        ], [], Ct);
        var totals = await Store.GetDepositsAsync(day.AddHours(-1), day.AddHours(1), Shanghai, Ct);
        Assert.Equal(2.5, Assert.Single(totals, t => t.Day == new DateOnly(2026, 11, 20) && t.Material == "paper").Kg, 6);
        Assert.Equal(2.0, Assert.Single(totals, t => t.Day == new DateOnly(2026, 11, 21) && t.Material == "paper").Kg, 6);
        var kitchen = Assert.Single(totals, t => t.Material == "kitchen");
        Assert.Equal(("kitchen", "c01", 3.0), (kitchen.Stream, kitchen.Community, kitchen.Kg));
    }

    [Fact]
    public async Task Dead_letters_are_kept_whole_and_counted_by_reason()
    {
        const string hostile = "{\"v\":1,\"id\":\"paper,bin=JY-002 x=1\"}\n'; DROP TABLE fill; --\\ \"quoted\" 中文 \u0000end";
        var t = T0.AddMinutes(1);
        await Store.WriteAsync([Fill("JY-009", "paper", T0, 10)], [
            new DeadLetter(t, "malformed-json", "JY-009", "ingest-a", "bins/JY-009/fill", hostile, "not JSON"),
            new DeadLetter(t.AddTicks(10), "malformed-json", "JY-009", "ingest-a", "bins/JY-009/fill", "x", "not JSON"),
            new DeadLetter(t.AddTicks(20), "unknown-bin", "unknown", "ingest-a", "bins/JY-999 x,y=z/fill", "{}", "bin 'JY-999' is not in the registry"),
        ], Ct);
        var counts = await Store.GetDeadLettersByReasonAsync(T0, T0.AddMinutes(5), Ct);
        Assert.Equal([new DeadLetterCount("malformed-json", 2), new DeadLetterCount("unknown-bin", 1)], counts.OrderBy(c => c.Reason, StringComparer.Ordinal));
        var letters = await Store.GetDeadLettersAsync(T0, T0.AddMinutes(5), 10, Ct);
        Assert.Equal(3, letters.Count);
        var first = Assert.Single(letters, l => l.ReceivedAt == t);
        Assert.Equal(hostile, first.Payload);
        Assert.Equal(("malformed-json", "JY-009", "ingest-a", "bins/JY-009/fill", "not JSON"), (first.Reason, first.BinId, first.Ingester, first.Topic, first.Error));
        Assert.Equal("bins/JY-999 x,y=z/fill", Assert.Single(letters, l => l.Reason == "unknown-bin").Topic);
        // Other data is untouched.
        Assert.Equal(10.0, Assert.Single(await Store.GetLatestAsync(Ct), l => l.BinId == "JY-009").FillPct);
        Assert.Equal(3, (await Store.CountAsync(T0, T0.AddMinutes(5), Ct)).DeadLetters);
    }

    /// <summary>Text that line protocol, InfluxQL or SQL could take for syntax (CONTRACT §3: kept exactly).</summary>
    private static readonly string[] HostileTexts =
    [
        "line\nfill,bin=JY-002 pct=99 1", "cr\rhere", "nul\0byte", "back\\slash", "ends in a backslash\\", "\\", @"\n is two characters",
        "\"quoted\" ,= spaced", "marker\\.", @"\.", "中文 \r\n\0\\", "' OR 1=1 --", "tab\there",
    ];

    [Fact]
    public async Task Hostile_text_in_every_tag_and_string_field_round_trips_exactly()
    {
        var t = T0.AddHours(2);
        var readings = new List<Reading>();
        var letters = new List<DeadLetter>();
        for (var i = 0; i < HostileTexts.Length; i++)
        {
            var text = HostileTexts[i];
            var bin = $"JY-9{i:00} {text}";
            var at = t.AddMilliseconds(i);
            readings.Add(new FillReading(bin, text, text, text, at, i, i));
            readings.Add(new WeightReading(bin, text, text, text, at, i, 10 + i, 1 + i));
            readings.Add(new StatusReading(bin, text, at, i, true, true, 50, null, null, null));
            letters.Add(new DeadLetter(at.AddTicks(30), "r " + text, bin, "ingest " + text, text, text, text));
        }
        await Store.WriteAsync(readings, letters, Ct);

        var latest = await Store.GetLatestAsync(Ct);
        var statuses = await Store.GetLatestStatusAsync(Ct);
        var deposits = await Store.GetDepositsAsync(t.AddHours(-1), t.AddHours(1), Shanghai, Ct);
        var stored = await Store.GetDeadLettersAsync(t.AddHours(-1), t.AddHours(1), 100, Ct);
        var byReason = await Store.GetDeadLettersByReasonAsync(t.AddHours(-1), t.AddHours(1), Ct);
        for (var i = 0; i < HostileTexts.Length; i++)
        {
            var text = HostileTexts[i];
            var bin = $"JY-9{i:00} {text}";
            var at = t.AddMilliseconds(i);
            var l = Assert.Single(latest, x => x.BinId == bin);
            Assert.Equal((text, text, text, (double)i, 10.0 + i), (l.Community, l.Compartment, l.Stream, l.FillPct!.Value, l.NetKg!.Value));
            Assert.Single(statuses, x => x.BinId == bin && x.LastSeen == at);
            Assert.Equal(3, await Store.CountReadingsAsync(bin, at, Ct));
            var h = Assert.Single(await Store.GetHistoryAsync(bin, t, t.AddMinutes(1), TimeSpan.FromMinutes(1), Ct));
            Assert.Equal((text, (double)i), (h.Compartment, h.FillPct!.Value));
            var d = Assert.Single(deposits, x => x.Material == text);
            Assert.Equal((text, text, 1.0 + i), (d.Community, d.Stream, d.Kg));
            Assert.Equal(letters[i], Assert.Single(stored, x => x.BinId == bin));
            Assert.Equal(1, Assert.Single(byReason, x => x.Reason == "r " + text).Count);
        }
        Assert.Equal(HostileTexts.Length, stored.Count);
    }

    [Fact]
    public async Task Readings_of_one_bin_at_one_millisecond_are_counted_exactly()
    {
        var t = T0.AddMilliseconds(123);
        const string odd = "JY-0'1 x,y=z";
        await Store.WriteAsync([
            Fill("JY-011", "paper", t, 10), Fill("JY-011", "glass", t, 20), Weight("JY-011", "paper", t, 5, 0.5),
            new StatusReading("JY-011", "c01", t, 7, true, true, 88, null, null, null),
            // Neighbours that must not count: a millisecond later, a bin whose id extends this one, another bin.
            Fill("JY-011", "paper", t.AddMilliseconds(1), 11), Fill("JY-0111", "paper", t, 12), Fill("JY-012", "paper", t, 13),
            Fill(odd, "paper", t, 14), Weight(odd, "paper", t, 1, null),
        ], [new DeadLetter(t, "malformed-json", "JY-011", "ingest-a", "bins/JY-011/fill", "x", "not JSON")], Ct);
        Assert.Equal(4, await Store.CountReadingsAsync("JY-011", t, Ct));
        Assert.Equal(1, await Store.CountReadingsAsync("JY-011", t.AddMilliseconds(1), Ct));
        Assert.Equal(0, await Store.CountReadingsAsync("JY-011", t.AddMilliseconds(2), Ct));
        Assert.Equal(0, await Store.CountReadingsAsync("JY-011", t.AddMilliseconds(-1), Ct));
        Assert.Equal(1, await Store.CountReadingsAsync("JY-0111", t, Ct));
        Assert.Equal(0, await Store.CountReadingsAsync("JY-01", t, Ct));
        Assert.Equal(2, await Store.CountReadingsAsync(odd, t, Ct));
        Assert.Equal(0, await Store.CountReadingsAsync("JY-0'1", t, Ct));
        // A time within the millisecond means that millisecond.
        Assert.Equal(4, await Store.CountReadingsAsync("JY-011", t.AddTicks(5_000), Ct));
    }

    private static StatusReading Status(string bin, DateTimeOffset t, long? seq, double? battery) =>
        new(bin, "c01", t, seq, seq is not null, seq is null ? null : true, battery, null, null, null);

    [Fact]
    public async Task Readings_read_back_in_order_within_the_range_and_of_the_bins_asked_for()
    {
        const string odd = "JY-1'0 x,y=z\\";
        var t = T0.AddHours(3);
        List<Reading> expected =
        [
            // At the range's start: bins in order (ordinal: ' before 0), then fill, weight, status, then compartments in order.
            Fill(odd, "paper", t, 14),
            Fill("JY-101", "glass", t, 11), Fill("JY-101", "paper", t, 12, seq: 2),
            Weight("JY-101", "glass", t, 1.5, null), Weight("JY-101", "paper", t, 2.5, 0.5),
            Status("JY-101", t, 7, 88),
            Fill("JY-102", "kitchen", t, 13),
            // A status without seq was timed on receipt.
            Status("JY-102", t.AddMilliseconds(1), null, 51),
            Weight(odd, "residual", t.AddMinutes(5), 4, 1),
            Weight("JY-101", "paper", t.AddMinutes(5), 3, null, seq: 3),
            Fill("JY-103", "paper", t.AddMinutes(5), 15),
            new StatusReading("JY-103", "c02", t.AddMinutes(59).AddMilliseconds(999), 9, true, false, 20, -5.5, true, true),
        ];
        // Outside [start, end): just before the start, and at the end.
        List<Reading> outside = [Fill("JY-101", "paper", t.AddMilliseconds(-1), 99), Weight("JY-102", "kitchen", t.AddHours(1), 9, 9), Status("JY-103", t.AddHours(1), 10, 1)];
        // Written out of order, and one identity twice: the later write is what reads back.
        await Store.WriteAsync([.. outside, .. Enumerable.Reverse(expected), Fill("JY-103", "paper", t.AddMinutes(5), 50)], [], Ct);
        await Store.WriteAsync([Fill("JY-103", "paper", t.AddMinutes(5), 15)], [], Ct);

        Assert.Equal(expected, await Store.GetReadingsAsync(null, t, t.AddHours(1), Ct));
        Assert.Equal([.. expected.Where(r => r.BinId is "JY-101" or "JY-103")], await Store.GetReadingsAsync(["JY-103", "JY-101", "JY-999"], t, t.AddHours(1), Ct));
        Assert.Equal([.. expected.Where(r => r.BinId == odd)], await Store.GetReadingsAsync([odd], t, t.AddHours(1), Ct));
        // Ids that only look like the ones stored match nothing.
        Assert.Empty(await Store.GetReadingsAsync(["JY-1'0", "JY-10", "JY-101' OR 'x'='x", "\"JY-101\""], t, t.AddHours(1), Ct));
        Assert.Empty(await Store.GetReadingsAsync([], t, t.AddHours(1), Ct));
        Assert.Empty(await Store.GetReadingsAsync(null, t.AddHours(1), t.AddHours(1), Ct));
        Assert.Equal([.. expected.Where(r => r.Time < t.AddMinutes(5))], await Store.GetReadingsAsync(null, t, t.AddMinutes(5), Ct));
        Assert.Equal(outside[1..], await Store.GetReadingsAsync(null, t.AddHours(1), t.AddHours(2), Ct));
    }

    [Fact]
    public async Task A_day_of_the_fleet_reads_back_whole_for_many_bins()
    {
        // 55 bins, a reading of each of three compartments' fill and weight and one status every 10 minutes: 55,440 points.
        var bins = Enumerable.Range(1, 55).Select(i => $"JY-{i:000}").ToList();
        string[] compartments = ["kitchen", "paper", "residual"];
        var readings = new List<Reading>();
        for (var slot = 0; slot < 144; slot++)
        {
            var at = T0.AddMinutes(10 * slot);
            foreach (var bin in bins)
            {
                // In the order they read back: fill, weight, status, each by compartment.
                readings.AddRange(compartments.Select(c => Fill(bin, c, at, slot % 100, slot)));
                readings.AddRange(compartments.Select(c => Weight(bin, c, at, slot / 10.0, slot % 7 == 0 ? 0.5 : null, slot)));
                readings.Add(Status(bin, at, slot, 100 - (slot / 2.0)));
            }
        }
        await Store.WriteAsync(readings, [], Ct);
        Assert.Equal(readings, await Store.GetReadingsAsync(null, T0, T0.AddDays(1), Ct));
        var some = bins.Where((_, i) => i % 2 == 0).ToList();
        Assert.Equal([.. readings.Where(r => some.Contains(r.BinId))], await Store.GetReadingsAsync(some, T0, T0.AddDays(1), Ct));
        // More bins asked for than exist, as a registry of more bins would.
        Assert.Equal(readings, await Store.GetReadingsAsync([.. bins, .. Enumerable.Range(56, 100).Select(i => $"JY-{i:000}")], T0, T0.AddDays(1), Ct));
    }

    private static CollectionEvent Collection(string bin, string compartment, DateTimeOffset t, double kg, double before = 85, double after = 3) =>
        new(bin, "c01", compartment, compartment switch { "kitchen" => "kitchen", "residual" => "residual", _ => "recyclable" }, t, kg, before, after);

    private static DeviceEvent Device(string bin, DateTimeOffset t, string kind, long? seq, string detail) => new(bin, "c01", t, kind, seq, detail);

    [Fact]
    public async Task Events_read_back_in_order_within_the_range()
    {
        var t = T0.AddHours(4);
        List<CollectionEvent> collections =
        [
            Collection("JY-201", "glass", t, 12), Collection("JY-201", "paper", t, 30.25, 91.5, 0),
            Collection("JY-202", "paper", t, 1), Collection("JY-201", "kitchen", t.AddMilliseconds(1), 40, 100, 2.5),
            Collection("JY-202", "residual", t.AddMinutes(59).AddMilliseconds(999), 0, 0, 0),
        ];
        List<DeviceEvent> events =
        [
            Device("JY-201", t, "offline", null, "no message for 900 s"), Device("JY-201", t, "online", 4012, ""),
            Device("JY-201", t, "reboot", 1, "seq 1 after 4011"), Device("JY-202", t, "offline", null, "no message for 900 s"),
            Device("JY-202", t.AddMinutes(30), "online", 77, "back"),
        ];
        // Outside [start, end): just before the start and at the end.
        await Store.WriteEventsAsync(
            [Collection("JY-201", "paper", t.AddMilliseconds(-1), 5), Collection("JY-201", "paper", t.AddHours(1), 6), .. Enumerable.Reverse(collections)],
            [Device("JY-201", t.AddHours(1), "offline", 9, "x"), Device("JY-201", t.AddMilliseconds(-1), "online", 8, "y"), .. Enumerable.Reverse(events)], Ct);

        Assert.Equal(collections, await Store.GetCollectionsAsync(null, t, t.AddHours(1), Ct)); // same time: by compartment, then bin
        Assert.Equal(
            [events[0], events[3], events[1], events[2], events[4]], // same time: by kind
            await Store.GetDeviceEventsAsync(null, t, t.AddHours(1), Ct));
        Assert.Equal([collections[0], collections[1], collections[3]], await Store.GetCollectionsAsync("JY-201", t, t.AddHours(1), Ct));
        Assert.Equal([events[0], events[1], events[2]], await Store.GetDeviceEventsAsync("JY-201", t, t.AddHours(1), Ct));
        Assert.Equal(collections[..3], await Store.GetCollectionsAsync(null, t, t.AddMilliseconds(1), Ct));
        Assert.Empty(await Store.GetCollectionsAsync(null, t.AddHours(1).AddMilliseconds(1), t.AddHours(2), Ct));
        Assert.Empty(await Store.GetDeviceEventsAsync(null, t, t, Ct));
        // Events are not readings.
        Assert.Equal(new StoredCounts(0, 0, 0, 0), await Store.CountAsync(t.AddHours(-1), t.AddHours(2), Ct));
    }

    [Fact]
    public async Task An_event_written_twice_is_stored_once_and_the_later_write_wins()
    {
        var t = T0.AddHours(5);
        await Store.WriteEventsAsync([Collection("JY-203", "paper", t, 10, 80, 5)], [Device("JY-203", t, "reboot", 1, "seq 1 after 10")], Ct);
        await Store.WriteEventsAsync([Collection("JY-203", "paper", t, 12.5, 81, 4)], [Device("JY-203", t, "reboot", 2, "seq 2 after 10")], Ct);
        // A retried batch: the same events again.
        await Store.WriteEventsAsync([Collection("JY-203", "paper", t, 12.5, 81, 4)], [Device("JY-203", t, "reboot", 2, "seq 2 after 10")], Ct);
        // Another kind, compartment or millisecond is another event.
        await Store.WriteEventsAsync([Collection("JY-203", "glass", t, 1), Collection("JY-203", "paper", t.AddMilliseconds(1), 2)],
            [Device("JY-203", t, "online", 3, ""), Device("JY-203", t.AddMilliseconds(1), "reboot", 1, "again")], Ct);

        var collections = await Store.GetCollectionsAsync("JY-203", t, t.AddMinutes(1), Ct);
        Assert.Equal([Collection("JY-203", "glass", t, 1), Collection("JY-203", "paper", t, 12.5, 81, 4), Collection("JY-203", "paper", t.AddMilliseconds(1), 2)], collections);
        var events = await Store.GetDeviceEventsAsync("JY-203", t, t.AddMinutes(1), Ct);
        Assert.Equal([Device("JY-203", t, "online", 3, ""), Device("JY-203", t, "reboot", 2, "seq 2 after 10"), Device("JY-203", t.AddMilliseconds(1), "reboot", 1, "again")], events);
        // A time within the millisecond is that millisecond.
        await Store.WriteEventsAsync([Collection("JY-203", "glass", t.AddTicks(4_000), 7)], [Device("JY-203", t.AddTicks(9_999), "online", 4, "sub-ms")], Ct);
        Assert.Equal(7.0, Assert.Single(await Store.GetCollectionsAsync("JY-203", t, t.AddMilliseconds(1), Ct), c => c.Compartment == "glass").KgCollected);
        var online = Assert.Single(await Store.GetDeviceEventsAsync("JY-203", t, t.AddMilliseconds(1), Ct), e => e.Kind == "online");
        Assert.Equal(("sub-ms", 4L, t), (online.Detail, online.Seq!.Value, online.Time));
    }

    [Fact]
    public async Task A_device_event_written_again_without_seq_keeps_the_seq_stored()
    {
        var t = T0.AddHours(6);
        await Store.WriteEventsAsync([], [Device("JY-204", t, "offline", 41, "first")], Ct);
        await Store.WriteEventsAsync([], [Device("JY-204", t, "offline", null, "second")], Ct);
        Assert.Equal(Device("JY-204", t, "offline", 41, "second"), Assert.Single(await Store.GetDeviceEventsAsync(null, t, t.AddSeconds(1), Ct)));
    }

    [Fact]
    public async Task Hostile_text_in_event_details_and_tags_round_trips_exactly()
    {
        var t = T0.AddHours(7);
        var collections = new List<CollectionEvent>();
        var events = new List<DeviceEvent>();
        string[] texts = [.. HostileTexts, "\"quoted\" and 'single', a \\ backslash,\r\n CR LF, \0 NUL and a final \\", ""];
        for (var i = 0; i < texts.Length; i++)
        {
            var text = texts[i];
            var bin = $"JY-9{i:00} {text}";
            var at = t.AddMilliseconds(i);
            events.Add(new DeviceEvent(bin, text, at, "offline", i, text));
            events.Add(new DeviceEvent("JY-299", "c01", at, "reboot", null, text));
            if (text.Length > 0)
            {
                collections.Add(new CollectionEvent(bin, text, text, text, at, i, 100 - i, i / 3.0));
            }
        }
        await Store.WriteEventsAsync(collections, events, Ct);

        Assert.Equal(Ordered(events), await Store.GetDeviceEventsAsync(null, t, t.AddMinutes(1), Ct));
        Assert.Equal(collections, await Store.GetCollectionsAsync(null, t, t.AddMinutes(1), Ct));
        foreach (var e in events.Where(e => e.BinId != "JY-299"))
        {
            // The hostile bin id as a filter: exactly that bin's events.
            Assert.Equal(e, Assert.Single(await Store.GetDeviceEventsAsync(e.BinId, t, t.AddMinutes(1), Ct)));
            Assert.Equal([.. collections.Where(c => c.BinId == e.BinId)], await Store.GetCollectionsAsync(e.BinId, t, t.AddMinutes(1), Ct));
        }
        Assert.Equal([.. events.Where(e => e.BinId == "JY-299")], await Store.GetDeviceEventsAsync("JY-299", t, t.AddMinutes(1), Ct));
        Assert.Empty(await Store.GetDeviceEventsAsync("JY-9", t, t.AddMinutes(1), Ct));
        Assert.Empty(await Store.GetDeviceEventsAsync("JY-299' OR 'x'='x", t, t.AddMinutes(1), Ct));

        static List<DeviceEvent> Ordered(List<DeviceEvent> list) =>
            [.. list.OrderBy(e => e.Time).ThenBy(e => e.Kind, StringComparer.Ordinal).ThenBy(e => e.BinId, StringComparer.Ordinal)];
    }

    [Fact]
    public async Task Events_of_one_bin_are_only_that_bins()
    {
        var t = T0.AddHours(8);
        await Store.WriteEventsAsync(
            [Collection("JY-21", "paper", t, 1), Collection("JY-210", "paper", t, 2), Collection("JY-211", "paper", t, 3)],
            [Device("JY-21", t, "offline", null, "a"), Device("JY-210", t, "offline", null, "b"), Device("JY-211", t, "offline", null, "c")], Ct);
        Assert.Equal([Collection("JY-210", "paper", t, 2)], await Store.GetCollectionsAsync("JY-210", t, t.AddSeconds(1), Ct));
        Assert.Equal([Device("JY-21", t, "offline", null, "a")], await Store.GetDeviceEventsAsync("JY-21", t, t.AddSeconds(1), Ct));
        Assert.Empty(await Store.GetCollectionsAsync("JY-2", t, t.AddSeconds(1), Ct));
        Assert.Empty(await Store.GetDeviceEventsAsync("JY-212", t, t.AddSeconds(1), Ct));
        // Ordered by time, then compartment, then bin.
        Assert.Equal(["JY-21", "JY-210", "JY-211"], (await Store.GetCollectionsAsync(null, t, t.AddSeconds(1), Ct)).Select(c => c.BinId));
    }

    private static StoredAlertEvent Alert(string type, DateTimeOffset at, string bin, string? compartment, string kind, string severity = "warning",
        DateTimeOffset? raisedAt = null, DateTimeOffset? clearedAt = null, DateTimeOffset? acknowledgedAt = null, string? acknowledgedBy = null)
    {
        var raised = raisedAt ?? at;
        return new(type, at, $"{bin}:{compartment}:{kind}:{raised.ToUnixTimeMilliseconds()}", bin, "c01", compartment, kind, severity,
            raised, clearedAt, acknowledgedAt, acknowledgedBy);
    }

    [Fact]
    public async Task Alert_events_round_trip_every_field()
    {
        var t = T0.AddHours(9);
        const string by = "\"王 Ops\" 'x'\r\nline two\0 back\\slash 中文 ends in \\";
        List<StoredAlertEvent> events =
        [
            // A bin's alert (no compartment), active and not acknowledged.
            Alert("raised", t, "JY-301", null, "offline"),
            // A compartment's alert with every time set, and an acknowledger full of text that line protocol, InfluxQL or SQL could take for syntax.
            new("cleared", t.AddMinutes(1), "JY-301:paper:fill:1", "JY-301", "c01", "paper", "fill", "critical",
                t.AddMinutes(-30), t.AddMinutes(1), t.AddMinutes(-20), by),
            new("acknowledged", t.AddMinutes(2), "JY-302:kitchen:overflow:2", "JY-302", "c02", "kitchen", "overflow", "critical",
                t.AddMinutes(-5), null, t.AddMinutes(2), "dispatcher-1"),
            // An acknowledger that is empty text.
            new("acknowledged", t.AddMinutes(3), "JY-303::tilt:3", "JY-303", "c01", null, "tilt", "info", t, null, t.AddMinutes(3), ""),
        ];
        // Every hostile text as an acknowledger and an alert id.
        events.AddRange(HostileTexts.Select((text, i) => new StoredAlertEvent("acknowledged", t.AddMinutes(10).AddMilliseconds(i), text, $"JY-4{i:00}", "c01",
            "paper", "fill", "warning", t, null, t.AddMinutes(10), text)));
        await Store.WriteAlertEventsAsync(events, Ct);

        var stored = await Store.GetAlertEventsAsync(t, t.AddHours(1), 100, Ct);
        Assert.Equal(events, stored);
        Assert.Null(stored[0].Compartment);
        Assert.Null(stored[0].ClearedAt);
        Assert.Null(stored[0].AcknowledgedAt);
        Assert.Null(stored[0].AcknowledgedBy);
        Assert.Equal(by, stored[1].AcknowledgedBy);
        Assert.Equal(TimeSpan.Zero, stored[1].RaisedAt.Offset);

        // Times are kept to the millisecond: a time within one is that millisecond.
        var sub = t.AddHours(2);
        await Store.WriteAlertEventsAsync([new("cleared", sub.AddTicks(9_999), "id", "JY-305", "c01", null, "fire", "critical",
            sub.AddMinutes(-1).AddTicks(5_000), sub.AddTicks(1), sub.AddMinutes(-1).AddTicks(9_999), null)], Ct);
        Assert.Equal(new StoredAlertEvent("cleared", sub, "id", "JY-305", "c01", null, "fire", "critical", sub.AddMinutes(-1), sub, sub.AddMinutes(-1), null),
            Assert.Single(await Store.GetAlertEventsAsync(sub, sub.AddMilliseconds(1), 10, Ct)));
        // Alert events are neither readings nor other events.
        Assert.Equal(new StoredCounts(0, 0, 0, 0), await Store.CountAsync(t.AddHours(-1), t.AddHours(3), Ct));
        Assert.Empty(await Store.GetDeviceEventsAsync(null, t.AddHours(-1), t.AddHours(3), Ct));
    }

    [Fact]
    public async Task Alert_events_read_back_within_the_range_oldest_first()
    {
        var t = T0.AddHours(10);
        List<StoredAlertEvent> inRange =
        [
            // At the range's start, the same millisecond: by bin, then compartment (none first), then kind, then type.
            Alert("cleared", t, "JY-311", null, "offline"), Alert("raised", t, "JY-311", null, "offline"),
            Alert("raised", t, "JY-311", null, "tilt"),
            Alert("raised", t, "JY-311", "glass", "fill"), Alert("escalated", t, "JY-311", "paper", "fill", "critical"),
            Alert("raised", t, "JY-311", "paper", "overflow", "critical"),
            Alert("raised", t, "JY-312", null, "low-battery", "info"),
            Alert("raised", t.AddMilliseconds(1), "JY-310", "paper", "fill"),
            Alert("refired", t.AddMinutes(30), "JY-311", "paper", "fill", raisedAt: t),
            Alert("raised", t.AddMinutes(59).AddMilliseconds(999), "JY-313", null, "fire", "critical"),
        ];
        // Outside [start, end): just before the start, and at the end.
        List<StoredAlertEvent> outside = [Alert("raised", t.AddMilliseconds(-1), "JY-311", null, "offline"), Alert("cleared", t.AddHours(1), "JY-313", null, "fire", "critical")];
        await Store.WriteAlertEventsAsync([.. outside, .. Enumerable.Reverse(inRange)], Ct);

        Assert.Equal(inRange, await Store.GetAlertEventsAsync(t, t.AddHours(1), 1000, Ct));
        Assert.Equal(inRange[..7], await Store.GetAlertEventsAsync(t, t.AddMilliseconds(1), 1000, Ct));
        Assert.Equal([outside[0]], await Store.GetAlertEventsAsync(t.AddMilliseconds(-1), t, 1000, Ct));
        Assert.Equal([outside[1]], await Store.GetAlertEventsAsync(t.AddHours(1), t.AddHours(2), 1000, Ct));
        Assert.Equal([outside[0], .. inRange, outside[1]], await Store.GetAlertEventsAsync(t.AddHours(-1), t.AddHours(2), 1000, Ct));
        Assert.Empty(await Store.GetAlertEventsAsync(t, t, 10, Ct));
        Assert.Empty(await Store.GetAlertEventsAsync(t.AddHours(1), t, 10, Ct));
        Assert.Empty(await Store.GetAlertEventsAsync(t.AddHours(3), t.AddHours(4), 10, Ct));
    }

    [Fact]
    public async Task Alert_events_beyond_the_limit_are_the_newest_still_oldest_first()
    {
        var t = T0.AddHours(11);
        List<StoredAlertEvent> events =
        [
            Alert("raised", t, "JY-321", null, "offline"),
            Alert("raised", t.AddMinutes(1), "JY-322", "paper", "fill"),
            // Three in one millisecond, in different series.
            Alert("raised", t.AddMinutes(2), "JY-321", "glass", "fill"), Alert("raised", t.AddMinutes(2), "JY-321", "paper", "fill"),
            Alert("raised", t.AddMinutes(2), "JY-323", null, "tilt"),
            Alert("cleared", t.AddMinutes(3), "JY-322", "paper", "fill", raisedAt: t.AddMinutes(1), clearedAt: t.AddMinutes(3)),
            Alert("raised", t.AddMinutes(4), "JY-324", null, "fire", "critical"),
        ];
        await Store.WriteAlertEventsAsync([.. Enumerable.Reverse(events)], Ct);
        var end = t.AddHours(1);

        Assert.Equal(events[4..], await Store.GetAlertEventsAsync(t, end, 3, Ct));
        // The limit falls inside the millisecond of three: the last of them in the order, and what is newer.
        Assert.Equal(events[3..], await Store.GetAlertEventsAsync(t, end, 4, Ct));
        Assert.Equal(events[2..], await Store.GetAlertEventsAsync(t, end, 5, Ct));
        Assert.Equal([events[6]], await Store.GetAlertEventsAsync(t, end, 1, Ct));
        Assert.Equal(events, await Store.GetAlertEventsAsync(t, end, 7, Ct));
        Assert.Equal(events, await Store.GetAlertEventsAsync(t, end, 1000, Ct));
        // The newest of the range asked for, not of all that is stored.
        Assert.Equal([events[3], events[4]], await Store.GetAlertEventsAsync(t, t.AddMinutes(2).AddMilliseconds(1), 2, Ct));
        Assert.Equal([events[0], events[1]], await Store.GetAlertEventsAsync(t, t.AddMinutes(2), 2, Ct));
        Assert.Equal([events[3], events[4]], await Store.GetAlertEventsAsync(t.AddMinutes(2), t.AddMinutes(3), 2, Ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.GetAlertEventsAsync(t, end, 0, Ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.GetAlertEventsAsync(t, end, -1, Ct));
    }

    [Fact]
    public async Task An_alert_event_written_twice_is_stored_once_and_the_later_write_wins()
    {
        var t = T0.AddHours(12);
        var raised = Alert("raised", t, "JY-331", "paper", "fill");
        await Store.WriteAlertEventsAsync([raised], Ct);
        // The same identity with other values; then a retried batch, the same again.
        var later = raised with { AlertId = "JY-331:paper:fill:again", RaisedAt = t.AddSeconds(-1), AcknowledgedAt = t.AddMinutes(5), AcknowledgedBy = "ops 2" };
        await Store.WriteAlertEventsAsync([later], Ct);
        await Store.WriteAlertEventsAsync([later], Ct);
        // Another type, kind, compartment (none is one too) or millisecond is another event.
        List<StoredAlertEvent> others =
        [
            raised with { Type = "acknowledged" }, raised with { Kind = "overflow" }, raised with { Compartment = "glass" },
            raised with { Compartment = null }, raised with { At = t.AddMilliseconds(1) },
        ];
        await Store.WriteAlertEventsAsync(others, Ct);

        var stored = await Store.GetAlertEventsAsync(t, t.AddMinutes(1), 100, Ct);
        Assert.Equal(StoreOrder.AlertEvents([later, .. others]), stored);
        Assert.Equal(later, Assert.Single(stored, e => e is { Type: "raised", Kind: "fill", Compartment: "paper" } && e.At == t));
        // A time within the millisecond is that millisecond.
        await Store.WriteAlertEventsAsync([later with { At = t.AddTicks(5_000), AcknowledgedBy = "ops 3" }], Ct);
        Assert.Equal("ops 3", Assert.Single(await Store.GetAlertEventsAsync(t, t.AddMinutes(1), 100, Ct), e => e is { Type: "raised", Kind: "fill", Compartment: "paper" } && e.At == t).AcknowledgedBy);
        Assert.Equal(6, (await Store.GetAlertEventsAsync(t, t.AddMinutes(1), 100, Ct)).Count);
    }

    [Fact]
    public async Task An_alert_event_written_again_without_its_optional_values_keeps_those_stored()
    {
        var t = T0.AddHours(13);
        var full = Alert("cleared", t, "JY-341", null, "door-open", clearedAt: t, acknowledgedAt: t.AddMinutes(-1), acknowledgedBy: "ops");
        await Store.WriteAlertEventsAsync([full], Ct);
        await Store.WriteAlertEventsAsync([full with { AlertId = "second", ClearedAt = null, AcknowledgedAt = null, AcknowledgedBy = null }], Ct);
        Assert.Equal(full with { AlertId = "second" }, Assert.Single(await Store.GetAlertEventsAsync(t, t.AddSeconds(1), 10, Ct)));
    }

    private static readonly string[] NoCompartments = [];

    /// <summary>
    /// A job event as compared here: the record's own equality compares <see cref="StoredJobEvent.Compartments"/> by reference, so
    /// the compartments are compared as their text and count, the rest as the record.
    /// </summary>
    private static (StoredJobEvent Event, string Compartments, int Count) Comparable(StoredJobEvent e) =>
        (e with { Compartments = NoCompartments }, string.Join('\u0001', e.Compartments), e.Compartments.Count);

    private static List<(StoredJobEvent Event, string Compartments, int Count)> Comparable(IEnumerable<StoredJobEvent> events) =>
        [.. events.Select(Comparable)];

    /// <summary>
    /// A job of <paramref name="bin"/> requested by the scheduler at <paramref name="at"/>, as it is after an event of
    /// <paramref name="type"/> at that time (its state the type; planned by routing onto <c>truck-1</c>).
    /// </summary>
    private static StoredJobEvent Job(string type, DateTimeOffset at, string jobId, string bin = "JY-501", string[]? compartments = null, string stream = "recyclable") =>
        new(type, at, jobId, bin, "c01", compartments ?? ["paper"], stream, "threshold", "normal", null, at.AddHours(4),
            type, type == "planned" ? "truck-1" : null,
            at, "scheduler", type == "planned" ? at : null, type == "completed" ? at : null, type == "cancelled" ? at : null,
            type == "planned" ? "routing" : "scheduler");

    [Fact]
    public async Task Job_events_round_trip_every_field()
    {
        var t = T0.AddHours(14);
        const string by = "\"王 Ops\" 'x'\r\nline two\0 back\\slash 中文 ends in \\";
        const string vehicle = "沪A·12345 \"truck\" ,= spaced\\";
        List<StoredJobEvent> events =
        [
            // Requested by the scheduler: every optional value unset but the cause.
            new("requested", t, "job-1", "JY-501", "c01", ["paper"], "recyclable", "threshold", "normal", null, t.AddHours(4), "requested", null,
                t, "scheduler", null, null, null, "scheduler"),
            // Requested by hand for two compartments, with a prediction; no cause given.
            new("requested", t.AddMinutes(1), "job-2", "JY-502", "c02", ["paper", "glass"], "recyclable", "predicted", "urgent",
                t.AddHours(6), t.AddHours(5), "requested", null, t.AddMinutes(1), "dispatcher 李", null, null, null, null),
            // Planned by routing onto a vehicle with a name full of text line protocol, InfluxQL or SQL could take for syntax.
            new("planned", t.AddMinutes(2), "job-2", "JY-502", "c02", ["paper", "glass"], "recyclable", "predicted", "urgent",
                t.AddHours(6), t.AddHours(5), "planned", vehicle, t.AddMinutes(1), "dispatcher 李", t.AddMinutes(2), null, null, "routing"),
            // Completed, every time set, the cause a key name full of hostile text.
            new("completed", t.AddMinutes(3), "job-3", "JY-503", "c01", ["kitchen"], "kitchen", "overflow", "urgent",
                t.AddMinutes(-30), t.AddHours(1), "completed", "truck-2", t.AddMinutes(-20), "scheduler", t.AddMinutes(-10), t.AddMinutes(3), null, by),
            // Cancelled, no compartments at all, empty texts where text may be empty.
            new("cancelled", t.AddMinutes(4), "job-4", "JY-504", "c01", [], "residual", "", "", null, t.AddHours(2), "cancelled", "",
                t.AddMinutes(-1), "", null, null, t.AddMinutes(4), ""),
        ];
        // Every hostile text as a job id, a vehicle, a requester, a reason and a cause.
        events.AddRange(HostileTexts.Select((text, i) => new StoredJobEvent("planned", t.AddMinutes(10).AddMilliseconds(i), text, $"JY-6{i:00}", "c01",
            ["paper"], "recyclable", text, "normal", null, t.AddHours(3), "planned", text, t, text, t.AddMinutes(10), null, null, text)));
        await Store.WriteJobEventsAsync(events, Ct);

        var stored = await Store.GetJobEventsAsync(t, t.AddHours(1), 100, Ct);
        Assert.Equal(Comparable(events), Comparable(stored));
        Assert.Null(stored[0].Vehicle);
        Assert.Null(stored[0].PredictedFullAt);
        Assert.Null(stored[0].PlannedAt);
        Assert.Null(stored[1].By);
        Assert.Equal(["paper", "glass"], stored[1].Compartments);
        Assert.Equal(vehicle, stored[2].Vehicle);
        Assert.Equal(by, stored[3].By);
        Assert.Empty(stored[4].Compartments);
        Assert.Equal("", stored[4].Vehicle);
        Assert.Equal("", stored[4].By);
        Assert.Equal(TimeSpan.Zero, stored[3].Deadline.Offset);

        // Times are kept to the millisecond: a time within one is that millisecond.
        var sub = t.AddHours(2);
        await Store.WriteJobEventsAsync([new("completed", sub.AddTicks(9_999), "job-5", "JY-505", "c01", ["metal"], "recyclable", "threshold", "normal",
            sub.AddTicks(1), sub.AddHours(1).AddTicks(5_000), "completed", "truck-3", sub.AddMinutes(-5).AddTicks(9_999), "scheduler",
            sub.AddMinutes(-4).AddTicks(1), sub.AddTicks(9_999), null, "key-7")], Ct);
        Assert.Equal(Comparable(new StoredJobEvent("completed", sub, "job-5", "JY-505", "c01", ["metal"], "recyclable", "threshold", "normal",
                sub, sub.AddHours(1), "completed", "truck-3", sub.AddMinutes(-5), "scheduler", sub.AddMinutes(-4), sub, null, "key-7")),
            Comparable(Assert.Single(await Store.GetJobEventsAsync(sub, sub.AddMilliseconds(1), 10, Ct))));
        // Job events are neither readings nor other events.
        Assert.Equal(new StoredCounts(0, 0, 0, 0), await Store.CountAsync(t.AddHours(-1), t.AddHours(3), Ct));
        Assert.Empty(await Store.GetAlertEventsAsync(t.AddHours(-1), t.AddHours(3), 100, Ct));
        Assert.Empty(await Store.GetCollectionsAsync(null, t.AddHours(-1), t.AddHours(3), Ct));
    }

    [Fact]
    public async Task Job_events_read_back_within_the_range_oldest_first()
    {
        var t = T0.AddHours(15);
        List<StoredJobEvent> inRange =
        [
            // At the range's start, the same millisecond: by job id (ordinal), then type.
            Job("completed", t, "job-10"), Job("planned", t, "job-10"), Job("requested", t, "job-10", "JY-512"),
            Job("requested", t, "job-100", "JY-511"), Job("requested", t, "job-9", "JY-510"),
            Job("planned", t.AddMilliseconds(1), "job-1"),
            Job("cancelled", t.AddMinutes(30), "job-9", "JY-510"),
            Job("requested", t.AddMinutes(59).AddMilliseconds(999), "job-11", "JY-513", ["kitchen"], "kitchen"),
        ];
        // Outside [start, end): just before the start, and at the end.
        List<StoredJobEvent> outside = [Job("requested", t.AddMilliseconds(-1), "job-1"), Job("completed", t.AddHours(1), "job-11", "JY-513", ["kitchen"], "kitchen")];
        await Store.WriteJobEventsAsync([.. outside, .. Enumerable.Reverse(inRange)], Ct);

        Assert.Equal(Comparable(inRange), Comparable(await Store.GetJobEventsAsync(t, t.AddHours(1), 1000, Ct)));
        Assert.Equal(Comparable(inRange[..5]), Comparable(await Store.GetJobEventsAsync(t, t.AddMilliseconds(1), 1000, Ct)));
        Assert.Equal(Comparable(outside[..1]), Comparable(await Store.GetJobEventsAsync(t.AddMilliseconds(-1), t, 1000, Ct)));
        Assert.Equal(Comparable(outside[1..]), Comparable(await Store.GetJobEventsAsync(t.AddHours(1), t.AddHours(2), 1000, Ct)));
        Assert.Equal(Comparable([outside[0], .. inRange, outside[1]]), Comparable(await Store.GetJobEventsAsync(t.AddHours(-1), t.AddHours(2), 1000, Ct)));
        Assert.Empty(await Store.GetJobEventsAsync(t, t, 10, Ct));
        Assert.Empty(await Store.GetJobEventsAsync(t.AddHours(1), t, 10, Ct));
        Assert.Empty(await Store.GetJobEventsAsync(t.AddHours(3), t.AddHours(4), 10, Ct));
    }

    [Fact]
    public async Task Job_events_beyond_the_limit_are_the_newest_still_oldest_first()
    {
        var t = T0.AddHours(16);
        List<StoredJobEvent> events =
        [
            Job("requested", t, "job-21"),
            Job("requested", t.AddMinutes(1), "job-22", "JY-522"),
            // Three in one millisecond, in different series.
            Job("planned", t.AddMinutes(2), "job-21"), Job("planned", t.AddMinutes(2), "job-22", "JY-522"),
            Job("requested", t.AddMinutes(2), "job-23", "JY-523", ["glass"]),
            Job("completed", t.AddMinutes(3), "job-21"),
            Job("cancelled", t.AddMinutes(4), "job-23", "JY-523", ["glass"]),
        ];
        await Store.WriteJobEventsAsync([.. Enumerable.Reverse(events)], Ct);
        var end = t.AddHours(1);

        Assert.Equal(Comparable(events[4..]), Comparable(await Store.GetJobEventsAsync(t, end, 3, Ct)));
        // The limit falls inside the millisecond of three: the last of them in the order, and what is newer.
        Assert.Equal(Comparable(events[3..]), Comparable(await Store.GetJobEventsAsync(t, end, 4, Ct)));
        Assert.Equal(Comparable(events[2..]), Comparable(await Store.GetJobEventsAsync(t, end, 5, Ct)));
        Assert.Equal(Comparable(events[6..]), Comparable(await Store.GetJobEventsAsync(t, end, 1, Ct)));
        Assert.Equal(Comparable(events), Comparable(await Store.GetJobEventsAsync(t, end, 7, Ct)));
        Assert.Equal(Comparable(events), Comparable(await Store.GetJobEventsAsync(t, end, 1000, Ct)));
        // The newest of the range asked for, not of all that is stored.
        Assert.Equal(Comparable(events[3..5]), Comparable(await Store.GetJobEventsAsync(t, t.AddMinutes(2).AddMilliseconds(1), 2, Ct)));
        Assert.Equal(Comparable(events[..2]), Comparable(await Store.GetJobEventsAsync(t, t.AddMinutes(2), 2, Ct)));
        Assert.Equal(Comparable(events[3..5]), Comparable(await Store.GetJobEventsAsync(t.AddMinutes(2), t.AddMinutes(3), 2, Ct)));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.GetJobEventsAsync(t, end, 0, Ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.GetJobEventsAsync(t, end, -1, Ct));
    }

    [Fact]
    public async Task A_job_event_written_twice_is_stored_once_and_the_later_write_wins()
    {
        var t = T0.AddHours(17);
        var planned = Job("planned", t, "job-31");
        await Store.WriteJobEventsAsync([planned], Ct);
        // The same identity with other values; then a retried batch, the same again.
        var later = planned with
        {
            Compartments = ["paper", "metal"], Reason = "overflow", Priority = "urgent", PredictedFullAt = t.AddHours(1), Deadline = t.AddHours(2),
            Vehicle = "truck-9", RequestedAt = t.AddMinutes(-3), RequestedBy = "dispatcher-2", PlannedAt = t.AddSeconds(-1), By = "routing 2",
        };
        await Store.WriteJobEventsAsync([later], Ct);
        await Store.WriteJobEventsAsync([later], Ct);
        // Another type, job or millisecond is another event.
        List<StoredJobEvent> others = [planned with { Type = "completed" }, planned with { JobId = "job-32" }, planned with { At = t.AddMilliseconds(1) }];
        await Store.WriteJobEventsAsync(others, Ct);

        var stored = await Store.GetJobEventsAsync(t, t.AddMinutes(1), 100, Ct);
        Assert.Equal(Comparable(StoreOrder.JobEvents([later, .. others])), Comparable(stored));
        Assert.Equal(Comparable(later), Comparable(Assert.Single(stored, e => e is { JobId: "job-31", Type: "planned" } && e.At == t)));
        // A time within the millisecond is that millisecond.
        await Store.WriteJobEventsAsync([later with { At = t.AddTicks(5_000), By = "routing 3" }], Ct);
        stored = await Store.GetJobEventsAsync(t, t.AddMinutes(1), 100, Ct);
        Assert.Equal("routing 3", Assert.Single(stored, e => e is { JobId: "job-31", Type: "planned" } && e.At == t).By);
        Assert.Equal(4, stored.Count);
    }

    [Fact]
    public async Task Two_jobs_events_of_one_bin_type_and_time_are_both_stored()
    {
        // A dispatcher's job for a bin's plastic beside the scheduler's for its paper (one stream, two jobs), requested at one
        // instant and closed at one instant (one emptying completes both): four events, none overwriting another.
        var t = T0.AddHours(18);
        List<StoredJobEvent> events =
        [
            Job("requested", t, "job-41", "JY-541", ["paper"]), Job("requested", t, "job-42", "JY-541", ["plastic"]),
            Job("completed", t.AddMinutes(1), "job-41", "JY-541", ["paper"]), Job("completed", t.AddMinutes(1), "job-42", "JY-541", ["plastic"]),
        ];
        await Store.WriteJobEventsAsync(events, Ct);
        Assert.Equal(Comparable(events), Comparable(await Store.GetJobEventsAsync(t, t.AddHours(1), 100, Ct)));
    }

    [Fact]
    public async Task A_job_event_written_again_without_its_optional_values_keeps_those_stored()
    {
        var t = T0.AddHours(19);
        var full = Job("completed", t, "job-51") with { PredictedFullAt = t.AddHours(1), Vehicle = "truck-5", PlannedAt = t.AddMinutes(-10), By = "key-1" };
        await Store.WriteJobEventsAsync([full], Ct);
        await Store.WriteJobEventsAsync([full with { State = "completed!", PredictedFullAt = null, Vehicle = null, PlannedAt = null, CompletedAt = null, By = null }], Ct);
        Assert.Equal(Comparable(full with { State = "completed!" }), Comparable(Assert.Single(await Store.GetJobEventsAsync(t, t.AddSeconds(1), 10, Ct))));
    }

    [Theory]
    [InlineData("paper,glass")]
    [InlineData("")]
    public async Task A_job_event_whose_compartment_would_not_read_back_is_refused_with_its_batch(string compartment)
    {
        var t = T0.AddHours(20);
        await Assert.ThrowsAsync<StoreRejectedException>(() => Store.WriteJobEventsAsync(
            [Job("requested", t, "job-61"), Job("requested", t, "job-62", compartments: ["metal", compartment])], Ct));
        Assert.Empty(await Store.GetJobEventsAsync(t, t.AddHours(1), 10, Ct));
    }

    [Fact]
    public async Task A_large_batch_is_stored_whole()
    {
        var readings = Enumerable.Range(0, 12_000).Select(i => (Reading)Fill("JY-010", "paper", T0.AddMilliseconds(i), i % 100)).ToList();
        await Store.WriteAsync(readings, [], Ct);
        Assert.Equal(12_000, (await Store.CountAsync(T0, T0.AddMinutes(1), Ct)).Fill);
    }
}
