using System.Globalization;
using System.Text.Json;
using Microsoft.Playwright;
using Telemetry.Contracts.Messages;
using Telemetry.IntegrationTests.Api;
using Xunit.Abstractions;

namespace Telemetry.IntegrationTests.Browser;

/// <summary>
/// The routes on the dashboard, in Debian's headless Chromium against the api role composed in this process: a plan and a truck's
/// position published on its bus as the routing worker and ingestion publish them are drawn on the map (the route's line in its
/// stream's colour, its stops numbered in order with their ETA in the registry's time, the truck, which moves with its next
/// position), listed in the routes panel, and printed as the driver's route sheet in English and in Chinese; on a tablet nothing
/// scrolls sideways.
/// </summary>
[Collection("browser")]
public sealed class RoutesBrowserTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Vehicle = "REC-02";
    private static readonly string[] Bins = ["JY-004", "JY-002", "JY-007"];

    private InProcessApi _api = null!;
    private IPlaywright? _playwright;
    private IBrowser? _browser;
    private RoutePlanned _plan = null!;

    public async Task InitializeAsync()
    {
        var chromium = TestServices.Chromium;
        _api = await InProcessApi.StartAsync();
        _plan = RoutePlans.Plan(_api.Registry, "recyclable", Vehicle, RoutePlans.RunningShift(), 1, Bins);
        await _api.Bus.Publish(_plan);
        await _api.PublishPositionsAsync(new VehiclePositionUpdate(Vehicle, DateTimeOffset.UtcNow.AddSeconds(-10), 36.965, 117.21, 31));
        await WaitForRouteAsync();
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = chromium, Headless = true });
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
        }
        _playwright?.Dispose();
        await _api.DisposeAsync();
    }

    private async Task WaitForRouteAsync()
    {
        using var http = _api.Client(_api.Keys.Analyst);
        await Eventually.UntilAsync(async () =>
        {
            using var doc = JsonDocument.Parse(await http.GetStringAsync(new Uri("/api/routes", UriKind.Relative)));
            return doc.RootElement.GetProperty("routes").GetArrayLength() == 1 && doc.RootElement.GetProperty("vehicles").GetArrayLength() == 1;
        }, "the plan and the position reach /api/routes", TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50));
    }

    private async Task<DashboardBrowserTests.CheckedPage> OpenAsync(string locale = "en-GB", int width = 1280, int height = 900)
    {
        var context = await _browser!.NewContextAsync(new BrowserNewContextOptions { Locale = locale, ViewportSize = new ViewportSize { Width = width, Height = height } });
        context.SetDefaultTimeout(30_000);
        var page = await context.NewPageAsync();
        return new DashboardBrowserTests.CheckedPage(context, page, output, () => "");
    }

    private async Task SignInAsync(IPage page, string key)
    {
        await page.GotoAsync(_api.Origin + "/");
        await page.FillAsync("#key", key);
        await page.ClickAsync("#signin button[type=submit]");
        await Assertions.Expect(page.Locator("#map")).ToBeVisibleAsync();
    }

    private string Local(DateTimeOffset t) => TimeZoneInfo.ConvertTime(t, _api.Registry.TimeZone).ToString("HH:mm", CultureInfo.InvariantCulture);

    [Fact]
    public async Task A_planned_route_is_drawn_on_the_map_with_numbered_stops_and_its_truck_which_moves()
    {
        await using var browser = await OpenAsync();
        var page = browser.Page;
        await SignInAsync(page, _api.Keys.Dispatcher);

        // The line through every stop, from the depot back to it, in the recyclable stream's colour.
        var line = page.Locator($"path.route-line[data-vehicle='{Vehicle}']");
        await Assertions.Expect(line).ToHaveCountAsync(1);
        await Assertions.Expect(line).ToHaveAttributeAsync("data-points", _plan.Routes[0].Stops.Count.ToString(CultureInfo.InvariantCulture));
        await Assertions.Expect(line).ToHaveAttributeAsync("stroke", "#1971c2");
        var box = await line.BoundingBoxAsync();
        Assert.NotNull(box);
        Assert.True(box.Width > 20 && box.Height > 20, $"the route's line is {box.Width}x{box.Height} px");

        // Numbered stops in the plan's order (the bins, then the unloading at the sorting centre), each with its ETA in Shanghai time.
        var stops = page.Locator($".stop-marker[data-vehicle='{Vehicle}']");
        await Assertions.Expect(stops).ToHaveCountAsync(Bins.Length + 1);
        var planned = _plan.Routes[0].Stops.Where(s => s.Kind != "depot").ToList();
        for (var i = 0; i < planned.Count; i++)
        {
            var marker = page.Locator($".stop-marker[data-vehicle='{Vehicle}'][data-seq='{i + 1}']");
            await Assertions.Expect(marker).ToHaveAttributeAsync("data-place", planned[i].Place);
            await Assertions.Expect(marker.Locator(".stop-number")).ToHaveTextAsync((i + 1).ToString(CultureInfo.InvariantCulture));
            await Assertions.Expect(marker.Locator(".stop-time")).ToHaveTextAsync(Local(planned[i].Eta));
        }

        // The truck at its position; its next position moves it without a reload.
        var truck = page.Locator($".truck-marker[data-vehicle='{Vehicle}']");
        await Assertions.Expect(truck).ToHaveCountAsync(1);
        await Assertions.Expect(truck).ToHaveAttributeAsync("data-lat", "36.965");
        var before = await truck.BoundingBoxAsync();
        await _api.PublishPositionsAsync(new VehiclePositionUpdate(Vehicle, DateTimeOffset.UtcNow, 36.99, 117.25, 22));
        await Assertions.Expect(truck).ToHaveAttributeAsync("data-lat", "36.99", new() { Timeout = 15_000 });
        var after = await truck.BoundingBoxAsync();
        Assert.True(before is not null && after is not null && (Math.Abs(after.X - before.X) > 5 || Math.Abs(after.Y - before.Y) > 5), "the truck's marker did not move");

        // The panel: the route with its figures, the job actions for a dispatcher, the job it left out and why.
        var card = page.Locator($"#routes .route-card[data-vehicle='{Vehicle}']");
        await Assertions.Expect(card).ToContainTextAsync("3 stops");
        await Assertions.Expect(card.Locator(".route-stops li[data-kind='bin'] button.complete")).ToHaveCountAsync(Bins.Length);
        await Assertions.Expect(page.Locator("#unserved li[data-bin='JY-050']")).ToContainTextAsync("not enough truck capacity");
        // Hidden and shown again by the switch.
        await page.Locator("#routes-toggle").UncheckAsync();
        await Assertions.Expect(line).ToHaveCountAsync(0);
        await page.Locator("#routes-toggle").CheckAsync();
        await Assertions.Expect(line).ToHaveCountAsync(1);
        // For the docs: the map zoomed to the route, seen from the top of the page.
        await card.Locator("button.show-route").ClickAsync();
        await page.EvaluateAsync("() => window.scrollTo(0, 0)");
        await DashboardBrowserTests.DemoAndBrowser.ScreenshotAsync(page, "routes-en");
        browser.AssertClean(_api.Origin);
    }

    [Fact]
    public async Task The_route_sheet_lists_the_stops_in_order_with_addresses_compartments_and_ETA_in_English_and_in_Chinese()
    {
        await using var browser = await OpenAsync();
        var page = browser.Page;
        await SignInAsync(page, _api.Keys.Analyst);
        // An analyst sees the routes but no job buttons.
        var card = page.Locator($"#routes .route-card[data-vehicle='{Vehicle}']");
        await Assertions.Expect(card).ToBeVisibleAsync();
        Assert.Equal(0, await card.Locator("button.complete").CountAsync());
        await card.Locator("a.sheet-link").ClickAsync();

        await Assertions.Expect(page.Locator("#sheet-title")).ToHaveTextAsync($"Route sheet: {Vehicle}");
        var rows = page.Locator("#sheet-stops tbody tr");
        var stops = _plan.Routes[0].Stops;
        await Assertions.Expect(rows).ToHaveCountAsync(stops.Count);
        Assert.Equal(stops.Select(s => s.Place), await page.EvaluateAsync<string[]>("() => [...document.querySelectorAll('#sheet-stops tbody tr')].map(r => r.dataset.place)"));
        foreach (var (bin, i) in Bins.Select((b, i) => (b, i + 1)))
        {
            var row = page.Locator($"#sheet-stops tbody tr[data-seq='{i}']");
            await Assertions.Expect(row.Locator(".col-stop")).ToHaveTextAsync(bin);
            await Assertions.Expect(row.Locator(".col-address")).ToHaveTextAsync(_api.Registry.FindBin(bin)!.Address);
            await Assertions.Expect(row.Locator(".col-compartments")).ToHaveTextAsync("Paper, Plastic");
            await Assertions.Expect(row.Locator(".col-eta")).ToHaveTextAsync(Local(stops[i].Eta));
            await Assertions.Expect(row.Locator(".col-load")).ToHaveTextAsync((40 * i).ToString(CultureInfo.InvariantCulture));
        }
        await Assertions.Expect(page.Locator("#sheet-meta")).ToContainTextAsync("Recyclable");
        await Assertions.Expect(page.Locator($"#sheet-stops tbody tr[data-seq='{Bins.Length + 1}'] .col-address")).ToHaveTextAsync("Jiyang Recyclables Sorting Centre");
        await DashboardBrowserTests.DemoAndBrowser.ScreenshotAsync(page, "route-sheet-en");

        // In Chinese: the Chinese addresses and names, the same order.
        await page.ClickAsync("#lang");
        await Assertions.Expect(page.Locator("#sheet-title")).ToHaveTextAsync($"收运路线单：{Vehicle}");
        foreach (var (bin, i) in Bins.Select((b, i) => (b, i + 1)))
        {
            var row = page.Locator($"#sheet-stops tbody tr[data-seq='{i}']");
            await Assertions.Expect(row.Locator(".col-address")).ToHaveTextAsync(_api.Registry.FindBin(bin)!.AddressZh!);
            await Assertions.Expect(row.Locator(".col-compartments")).ToHaveTextAsync("纸类、塑料");
        }
        await Assertions.Expect(page.Locator($"#sheet-stops tbody tr[data-seq='{Bins.Length + 1}'] .col-address")).ToHaveTextAsync("济阳区可回收物分拣中心");
        await Assertions.Expect(page.Locator("#sheet-stops thead")).ToContainTextAsync("地址");
        await DashboardBrowserTests.DemoAndBrowser.ScreenshotAsync(page, "route-sheet-zh");

        // Printed: the sheet alone, without the header or the buttons.
        await page.EmulateMediaAsync(new PageEmulateMediaOptions { Media = Media.Print });
        await Assertions.Expect(page.Locator("#header")).ToBeHiddenAsync();
        await Assertions.Expect(page.Locator("#print")).ToBeHiddenAsync();
        await Assertions.Expect(page.Locator("#sheet-stops")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#sheet-stops .col-departs").First).ToBeVisibleAsync();
        browser.AssertClean(_api.Origin);
    }

    [Fact]
    public async Task A_shift_not_driven_says_why_in_both_languages_until_a_plan_drives_it()
    {
        var start = RoutePlans.RunningShift();
        var planId = $"hazardous:{start.UtcDateTime:yyyyMMdd'T'HHmm'Z'}";
        await _api.Bus.Publish(new ShiftWaited(planId, "hazardous", start, start.AddHours(8), 2, 4.25, start.AddDays(1), 12, start));
        foreach (var (locale, text) in new[] { ("en-GB", "jobs waiting: 2, for the shift of"), ("zh-CN", "2 个收运任务留待") })
        {
            await using var browser = await OpenAsync(locale);
            var page = browser.Page;
            await SignInAsync(page, _api.Keys.Analyst);
            var line = page.Locator($"#routes-waiting li[data-plan-id='{planId}']");
            await Assertions.Expect(line).ToContainTextAsync(text);
            await Assertions.Expect(line).ToContainTextAsync(locale == "en-GB" ? "Hazardous" : "有害垃圾");
            await Assertions.Expect(line).ToContainTextAsync(locale == "en-GB" ? "4.3 h at 100 %" : "累计满箱 4.3 小时");
            await Assertions.Expect(line).ToContainTextAsync(locale == "en-GB" ? "a truck goes out at 12 h" : "低于出车阈值 12 小时");
            await line.ScrollIntoViewIfNeededAsync();
            await DashboardBrowserTests.DemoAndBrowser.ScreenshotAsync(page, $"routes-waiting-{locale[..2]}");
            browser.AssertClean(_api.Origin);
        }

        // An urgent job drove it after all: its plan takes the notice's place.
        await using (var browser = await OpenAsync())
        {
            var page = browser.Page;
            await SignInAsync(page, _api.Keys.Analyst);
            await Assertions.Expect(page.Locator($"#routes-waiting li[data-plan-id='{planId}']")).ToHaveCountAsync(1);
            await _api.Bus.Publish(RoutePlans.Plan(_api.Registry, "hazardous", "HAZ-01", start, 1, "JY-010") with { PlanId = planId, Unserved = [] });
            await Assertions.Expect(page.Locator($"#routes-waiting li[data-plan-id='{planId}']")).ToHaveCountAsync(0, new() { Timeout = 15_000 });
            browser.AssertClean(_api.Origin);
        }
    }

    [Fact]
    public async Task On_a_tablet_the_map_with_its_route_the_panel_and_the_sheet_do_not_scroll_sideways_in_either_language()
    {
        foreach (var locale in new[] { "en-GB", "zh-CN" })
        {
            await using var browser = await OpenAsync(locale, width: 800, height: 1100);
            var page = browser.Page;
            await SignInAsync(page, _api.Keys.Dispatcher);
            await Assertions.Expect(page.Locator($"path.route-line[data-vehicle='{Vehicle}']")).ToHaveCountAsync(1);
            var card = page.Locator($"#routes .route-card[data-vehicle='{Vehicle}']");
            await card.Locator("details summary").ClickAsync();
            await Assertions.Expect(card.Locator(".route-stops li[data-kind='bin']")).ToHaveCountAsync(Bins.Length);
            await AssertNoSidewaysScrollAsync(page, "fleet");
            await card.ScrollIntoViewIfNeededAsync();
            await DashboardBrowserTests.DemoAndBrowser.ScreenshotAsync(page, $"routes-{locale[..2]}-tablet");
            await card.Locator("a.sheet-link").ClickAsync();
            await Assertions.Expect(page.Locator("#sheet-stops tbody tr")).ToHaveCountAsync(_plan.Routes[0].Stops.Count);
            await AssertNoSidewaysScrollAsync(page, "route sheet");
            browser.AssertClean(_api.Origin);
        }
    }

    private static async Task AssertNoSidewaysScrollAsync(IPage page, string what)
    {
        var scroll = await page.EvaluateAsync<int>("() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)");
        var client = await page.EvaluateAsync<int>("() => document.documentElement.clientWidth");
        Assert.True(scroll <= client, $"the {what} page scrolls sideways: {scroll} px of content in {client} px");
    }
}
