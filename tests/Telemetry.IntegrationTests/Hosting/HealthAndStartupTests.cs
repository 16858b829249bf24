using System.Net;
using System.Net.Sockets;
using Telemetry.IntegrationTests.Ingestion;
using Xunit.Abstractions;

namespace Telemetry.IntegrationTests.Hosting;

/// <summary>
/// An ingestion-only process as compose runs it: <c>/healthz</c> and <c>/readyz</c> on
/// <c>Health:Url</c>, and what it says when the store is not there or does not answer.
/// </summary>
public sealed class HealthAndStartupTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("telemetry-health-").FullName;
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Dictionary<string, string> Settings(int healthPort, params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string>
        {
            ["Mqtt:Server"] = TestServices.Mosquitto.ToString(),
            ["Mqtt:ClientId"] = $"health-{Guid.NewGuid():N}",
            ["Health:Url"] = $"http://127.0.0.1:{healthPort}",
            ["Storage:Sqlite:Path"] = Path.Combine(_dir, "h.db"),
        };
        foreach (var (k, v) in extra)
        {
            settings[k] = v;
        }
        return settings;
    }

    private static async Task<(HttpStatusCode Status, string Body)> GetUntilAsync(string url, Func<HttpStatusCode, string, bool> done, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        var last = (HttpStatusCode.NotFound, "(no answer)");
        while (DateTime.UtcNow < until)
        {
            try
            {
                using var response = await Http.GetAsync(url);
                last = (response.StatusCode, await response.Content.ReadAsStringAsync());
                if (done(last.Item1, last.Item2))
                {
                    return last;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"{url} did not answer as expected within {timeout}; last: {last.Item1} {last.Item2}");
    }

    [Fact]
    public async Task Readyz_is_200_while_connected_and_storing_and_healthz_answers()
    {
        var port = TestServices.FreePort();
        await using var ingestion = await IngestionProcess.StartAsync(Settings(port));
        var (status, body) = await GetUntilAsync($"http://127.0.0.1:{port}/readyz", (s, _) => s == HttpStatusCode.OK, TimeSpan.FromSeconds(30));
        output.WriteLine(body);
        Assert.Contains("\"status\":\"Healthy\"", body, StringComparison.Ordinal);
        Assert.Contains("\"connected\":true", body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await GetUntilAsync($"http://127.0.0.1:{port}/healthz", (s, _) => true, TimeSpan.FromSeconds(10))).Status);
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task Readyz_is_503_naming_the_store_while_the_store_is_unreachable()
    {
        var port = TestServices.FreePort();
        var closed = TestServices.FreePort();
        await using var ingestion = await IngestionProcess.StartAsync(Settings(port,
            ("Storage:Backend", "influxdb"), ("Storage:InfluxDb:Url", $"http://127.0.0.1:{closed}"), ("Storage:InfluxDb:ApiVersion", "1")), waitConnected: false);
        var (status, body) = await GetUntilAsync($"http://127.0.0.1:{port}/readyz", (s, _) => s == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(30));
        output.WriteLine(body);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("store influxdb not open", body, StringComparison.Ordinal);
        // Alive all the same: the process waits for the store, it does not exit.
        Assert.Equal(HttpStatusCode.OK, (await GetUntilAsync($"http://127.0.0.1:{port}/healthz", (s, _) => true, TimeSpan.FromSeconds(10))).Status);
        await ingestion.WaitForOutputAsync("not ready", TimeSpan.FromSeconds(30));
        Assert.False(ingestion.HasExited);
    }

    [Fact]
    public async Task A_store_that_accepts_and_never_answers_is_reported_within_seconds()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var accepted = new List<TcpClient>();
        var accepting = Task.Run(async () =>
        {
            while (true)
            {
                accepted.Add(await silent.AcceptTcpClientAsync());
            }
        });
        var url = $"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}";
        var started = DateTime.UtcNow;
        await using var ingestion = await IngestionProcess.StartAsync(Settings(TestServices.FreePort(),
            ("Storage:Backend", "influxdb"), ("Storage:InfluxDb:Url", url), ("Storage:InfluxDb:ApiVersion", "1")), waitConnected: false);
        await ingestion.WaitForOutputAsync("has not answered for", TimeSpan.FromSeconds(10));
        output.WriteLine($"reported after {(DateTime.UtcNow - started).TotalSeconds:N1} s:\n{ingestion.Output}");
        Assert.False(ingestion.HasExited);
        foreach (var c in accepted)
        {
            c.Dispose();
        }
    }
}
