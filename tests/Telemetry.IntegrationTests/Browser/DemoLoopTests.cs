using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using Xunit.Abstractions;

namespace Telemetry.IntegrationTests.Browser;

/// <summary>
/// <c>telemetry demo</c> runs the whole loop by itself: bins fill, the scheduler raises jobs, the routing worker plans routes, the
/// trucks drive them (their positions reach <c>/api/routes</c>) and empty the bins, and the scheduler closes those jobs.
/// </summary>
public sealed class DemoLoopTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_demo_closes_the_loop_jobs_rise_routes_are_planned_trucks_drive_and_empty_the_bins_and_the_jobs_complete()
    {
        var db = Path.Combine(Path.GetTempPath(), $"telemetry-demo-loop-{Guid.NewGuid():N}.db");
        await using var demo = await DemoProcess.StartAsync(["--speed", "900", "--history", "1d", $"--Storage:Sqlite:Path={db}"], TimeSpan.FromSeconds(90));
        using var http = new HttpClient { BaseAddress = demo.BaseAddress, Timeout = TimeSpan.FromSeconds(20) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", demo.Key("analyst"));
        var clock = Stopwatch.StartNew();
        var (routes, trucks, completed) = (0, 0, 0);
        while (clock.Elapsed < TimeSpan.FromMinutes(5))
        {
            using (var r = JsonDocument.Parse(await http.GetStringAsync("/api/routes")))
            {
                routes = Math.Max(routes, r.RootElement.GetProperty("routes").GetArrayLength());
                trucks = Math.Max(trucks, r.RootElement.GetProperty("vehicles").GetArrayLength());
            }
            using (var j = JsonDocument.Parse(await http.GetStringAsync("/api/jobs?state=all")))
            {
                // Completed by the scheduler: it saw the truck's emptying in the readings (not a dispatcher's hand).
                completed = j.RootElement.EnumerateArray().Count(x => x.GetProperty("state").GetString() == "completed" && x.GetProperty("vehicle").GetString() is not null);
            }
            if (routes > 0 && trucks > 0 && completed > 0)
            {
                break;
            }
            await Task.Delay(1000);
        }
        output.WriteLine($"after {clock.Elapsed.TotalSeconds:0} s: {routes} route(s), {trucks} truck(s) seen, {completed} job(s) completed by a truck");
        Assert.True(routes > 0, "no route was planned:\n" + demo.Output);
        Assert.True(trucks > 0, "no truck position reached /api/routes:\n" + demo.Output);
        Assert.True(completed > 0, "no job planned for a truck was completed:\n" + demo.Output);
    }
}
