using System.Collections.Concurrent;
using System.Net;
using Microsoft.Playwright;
using Telemetry.IntegrationTests.Api;
using Xunit.Abstractions;

namespace Telemetry.IntegrationTests.Browser;

/// <summary>
/// The dashboard with a street map: <c>Api:Map:TileUrl</c> pointing at a tile server of the test's own (another
/// origin than the api), in GCJ-02. The tiles load (the content security policy allows that origin for images and
/// nothing else), the attribution is shown as text, and the markers are placed at the converted positions.
/// </summary>
[Collection("browser")]
public sealed class DashboardTilesBrowserTests(ITestOutputHelper output) : IAsyncLifetime, IDisposable
{
    // A 1×1 PNG: what a tile holds does not matter here, only that it is asked for and loads.
    private static readonly byte[] Png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==");

    private readonly ConcurrentQueue<string> _tileRequests = new();
    private HttpListener? _tiles;
    private int _tilePort;
    private string? _dir;
    private ApiProcess? _api;
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public async Task InitializeAsync()
    {
        var chromium = TestServices.Chromium;
        _tilePort = TestServices.FreePort();
        _tiles = new HttpListener();
        _tiles.Prefixes.Add($"http://127.0.0.1:{_tilePort}/");
        _tiles.Start();
        _ = Task.Run(ServeTilesAsync);
        _dir = Directory.CreateTempSubdirectory("telemetry-tiles-").FullName;
        _api = await ApiProcess.StartAsync(new Dictionary<string, string>
        {
            ["Storage:Backend"] = "sqlite",
            ["Storage:Sqlite:Path"] = Path.Combine(_dir, "telemetry.db"),
            ["Api:Map:TileUrl"] = $"http://127.0.0.1:{_tilePort}/{{z}}/{{x}}/{{y}}.png",
            ["Api:Map:TileDatum"] = "gcj02",
            ["Api:Map:TileAttribution"] = "<b>Tiles</b> & Co",
        });
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = chromium, Headless = true });
    }

    private async Task ServeTilesAsync()
    {
        while (_tiles is { IsListening: true } listener)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return; // stopped
            }
            _tileRequests.Enqueue(context.Request.Url!.AbsolutePath);
            context.Response.ContentType = "image/png";
            await context.Response.OutputStream.WriteAsync(Png);
            context.Response.Close();
        }
    }

    [Fact]
    public async Task Tiles_from_the_configured_server_load_under_the_policy_and_the_attribution_is_text()
    {
        var origin = _api!.BaseAddress.GetLeftPart(UriPartial.Authority);
        var context = await _browser!.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        context.SetDefaultTimeout(30_000);
        var errors = new ConcurrentQueue<string>();
        var page = await context.NewPageAsync();
        page.Console += (_, m) =>
        {
            if (m.Type == "error" && !(m.Text.Contains("401", StringComparison.Ordinal) && m.Location.Contains("/api/session", StringComparison.Ordinal)))
            {
                errors.Enqueue(m.Text);
            }
        };
        page.PageError += (_, e) => errors.Enqueue(e);
        try
        {
            using (var response = await _api.Client().GetAsync(new Uri("/", UriKind.Relative)))
            {
                Assert.Contains($"img-src 'self' data: blob: http://127.0.0.1:{_tilePort};", string.Join(' ', response.Headers.GetValues("Content-Security-Policy")), StringComparison.Ordinal);
            }
            await page.GotoAsync(origin + "/");
            await page.FillAsync("#key", _api.Keys!.Analyst);
            await page.ClickAsync("#signin button[type=submit]");
            await Assertions.Expect(page.Locator(".bin-marker")).ToHaveCountAsync(55);
            await Assertions.Expect(page.Locator("img.leaflet-tile-loaded").First).ToBeAttachedAsync();
            Assert.NotEmpty(_tileRequests);
            Assert.All(_tileRequests, path => Assert.Matches("^/[0-9]+/[0-9]+/[0-9]+\\.png$", path));
            // The attribution as written, not as HTML.
            var attribution = page.Locator(".leaflet-control-attribution");
            await Assertions.Expect(attribution).ToHaveTextAsync("<b>Tiles</b> & Co");
            Assert.Equal(0, await attribution.Locator("b").CountAsync());

            // The markers are drawn at /api/fleet's map positions, which are the GCJ-02 ones here.
            using var http = _api.Client(_api.Keys.Analyst);
            using var fleet = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync(new Uri("/api/fleet", UriKind.Relative)));
            var bin = fleet.RootElement.GetProperty("bins").EnumerateArray().First(b => b.GetProperty("id").GetString() == "JY-001");
            Assert.NotEqual(bin.GetProperty("latitude").GetDouble(), bin.GetProperty("map").GetProperty("latitude").GetDouble());
            Assert.Equal("gcj02", fleet.RootElement.GetProperty("map").GetProperty("tileDatum").GetString());
            Assert.True(errors.IsEmpty, "errors in the page:\n" + string.Join('\n', errors));
        }
        finally
        {
            await context.CloseAsync();
        }
        output.WriteLine($"{_tileRequests.Count} tile requests");
    }

    public void Dispose() => ((IDisposable?)_tiles)?.Dispose();

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
        }
        _playwright?.Dispose();
        if (_api is not null)
        {
            await _api.DisposeAsync();
        }
        _tiles?.Close();
        if (_dir is not null)
        {
            Directory.Delete(_dir, recursive: true);
        }
    }
}
