using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Playwright;
using MQTTnet;
using MQTTnet.Protocol;
using Telemetry.Contracts.Readings;
using Telemetry.Fleet;
using Telemetry.Storage.Sqlite;
using Xunit.Abstractions;

namespace Telemetry.IntegrationTests.Browser;

/// <summary>
/// The dashboard in Debian's headless Chromium against a real <c>telemetry demo</c> (embedded MQTT broker, SQLite,
/// the simulator at real speed): sign-in, the map and the list, a reading published over MQTT recolouring its bin
/// within 2 seconds, a bin's history charts, the analyst's chart and CSV (byte for byte the API's), the Chinese
/// switch, a wrong key, and a tablet's 768×1024 without sideways scrolling. No page may raise a script error or a
/// content-security-policy violation, or load anything from outside the host.
/// </summary>
[Collection("browser")]
public sealed class DashboardBrowserTests(DashboardBrowserTests.DemoAndBrowser host, ITestOutputHelper output) : IClassFixture<DashboardBrowserTests.DemoAndBrowser>
{
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_wrong_key_is_refused_and_the_right_one_shows_the_55_bins_on_the_map_and_in_the_list()
    {
        await using var browser = await host.OpenAsync(output);
        var page = browser.Page;
        await page.GotoAsync(host.Origin + "/");
        await page.FillAsync("#key", "not-a-key-" + Guid.NewGuid().ToString("N"));
        await page.ClickAsync("#signin button[type=submit]");
        await Assertions.Expect(page.Locator("#signin-error")).ToContainTextAsync("refused");
        Assert.Equal(0, await page.Locator("#map").CountAsync());

        await SignInAsync(page, host.Demo.Key("dispatcher"));
        await Assertions.Expect(page.Locator(".bin-marker")).ToHaveCountAsync(55);
        await Assertions.Expect(page.Locator("#bin-list tbody tr")).ToHaveCountAsync(55);
        await Assertions.Expect(page.Locator(".facility-marker")).ToHaveCountAsync(5);
        await Assertions.Expect(page.Locator("#live")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("connected"));
        // Every bin has a seeded fill, so none is grey; sorted fullest first.
        Assert.Equal(0, await page.Locator(".bin-marker[data-level='none']").CountAsync());
        var fills = await page.Locator("#bin-list tbody tr .pct").AllTextContentsAsync();
        var numbers = fills.Select(f => double.Parse(f.TrimEnd(' ', '%'), CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(numbers.OrderByDescending(x => x), numbers);

        // Filter by community: c02 has three bins.
        await page.SelectOptionAsync("#filter-community", "c02");
        await Assertions.Expect(page.Locator("#bin-list tbody tr")).ToHaveCountAsync(host.Registry.Bins.Count(b => b.Community == "c02"));
        // Filter by stream and sort by id.
        await page.SelectOptionAsync("#filter-community", "");
        await page.SelectOptionAsync("#filter-stream", "hazardous");
        await page.SelectOptionAsync("#sort", "id");
        await Assertions.Expect(page.Locator("#bin-list tbody tr").First).ToHaveAttributeAsync("data-bin", "JY-001");
        await Assertions.Expect(page.Locator("#bin-list tbody tr").First.Locator(".material")).ToHaveTextAsync("Hazardous");

        // Signing out removes the cookie: the page asks for a key again, and this browser is no longer let in.
        // (The cookie holds the key itself: the key stays valid until an admin removes it from Api:Keys.)
        await page.ClickAsync("#signout");
        await Assertions.Expect(page.Locator("#key")).ToBeVisibleAsync();
        var session = await page.APIRequest.GetAsync(host.Origin + "/api/session");
        Assert.Equal(401, session.Status);
        browser.AssertClean(host.Origin);
    }

    [Fact]
    public async Task A_confirmed_reading_published_over_MQTT_changes_its_bins_colour_within_2_seconds_without_a_reload()
    {
        await using var browser = await host.OpenAsync(output);
        var page = browser.Page;
        await page.GotoAsync(host.Origin + "/");
        await SignInAsync(page, host.Demo.Key("analyst"));
        var marker = page.Locator(".bin-marker[data-bin='JY-007']");
        await Assertions.Expect(marker).Not.ToHaveAttributeAsync("data-level", "full");
        await Assertions.Expect(page.Locator("#live")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("connected"));

        // One reading far above the level is held as a possible echo: the bin does not turn red for it...
        var echoAt = Now();
        await host.PublishAsync("bins/JY-007/fill", $$"""{"v":1,"ts":"{{echoAt}}","seq":{{host.NextSeq()}},"compartments":[{"id":"paper","fillPct":99.0}]}""");
        await host.WaitForCleanedAtAsync("JY-007", "paper", echoAt);
        await Assertions.Expect(marker).Not.ToHaveAttributeAsync("data-level", "full");
        // ...the next one confirms it, and within 2 seconds the map and the list show it.
        await host.PublishAsync("bins/JY-007/fill", $$"""{"v":1,"ts":"{{Now()}}","seq":{{host.NextSeq()}},"compartments":[{"id":"paper","fillPct":98.5}]}""");
        await Assertions.Expect(marker).ToHaveAttributeAsync("data-level", "full", new() { Timeout = 2000 });
        await Assertions.Expect(page.Locator("#bin-list tbody tr[data-bin='JY-007']")).ToHaveAttributeAsync("data-level", "full", new() { Timeout = 2000 });

        // Device health marks: tilted and low on battery, then offline (the Last Will's payload).
        var other = page.Locator(".bin-marker[data-bin='JY-008']");
        await host.PublishAsync("bins/JY-008/status", $$"""{"v":1,"ts":"{{Now()}}","seq":{{host.NextSeq()}},"tilt":true,"batteryPct":8}""");
        await Assertions.Expect(other).ToHaveAttributeAsync("data-marks", new System.Text.RegularExpressions.Regex("battery.*tilt|tilt.*battery"), new() { Timeout = 2000 });
        await host.PublishAsync("bins/JY-008/status", $$"""{"v":1,"ts":"{{Now()}}","seq":{{host.NextSeq()}},"online":false}""");
        await Assertions.Expect(other).ToHaveAttributeAsync("data-marks", new System.Text.RegularExpressions.Regex("offline"), new() { Timeout = 2000 });
        browser.AssertClean(host.Origin);
    }

    [Fact]
    public async Task A_reading_that_crosses_the_threshold_shows_its_alert_within_2_seconds_and_a_dispatcher_acknowledges_it()
    {
        await using var browser = await host.OpenAsync(output);
        var page = browser.Page;
        await page.GotoAsync(host.Origin + "/");
        await SignInAsync(page, host.Demo.Key("dispatcher"));
        await Assertions.Expect(page.Locator("#alerts")).ToBeVisibleAsync();
        var row = page.Locator("#alerts [data-alert-id^='JY-020:paper:fill:']");
        await Assertions.Expect(row).ToHaveCountAsync(0);
        var marker = page.Locator(".bin-marker[data-bin='JY-020']");
        await Assertions.Expect(marker).Not.ToHaveAttributeAsync("data-alert-severity", "warning");

        // JY-020's paper is at about 30 %: a jump to 90 is held until the next reading confirms it, and the alert needs two
        // cleaned readings at or above the threshold, so the third reading is the one that crosses.
        // Timed a second apart by the device's clock (sent without waiting), the last one now.
        var start = DateTimeOffset.UtcNow;
        await host.PublishAsync("bins/JY-020/fill", $$"""{"v":1,"ts":"{{Ts(start.AddSeconds(-2))}}","seq":{{host.NextSeq()}},"compartments":[{"id":"paper","fillPct":90.0}]}""");
        var confirmedAt = Ts(start.AddSeconds(-1));
        await host.PublishAsync("bins/JY-020/fill", $$"""{"v":1,"ts":"{{confirmedAt}}","seq":{{host.NextSeq()}},"compartments":[{"id":"paper","fillPct":90.5}]}""");
        await host.WaitForCleanedAtAsync("JY-020", "paper", confirmedAt);
        await Assertions.Expect(row).ToHaveCountAsync(0);
        await host.PublishAsync("bins/JY-020/fill", $$"""{"v":1,"ts":"{{Ts(start)}}","seq":{{host.NextSeq()}},"compartments":[{"id":"paper","fillPct":91.0}]}""");
        await Assertions.Expect(row).ToHaveCountAsync(1, new() { Timeout = 2000 });
        await Assertions.Expect(row).ToHaveAttributeAsync("data-severity", "warning");
        await Assertions.Expect(row).ToHaveAttributeAsync("data-acknowledged", "false");
        await Assertions.Expect(marker).ToHaveAttributeAsync("data-alert-severity", new System.Text.RegularExpressions.Regex("warning|critical"), new() { Timeout = 2000 });

        // The dispatcher acknowledges it: the row says so, and the API records the key's name.
        await row.Locator("button.ack").ClickAsync();
        await Assertions.Expect(row).ToHaveAttributeAsync("data-acknowledged", "true", new() { Timeout = 5000 });
        var id = await row.GetAttributeAsync("data-alert-id");
        var alerts = await page.APIRequest.GetAsync(host.Origin + "/api/alerts");
        Assert.Equal(200, alerts.Status);
        using (var json = System.Text.Json.JsonDocument.Parse(await alerts.TextAsync()))
        {
            var alert = json.RootElement.EnumerateArray().Single(a => a.GetProperty("id").GetString() == id);
            Assert.Equal("demo-dispatcher", alert.GetProperty("acknowledgedBy").GetString());
            Assert.Equal("fill", alert.GetProperty("kind").GetString());
        }
        browser.AssertClean(host.Origin);
    }

    [Fact]
    public async Task A_bins_page_shows_its_device_health_and_draws_fill_and_weight_history_per_compartment()
    {
        await using var browser = await host.OpenAsync(output, timeZone: "America/New_York");
        var page = browser.Page;
        await page.GotoAsync(host.Origin + "/");
        await SignInAsync(page, host.Demo.Key("analyst"));
        await page.Locator("#bin-list tbody tr[data-bin='JY-012'] a").ClickAsync();
        await Assertions.Expect(page.Locator("#bin-page h1")).ToHaveTextAsync("JY-012");
        await Assertions.Expect(page.Locator("#device-health")).ToContainTextAsync("Battery");
        var compartments = host.Registry.FindBin("JY-012")!.Compartments;
        await Assertions.Expect(page.Locator("#compartments .compartment")).ToHaveCountAsync(compartments.Count);
        await Assertions.Expect(page.Locator("#charts canvas")).ToHaveCountAsync(compartments.Count);
        // Each chart has data points (fill and weight buckets of the last 24 hours).
        foreach (var c in compartments)
        {
            var canvas = page.Locator($"canvas[data-chart='history-{c.Id}']");
            await Assertions.Expect(canvas).ToHaveAttributeAsync("data-points", new System.Text.RegularExpressions.Regex("^[1-9][0-9]+$"));
            // The prediction is drawn ahead of now: the seed rises, so every compartment has a curve.
            await Assertions.Expect(canvas).ToHaveAttributeAsync("data-forecast", new System.Text.RegularExpressions.Regex("^([2-9]|[1-9][0-9]+)$"));
        }
        // Drawn, not blank: the canvas has coloured pixels.
        var inked = await page.EvaluateAsync<int>("""
            () => { const c = document.querySelector("canvas[data-chart='history-paper']"); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                    let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }
            """);
        Assert.True(inked > 1000, $"the paper chart has only {inked} drawn pixels");

        // The seed's emptying of JY-012's paper, found by the fill signal: in the events table and marked on its chart.
        var collection = page.Locator("#events tr[data-kind='collection'][data-compartment='paper']");
        await Assertions.Expect(collection).ToHaveCountAsync(1);
        await Assertions.Expect(collection).ToContainTextAsync("Collected");
        await Assertions.Expect(page.Locator("canvas[data-chart='history-paper']")).ToHaveAttributeAsync("data-collections", "1");
        // Each compartment says when it reaches the threshold and when it is full, with a band.
        var paperCard = page.Locator("#compartments .compartment[data-compartment='paper']");
        await Assertions.Expect(paperCard.Locator(".prediction[data-predicted='threshold']")).ToContainTextAsync("Reaches 80");
        await Assertions.Expect(paperCard.Locator(".prediction[data-predicted='full']")).ToContainTextAsync("Full");

        await page.SelectOptionAsync("#period", "7d");
        await Assertions.Expect(page.Locator("canvas[data-chart='history-paper']")).ToHaveAttributeAsync("data-points", new System.Text.RegularExpressions.Regex("^[1-9][0-9]+$"));

        // Times in the registry's zone (Asia/Shanghai), whatever the device's: this browser is set to New York.
        // The instant and its text read together (a live repaint could change one between two reads).
        var both = await page.EvaluateAsync<string[]>("() => { const e = document.querySelector('#device-health time'); return [e.getAttribute('datetime'), e.textContent]; }");
        var at = DateTimeOffset.Parse(both[0], CultureInfo.InvariantCulture);
        var shanghai = TimeZoneInfo.ConvertTime(at, host.Registry.TimeZone);
        var newYork = TimeZoneInfo.ConvertTime(at, TimeZoneInfo.FindSystemTimeZoneById("America/New_York"));
        var shown = both[1];
        Assert.Contains(shanghai.ToString("HH:mm", CultureInfo.InvariantCulture), shown, StringComparison.Ordinal);
        Assert.DoesNotContain(newYork.ToString("HH:mm", CultureInfo.InvariantCulture), shown, StringComparison.Ordinal);

        // An unknown bin: a clear message, not a broken page.
        await page.GotoAsync(host.Origin + "/#/bins/JY-999");
        await Assertions.Expect(page.Locator(".bin-page .state.error")).ToContainTextAsync("JY-999");
        browser.AssertClean(host.Origin);
    }

    [Fact]
    public async Task The_analyst_chart_renders_and_its_table_and_downloaded_CSV_equal_the_APIs_numbers()
    {
        await using var browser = await host.OpenAsync(output);
        var page = browser.Page;
        await page.GotoAsync(host.Origin + "/");
        await SignInAsync(page, host.Demo.Key("analyst"));
        await page.ClickAsync("header nav a[href='#/analytics']");
        // Yesterday, a local day the seed fills and the simulator (at real speed, publishing now) does not touch.
        var yesterday = TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, host.Registry.TimeZone).Date.AddDays(-1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        await page.FillAsync("#from", yesterday);
        await page.FillAsync("#to", yesterday);
        var diversionRequests = new ConcurrentQueue<string>();
        page.Request += (_, r) => { if (r.Url.Contains("/api/analytics/diversion", StringComparison.Ordinal)) { diversionRequests.Enqueue(r.Url); } };
        await page.ClickAsync("#show");
        var chart = page.Locator("#analytics-chart");
        await Assertions.Expect(chart).ToHaveAttributeAsync("data-groups", host.Registry.Communities.Count.ToString(CultureInfo.InvariantCulture));
        var url = diversionRequests.Last();

        using var http = DemoAndBrowser.ApiClient(host.Demo.Key("analyst"));
        using var json = JsonDocument.Parse(await http.GetStringAsync(new Uri(url)));
        var groups = json.RootElement.GetProperty("groups").EnumerateArray().ToList();
        Assert.Equal(host.Registry.Communities.Count, groups.Count);
        // The table holds the API's numbers: each group's kg per stream.
        foreach (var g in groups)
        {
            var key = g.GetProperty("key").GetString()!;
            foreach (var stream in new[] { "recyclable", "kitchen", "hazardous", "residual" })
            {
                var cell = page.Locator($"#analytics-table tr[data-key='{key}'] td[data-stream='{stream}']");
                var kg = g.GetProperty("depositedKg").GetProperty(stream).GetDouble();
                var shown = double.Parse((await cell.GetAttributeAsync("data-kg"))!, CultureInfo.InvariantCulture);
                Assert.Equal(kg, shown, 9);
                // And the text a reader sees: the same kg to one decimal (en-GB grouping).
                Assert.Equal(kg.ToString("#,##0.#", CultureInfo.InvariantCulture), await cell.TextContentAsync());
            }
        }
        // In English the table names communities as the API does.
        await Assertions.Expect(page.Locator("#analytics-table tr[data-key='c01'] th")).ToHaveTextAsync("Xinyuan Community");

        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("#csv"));
        var path = await download.PathAsync();
        var downloaded = await File.ReadAllBytesAsync(path!);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(url));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));
        using var response = await http.SendAsync(request);
        var expected = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(expected, downloaded);
        Assert.StartsWith("key,name,recyclableKg", Encoding.UTF8.GetString(downloaded).TrimStart('\uFEFF'), StringComparison.Ordinal);
        Assert.EndsWith(".csv", download.SuggestedFilename, StringComparison.Ordinal);
        browser.AssertClean(host.Origin);
    }

    [Fact]
    public async Task The_Chinese_switch_shows_Chinese_names_and_is_remembered_and_a_Chinese_browser_starts_in_Chinese()
    {
        await using (var browser = await host.OpenAsync(output))
        {
            var page = browser.Page;
            await page.GotoAsync(host.Origin + "/");
            await SignInAsync(page, host.Demo.Key("analyst"));
            await Assertions.Expect(page.Locator("#bin-list")).ToContainTextAsync("Xinyuan Community");
            await page.ClickAsync("#lang");
            await Assertions.Expect(page.Locator("#bin-list")).ToContainTextAsync("新苑社区");
            await Assertions.Expect(page.Locator("header nav")).ToContainTextAsync("设备总览");
            Assert.Equal("zh-CN", await page.EvaluateAsync<string>("() => document.documentElement.lang"));
            await page.ReloadAsync();
            await Assertions.Expect(page.Locator("#bin-list")).ToContainTextAsync("新苑社区");
            // A bin's page: its Chinese address.
            await page.GotoAsync(host.Origin + "/#/bins/JY-001");
            await Assertions.Expect(page.Locator(".bin-page .address")).ToContainTextAsync("新苑社区23号楼");
            await Assertions.Expect(page.Locator("#device-health")).ToContainTextAsync("电量");
            await page.ClickAsync("#lang");
            await Assertions.Expect(page.Locator(".bin-page .address")).ToContainTextAsync("No. 23 Building, Xinyuan Community");
            browser.AssertClean(host.Origin);
        }
        await using (var chinese = await host.OpenAsync(output, locale: "zh-CN"))
        {
            await chinese.Page.GotoAsync(host.Origin + "/");
            await Assertions.Expect(chinese.Page.Locator("#signin h1")).ToHaveTextAsync("登录");
            chinese.AssertClean(host.Origin);
        }
    }

    [Fact]
    public async Task On_a_tablet_no_page_scrolls_sideways_and_the_map_and_list_are_usable_in_both_languages()
    {
        foreach (var locale in new[] { "en-GB", "zh-CN" })
        {
            await using var browser = await host.OpenAsync(output, locale, width: 768, height: 1024);
            var page = browser.Page;
            var tag = locale[..2];
            await page.GotoAsync(host.Origin + "/");
            await AssertNoSidewaysScrollAsync(page, "sign-in");
            await DemoAndBrowser.ScreenshotAsync(page, $"signin-{tag}-tablet");
            await SignInAsync(page, host.Demo.Key("dispatcher"));
            await Assertions.Expect(page.Locator(".bin-marker")).ToHaveCountAsync(55);
            await AssertNoSidewaysScrollAsync(page, "fleet");
            // The map is on screen and takes a tap; the list is reachable below it.
            var map = await page.Locator("#map").BoundingBoxAsync();
            Assert.NotNull(map);
            Assert.True(map.Width >= 700 && map.Height >= 300, $"map {map.Width}x{map.Height}");
            await DemoAndBrowser.ScreenshotAsync(page, $"fleet-{tag}-tablet");
            await page.Locator("#bin-list tbody tr").First.ScrollIntoViewIfNeededAsync();
            await Assertions.Expect(page.Locator("#bin-list tbody tr").First).ToBeInViewportAsync();
            var marker = page.Locator(".bin-marker[data-bin='JY-030']");
            await marker.ClickAsync();
            await Assertions.Expect(page.Locator("#bin-page h1")).ToHaveTextAsync("JY-030");
            await Assertions.Expect(page.Locator("#charts canvas").First).ToHaveAttributeAsync("data-points", new System.Text.RegularExpressions.Regex("^[1-9]"));
            await AssertNoSidewaysScrollAsync(page, "bin");
            await DemoAndBrowser.ScreenshotAsync(page, $"bin-{tag}-tablet");
            await page.GotoAsync(host.Origin + "/#/analytics");
            await Assertions.Expect(page.Locator("#analytics-chart")).ToHaveAttributeAsync("data-groups", new System.Text.RegularExpressions.Regex("^[1-9]"));
            await AssertNoSidewaysScrollAsync(page, "analytics");
            await DemoAndBrowser.ScreenshotAsync(page, $"analytics-{tag}-tablet");
            browser.AssertClean(host.Origin);
        }
    }

    [Fact]
    public async Task Desktop_pages_in_both_languages_for_the_docs()
    {
        foreach (var locale in new[] { "en-GB", "zh-CN" })
        {
            await using var browser = await host.OpenAsync(output, locale, width: 1440, height: 900);
            var page = browser.Page;
            var tag = locale[..2];
            await page.GotoAsync(host.Origin + "/");
            await SignInAsync(page, host.Demo.Key("dispatcher"));
            await Assertions.Expect(page.Locator(".bin-marker")).ToHaveCountAsync(55);
            await AssertNoSidewaysScrollAsync(page, "fleet");
            await DemoAndBrowser.ScreenshotAsync(page, $"fleet-{tag}");
            await page.GotoAsync(host.Origin + "/#/bins/JY-001");
            await Assertions.Expect(page.Locator("#charts canvas").First).ToHaveAttributeAsync("data-points", new System.Text.RegularExpressions.Regex("^[1-9]"));
            await DemoAndBrowser.ScreenshotAsync(page, $"bin-{tag}");
            await page.GotoAsync(host.Origin + "/#/analytics");
            await Assertions.Expect(page.Locator("#analytics-chart")).ToHaveAttributeAsync("data-groups", new System.Text.RegularExpressions.Regex("^[1-9]"));
            await DemoAndBrowser.ScreenshotAsync(page, $"analytics-{tag}");
            browser.AssertClean(host.Origin);
        }
    }

    [Fact]
    public async Task The_page_is_served_with_a_content_security_policy_that_allows_only_the_host()
    {
        using var http = DemoAndBrowser.ApiClient(null);
        using var response = await http.GetAsync(new Uri(host.Origin + "/"));
        Assert.Equal(200, (int)response.StatusCode);
        var policy = string.Join(' ', response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'self'", policy, StringComparison.Ordinal);
        Assert.Contains("script-src 'self';", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe", policy, StringComparison.Ordinal);
        Assert.Contains("nosniff", string.Join(' ', response.Headers.GetValues("X-Content-Type-Options")), StringComparison.Ordinal);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("/vendor/leaflet/leaflet.js", html, StringComparison.Ordinal);
        Assert.DoesNotContain("http://", html, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
        // The fleet endpoint is protected like the rest of the API.
        using var anonymous = await http.GetAsync(new Uri(host.Origin + "/api/fleet"));
        Assert.Equal(401, (int)anonymous.StatusCode);
    }

    private static async Task SignInAsync(IPage page, string key)
    {
        await page.FillAsync("#key", key);
        await page.ClickAsync("#signin button[type=submit]");
        await Assertions.Expect(page.Locator("#map")).ToBeVisibleAsync();
    }

    private static async Task AssertNoSidewaysScrollAsync(IPage page, string what)
    {
        // html and body clip nothing, so anything too wide would widen the page itself.
        var overflow = await page.EvaluateAsync<string>("() => [getComputedStyle(document.documentElement).overflowX, getComputedStyle(document.body).overflowX].join(' ')");
        Assert.Equal("visible visible", overflow);
        var (scroll, client) = (await page.EvaluateAsync<int>("() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"), await page.EvaluateAsync<int>("() => document.documentElement.clientWidth"));
        Assert.True(scroll <= client, $"the {what} page scrolls sideways: {scroll} px of content in {client} px");
    }

    private static string Now() => Ts(DateTimeOffset.UtcNow);

    private static string Ts(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// One demo (SQLite seeded with two days of readings for every bin, the simulator at real speed) and one headless
    /// Chromium for the class. Screenshots go to TELEMETRY_TEST_SCREENSHOTS when set (scripts/screenshots.sh: docs/screenshots).
    /// </summary>
    public sealed class DemoAndBrowser : IAsyncLifetime
    {
        private string? _dir;
        private DemoProcess? _demo;
        private IPlaywright? _playwright;
        private IBrowser? _browser;
        private IMqttClient? _device;
        private long _seq = 1_000_000;

        public FleetRegistry Registry { get; } = FleetRegistryLoader.LoadDefault();

        internal DemoProcess Demo => _demo ?? throw new InvalidOperationException("the demo is not running");

        public string Origin => Demo.BaseAddress.GetLeftPart(UriPartial.Authority);

        public long NextSeq() => Interlocked.Increment(ref _seq);

        public async Task InitializeAsync()
        {
            var chromium = TestServices.Chromium;
            _dir = Directory.CreateTempSubdirectory("telemetry-dashboard-").FullName;
            var db = Path.Combine(_dir, "telemetry.db");
            await using (var store = new SqliteStore(db))
            {
                await store.InitializeAsync(CancellationToken.None);
                await store.WriteAsync(Seed(Registry, DateTimeOffset.UtcNow), [], CancellationToken.None);
            }
            _demo = await DemoProcess.StartAsync(["--speed", "1", "--history", "1m", $"--Storage:Sqlite:Path={db}"], TimeSpan.FromSeconds(90));
            _playwright = await Playwright.CreateAsync();
            _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = chromium, Headless = true });
            _device = new MqttClientFactory().CreateMqttClient();
            await _device.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", Demo.MqttPort)
                .WithClientId("dashboard-test-" + Guid.NewGuid().ToString("N")[..8]).WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500).Build());
        }

        /// <summary>The bins whose paper compartment the seed empties, 6 hours before its last reading (JY-001: the screenshots' bin).</summary>
        public static readonly string[] EmptiedBins = ["JY-001", "JY-012"];

        /// <summary>
        /// Two days of fill (rising to a level of its own per bin, all below overflow), weight with deposits every hour, and a
        /// status per bin; each bin's seq rises with time. The paper of JY-001 and JY-012 is emptied 6 hours before the end (its weight falls to
        /// 0.1 kg with it) and rises again.
        /// </summary>
        internal static List<Reading> Seed(FleetRegistry registry, DateTimeOffset now)
        {
            var end = new DateTimeOffset(now.Ticks / TimeSpan.TicksPerMinute * TimeSpan.TicksPerMinute, TimeSpan.Zero).AddMinutes(-5);
            var start = end.AddDays(-2);
            var emptiedAt = end.AddHours(-6);
            var readings = new List<Reading>();
            foreach (var (bin, i) in registry.Bins.Select((b, i) => (b, i + 1)))
            {
                var binReadings = new List<Reading>();
                var level = 10 + (i * 37 % 80);
                foreach (var (c, j) in bin.Compartments.Select((c, j) => (c, j)))
                {
                    var top = Math.Max(1, level - j * 4);
                    var net = 0.0;
                    var step = 0;
                    var emptied = EmptiedBins.Contains(bin.Id) && c.Id == "paper";
                    for (var t = start; t <= end; t = t.AddMinutes(30), step++)
                    {
                        var share = (t - start) / (end - start);
                        var pct = top * share;
                        if (emptied && t >= emptiedAt)
                        {
                            pct = 1 + ((t - emptiedAt).TotalHours * 0.5);
                            if (t == emptiedAt)
                            {
                                net = 0.1;
                                binReadings.Add(new WeightReading(bin.Id, bin.Community, c.Id, c.Stream.Name(), t.AddSeconds(-30), 0, net, null));
                            }
                        }
                        binReadings.Add(new FillReading(bin.Id, bin.Community, c.Id, c.Stream.Name(), t, 0, Math.Round(pct, 2)));
                        if (step % 2 == 0)
                        {
                            var deposit = 0.25 + (i % 5) * 0.125 + j * 0.0625;
                            net += deposit;
                            binReadings.Add(new WeightReading(bin.Id, bin.Community, c.Id, c.Stream.Name(), t.AddSeconds(2), 0, Math.Round(net, 4), deposit));
                        }
                    }
                }
                binReadings.Add(new StatusReading(bin.Id, bin.Community, end, 0, true, true, 60 + i % 40, 18.5, false, false));
                // One counter per device, rising with time (a fall would be a reboot).
                var seq = 0L;
                foreach (var r in binReadings.OrderBy(r => r.Time))
                {
                    readings.Add(r switch
                    {
                        FillReading f => f with { Seq = ++seq },
                        WeightReading w => w with { Seq = ++seq },
                        StatusReading st => st with { Seq = ++seq },
                        _ => r,
                    });
                }
            }
            return readings;
        }

        /// <summary>Waits until the fill signal has taken the compartment's reading of <paramref name="ts"/> (its <c>cleanedAt</c>).</summary>
        public async Task WaitForCleanedAtAsync(string bin, string compartment, string ts)
        {
            var at = DateTimeOffset.Parse(ts, CultureInfo.InvariantCulture);
            using var http = ApiClient(Demo.Key("analyst"));
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (true)
            {
                using (var doc = JsonDocument.Parse(await http.GetStringAsync(new Uri(Demo.BaseAddress, $"/api/bins/{bin}"))))
                {
                    var c = doc.RootElement.GetProperty("compartments").EnumerateArray().Single(e => e.GetProperty("id").GetString() == compartment);
                    if (c.GetProperty("cleanedAt") is { ValueKind: JsonValueKind.String } taken && DateTimeOffset.Parse(taken.GetString()!, CultureInfo.InvariantCulture) >= at)
                    {
                        return;
                    }
                }
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"/api/bins/{bin}: the fill signal did not take the {compartment} reading of {ts} within 10 s");
                }
                await Task.Delay(100);
            }
        }

        public async Task PublishAsync(string topic, string payload)
        {
            var result = await _device!.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic)
                .WithPayload(Encoding.UTF8.GetBytes(payload)).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
            Assert.True(result.IsSuccess, result.ReasonString);
        }

        public static HttpClient ApiClient(string? key)
        {
            var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            if (key is not null)
            {
                http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            }
            return http;
        }

        public static async Task ScreenshotAsync(IPage page, string name)
        {
            var dir = Environment.GetEnvironmentVariable("TELEMETRY_TEST_SCREENSHOTS");
            if (string.IsNullOrEmpty(dir))
            {
                return;
            }
            Directory.CreateDirectory(dir);
            // Let the map's layout settle (fitBounds after a resize) before the picture.
            await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(dir, name + ".png"), FullPage = false });
        }

        /// <summary>A fresh context (its own cookies and storage) and page, recording requests, script errors and policy violations.</summary>
        public async Task<CheckedPage> OpenAsync(ITestOutputHelper output, string locale = "en-GB", int width = 1280, int height = 900, string? timeZone = null)
        {
            var context = await _browser!.NewContextAsync(new BrowserNewContextOptions
            {
                Locale = locale,
                TimezoneId = timeZone,
                ViewportSize = new ViewportSize { Width = width, Height = height },
                AcceptDownloads = true,
            });
            context.SetDefaultTimeout((float)WaitLimit.TotalMilliseconds);
            var page = await context.NewPageAsync();
            var checkedPage = new CheckedPage(context, page, output, () => _demo?.Output ?? "");
            return checkedPage;
        }

        public async Task DisposeAsync()
        {
            if (_device is not null)
            {
                await _device.DisconnectAsync();
                _device.Dispose();
            }
            if (_browser is not null)
            {
                await _browser.CloseAsync();
            }
            _playwright?.Dispose();
            if (_demo is not null)
            {
                await _demo.DisposeAsync();
            }
            if (_dir is not null)
            {
                Directory.Delete(_dir, recursive: true);
            }
        }
    }

    /// <summary>A page that records every request, console error and uncaught script error; disposing closes its context.</summary>
    public sealed class CheckedPage : IAsyncDisposable
    {
        private readonly IBrowserContext _context;
        private readonly ITestOutputHelper _output;
        private readonly Func<string> _demoOutput;
        private readonly ConcurrentQueue<string> _requests = new();
        private readonly ConcurrentQueue<string> _errors = new();

        public CheckedPage(IBrowserContext context, IPage page, ITestOutputHelper output, Func<string> demoOutput)
        {
            _context = context;
            Page = page;
            _output = output;
            _demoOutput = demoOutput;
            context.Request += (_, r) => _requests.Enqueue(r.Url);
            page.PageError += (_, e) => _errors.Enqueue("page error: " + e);
            page.Console += (_, m) =>
            {
                // The 401s the page expects (the first look at /api/session before signing in, the deliberate wrong key)
                // are logged by Chromium as failed resources; any other error counts.
                var expected = m.Text.Contains("401", StringComparison.Ordinal) && m.Location.Contains("/api/session", StringComparison.Ordinal);
                if (m.Type == "error" && !expected)
                {
                    _errors.Enqueue("console: " + m.Text);
                }
            };
        }

        public IPage Page { get; }

        /// <summary>Nothing came from elsewhere than <paramref name="origin"/>, and no script error or policy violation happened.</summary>
        public void AssertClean(string origin)
        {
            var all = _requests.ToArray();
            _output.WriteLine($"{all.Length} requests");
            var expected = new Uri(origin);
            var elsewhere = all.Where(url => Uri.TryCreate(url, UriKind.Absolute, out var uri)
                && uri.Scheme is "http" or "https" && (uri.Host != expected.Host || uri.Port != expected.Port)).ToArray();
            Assert.True(elsewhere.Length == 0, "the page requested from elsewhere:\n" + string.Join('\n', elsewhere));
            Assert.True(_errors.IsEmpty, "errors in the page:\n" + string.Join('\n', _errors) + "\ndemo:\n" + _demoOutput());
        }

        public async ValueTask DisposeAsync() => await _context.CloseAsync();
    }
}
