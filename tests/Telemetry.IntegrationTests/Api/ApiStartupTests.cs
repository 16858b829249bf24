using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Xunit.Abstractions;

namespace Telemetry.IntegrationTests.Api;

/// <summary>The api process as an operator starts it: settings it refuses, and what it opens beyond loopback.</summary>
public sealed class ApiStartupTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("telemetry-api-start-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private Dictionary<string, string> Sqlite => new() { ["Storage:Sqlite:Path"] = Path.Combine(_dir, "telemetry.db") };

    [Fact]
    public async Task Run_api_without_keys_exits_2_with_one_line_naming_Api_Keys()
    {
        await using var api = await ApiProcess.StartAsync(Sqlite, withKeys: false, waitReady: false);
        var code = await api.WaitForExitAsync(TimeSpan.FromSeconds(60));
        output.WriteLine(api.Output);
        Assert.Equal(2, code);
        var line = Assert.Single(api.ErrorLines);
        Assert.Contains("Api:Keys", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_from_another_address_need_an_admin_key()
    {
        var address = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
            ?? throw new InvalidOperationException("this machine has no IPv4 address besides loopback, which this test needs (a request to it comes from it, not from loopback)");
        await using var api = await ApiProcess.StartAsync(Sqlite, host: address.ToString());
        var keys = api.Keys!;
        using (var anonymous = api.Client())
        using (var response = await anonymous.GetAsync(new Uri("/metrics", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).ToString());
        }
        using (var analyst = api.Client(keys.Analyst))
        using (var response = await analyst.GetAsync(new Uri("/metrics", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }
        using var admin = api.Client(keys.Admin);
        using var allowed = await admin.GetAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Contains("http_request", await allowed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        // Health stays open from anywhere (orchestrators probe it).
        using var open = api.Client();
        using var health = await open.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }
}
