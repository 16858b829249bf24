using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Playwright;
using Telemetry.IntegrationTests.Api;
using Xunit.Abstractions;

namespace Telemetry.IntegrationTests.Browser;

/// <summary>
/// The api's docs page in a real headless Chromium against the real <c>telemetry run --roles api</c> process: Swagger UI
/// renders the OpenAPI document, loads nothing from outside the host (no CDN, fonts or validator badge), and "Try it
/// out" with the key from "Authorize" gets a 200 from <c>GET /api/bins</c>.
/// </summary>
public sealed class ApiDocsBrowserTests(ApiDocsBrowserTests.ApiAndBrowser host, ITestOutputHelper output) : IClassFixture<ApiDocsBrowserTests.ApiAndBrowser>
{
    /// <summary>A name that is not loopback (Chromium maps it to 127.0.0.1): Swagger UI never shows its validator badge
    /// for a document on localhost or 127.0.0.1, so only a page served under another name shows whether it would.</summary>
    private const string HostName = "telemetry.test";

    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_docs_page_renders_the_OpenAPI_document_and_loads_nothing_from_elsewhere()
    {
        var origin = host.Origin("127.0.0.1");
        await using var browser = await host.OpenAsync();
        var page = browser.Page;

        var response = await page.GotoAsync(origin + "/docs/");
        Assert.Equal(200, response?.Status);
        await Assertions.Expect(page.Locator(".information-container .title")).ToContainTextAsync("Telemetry API", new() { Timeout = Ms(WaitLimit) });
        await page.WaitForSelectorAsync(".opblock-summary-path[data-path='/api/bins']", new() { Timeout = Ms(WaitLimit) });
        await page.WaitForSelectorAsync(".opblock-summary-path[data-path='/api/analytics/diversion']", new() { Timeout = Ms(WaitLimit) });
        Assert.Equal("Telemetry API", await page.TitleAsync());
        // Swagger UI's own default is validator.swagger.io; the page the api serves turns it off.
        Assert.True(await page.EvaluateAsync<bool>("() => window.ui.getConfigs().validatorUrl === null"), "the docs page configures an online validator");

        await page.WaitForLoadStateAsync(LoadState.NetworkIdle, new() { Timeout = Ms(WaitLimit) });
        browser.AssertEveryRequestWentTo(origin, output);
    }

    [Fact]
    public async Task Served_under_a_host_name_the_docs_page_shows_no_validator_badge_and_loads_nothing_from_elsewhere()
    {
        var origin = host.Origin(HostName);
        await using var browser = await host.OpenAsync();
        var page = browser.Page;

        await page.GotoAsync(origin + "/docs/");
        await page.WaitForSelectorAsync(".opblock-summary-path[data-path='/api/bins']", new() { Timeout = Ms(WaitLimit) });
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle, new() { Timeout = Ms(WaitLimit) });

