using System.Text.Json;
using Xunit.Abstractions;

namespace Telemetry.IntegrationTests.Benchmarks;

/// <summary><c>telemetry bench schedule</c> as an operator runs it, on a small fleet: the JSON line last, and ticks that decide things.</summary>
public sealed class BenchScheduleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Twenty_thousand_compartments_give_the_contract_fields_and_ticks_that_raise_alerts_and_jobs()
    {
        var run = await TelemetryCommand.RunAsync(output, TimeSpan.FromSeconds(120), ["bench", "schedule", "--compartments", "20000"]);
        Assert.Equal(0, run.ExitCode);
        var text = run.Stdout;

        var r = run.LastJson();
        Assert.Equal("schedule", r.GetProperty("bench").GetString());
        Assert.Equal(20000, r.GetProperty("compartments").GetInt32());
        var tick = r.GetProperty("tickMs").GetDouble();
        Assert.InRange(tick, 0.01, 5000);
        Assert.InRange(r.GetProperty("maxTickMs").GetDouble(), tick, 10000);
        Assert.Equal(10, r.GetProperty("ticks").GetInt32());
        // The registry's bins grown to hold them, about 7.4 compartments each.
        Assert.InRange(r.GetProperty("bins").GetInt32(), 2600, 2800);
        // The measured ticks decided things: offline bins, re-fired and escalated alerts, and jobs at the 07:00 shift start.
        Assert.True(r.GetProperty("alertEvents").GetInt64() > 0);
        Assert.True(r.GetProperty("jobs").GetInt64() > 0);
        Assert.True(r.GetProperty("firstTickJobs").GetInt64() > 0);
        Assert.True(r.GetProperty("activeAlerts").GetInt64() > 0);
        Assert.True(r.GetProperty("openJobs").GetInt64() > 0);
        Assert.InRange(r.GetProperty("peakRssMb").GetDouble(), 10, 4096);
        Assert.Contains("escalated", text, StringComparison.Ordinal);
        Assert.Contains("refired", text, StringComparison.Ordinal);
        Assert.Contains("raised offline", text, StringComparison.Ordinal);
        Assert.Contains("goal median tick < 1000 ms:", text, StringComparison.Ordinal);
    }
}