        // The badge's link (its image appears only once the validator answers).
        Assert.True(await page.Locator("a[href*='/debug?url=']").CountAsync() == 0, "the docs page shows the online validator badge");
        browser.AssertEveryRequestWentTo(origin, output);
    }

    [Fact]
    public async Task The_browser_gets_the_OpenAPI_document_as_JSON_with_the_history_path()
    {
        var origin = host.Origin("127.0.0.1");
        await using var browser = await host.OpenAsync();

        var response = await browser.Page.GotoAsync(origin + "/openapi/v1.json");
        Assert.NotNull(response);
        Assert.Equal(200, response.Status);
        Assert.StartsWith("application/json", response.Headers["content-type"], StringComparison.Ordinal);
        using var json = JsonDocument.Parse(await response.TextAsync());
        Assert.StartsWith("3.", json.RootElement.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        var paths = json.RootElement.GetProperty("paths");
        Assert.True(paths.TryGetProperty("/api/bins/{id}/history", out _), "no /api/bins/{id}/history in paths: " + paths);
        // The key as a bearer scheme, asked for by the operations that need it (the docs page's Authorize button).
        Assert.Equal("bearer", json.RootElement.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer").GetProperty("scheme").GetString());
        Assert.Contains(paths.GetProperty("/api/bins").GetProperty("get").GetProperty("security").EnumerateArray(), r => r.TryGetProperty("bearer", out _));
        browser.AssertEveryRequestWentTo(origin, output);
    }

    [Fact]
    public async Task Try_it_out_on_GET_api_bins_answers_401_without_the_key_and_200_once_authorized_with_it()
    {
        var origin = host.Origin("127.0.0.1");
        await using var browser = await host.OpenAsync();
        var page = browser.Page;
        await page.GotoAsync(origin + "/docs/");

        var operation = page.Locator(".opblock-get").Filter(new() { Has = page.Locator(".opblock-summary-path[data-path='/api/bins']") });
        await operation.Locator("button.opblock-summary-control").ClickAsync();
        await operation.Locator("button.try-out__btn").ClickAsync();
        await operation.Locator("button.execute").ClickAsync();
        var status = operation.Locator(".live-responses-table td.response-col_status:not(.col_header)");
        await Assertions.Expect(status).ToContainTextAsync("401", new() { Timeout = Ms(WaitLimit) });

        await page.Locator(".auth-wrapper button.authorize").ClickAsync();
        var dialog = page.Locator(".modal-ux");
        await dialog.Locator("#auth-bearer-value").FillAsync(host.Key);
        await dialog.Locator("button.modal-btn.authorize").ClickAsync();
        await dialog.Locator("button.btn-done").ClickAsync();

        await operation.Locator("button.execute").ClickAsync();
        await Assertions.Expect(status).ToContainTextAsync("200", new() { Timeout = Ms(WaitLimit) });
        // Every bin of the registry, from the api's memory.
        await Assertions.Expect(operation.Locator(".live-responses-table td.response-col_description:not(.col_header)")).ToContainTextAsync("JY-001", new() { Timeout = Ms(WaitLimit) });
        browser.AssertEveryRequestWentTo(origin, output);
    }

    private static float Ms(TimeSpan t) => (float)t.TotalMilliseconds;

    /// <summary>
    /// One api process (SQLite in a temporary folder, one analyst key, a free loopback port) and one headless Chromium
    /// for the class. Without the browser (TELEMETRY_TEST_CHROMIUM) every test fails: nothing is skipped.
    /// </summary>
    public sealed class ApiAndBrowser : IAsyncLifetime
    {
        private string? _dir;
        private ApiProcess? _api;
        private IPlaywright? _playwright;
        private IBrowser? _browser;

        /// <summary>The analyst key.</summary>
        public string Key => Api.Keys!.Analyst;

        public string Origin(string host) => $"http://{host}:{Api.BaseAddress.Port}";

        private ApiProcess Api => _api ?? throw new InvalidOperationException("the api process is not running");

        public async Task InitializeAsync()
        {
            var chromium = TestServices.Chromium;
            _dir = Directory.CreateTempSubdirectory("telemetry-browser-").FullName;
            // Started and waited for until /readyz answers 200 (with a deadline).
            _api = await ApiProcess.StartAsync(new Dictionary<string, string>
            {
                ["Storage:Backend"] = "sqlite",
                ["Storage:Sqlite:Path"] = Path.Combine(_dir, "telemetry.db"),
            });

            _playwright = await Playwright.CreateAsync();
            _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                // Debian's chromium: Playwright downloads no browser of its own.
                ExecutablePath = chromium,
                Headless = true,
                Args = [$"--host-resolver-rules=MAP {HostName} 127.0.0.1"],
            });
        }

        /// <summary>A fresh browser context and page that records every request the page makes.</summary>
        public async Task<RecordingPage> OpenAsync()
        {
            var context = await _browser!.NewContextAsync();
            context.SetDefaultTimeout(Ms(WaitLimit));
            var requests = new ConcurrentQueue<string>();
            context.Request += (_, request) => requests.Enqueue(request.Url);
            var page = await context.NewPageAsync();
            return new RecordingPage(context, page, requests, () => _api?.Output ?? "");
        }

        public async Task DisposeAsync()
        {
            // The browser first: nothing holds a connection open while the api stops.
            if (_browser is not null)
            {
                await _browser.CloseAsync();
            }
            _playwright?.Dispose();
            if (_api is not null)
            {
                await _api.DisposeAsync();
            }
            if (_dir is not null)
            {
                Directory.Delete(_dir, recursive: true);
            }
        }
    }

    /// <summary>A page and every URL it requested; disposing closes its context.</summary>
    public sealed class RecordingPage(IBrowserContext context, IPage page, ConcurrentQueue<string> requests, Func<string> apiOutput) : IAsyncDisposable
    {
        public IPage Page => page;

        /// <summary>Every request went to <paramref name="origin"/>: nothing came from a CDN, a font host or a validator.</summary>
        public void AssertEveryRequestWentTo(string origin, ITestOutputHelper output)
        {
            var all = requests.ToArray();
            output.WriteLine($"{all.Length} requests:\n" + string.Join('\n', all));
            Assert.NotEmpty(all);
            var expected = new Uri(origin);
            var elsewhere = all.Where(url =>
                !Uri.TryCreate(url, UriKind.Absolute, out var uri) ||
                uri.Scheme != expected.Scheme || uri.Host != expected.Host || uri.Port != expected.Port).ToArray();
            Assert.True(elsewhere.Length == 0, $"the page requested from elsewhere than {origin}:\n{string.Join('\n', elsewhere)}\napi:\n{apiOutput()}");
        }

        public async ValueTask DisposeAsync() => await context.CloseAsync();
    }
}
