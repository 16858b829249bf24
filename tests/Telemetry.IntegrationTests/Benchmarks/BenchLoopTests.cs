using System.Text.Json;
using Xunit.Abstractions;

namespace Telemetry.IntegrationTests.Benchmarks;

/// <summary><c>telemetry bench loop</c> as an operator runs it, short: the contract's JSON last, and the same seed giving the same figures.</summary>
public sealed class BenchLoopTests(ITestOutputHelper output)
{
    private static readonly string[] Figures =
    [
        "truckKm", "baselineTruckKm", "trips", "baselineTrips", "overflowHours", "baselineOverflowHours",
        "fillAtCollectionPct", "baselineFillAtCollectionPct", "jobsRaised", "jobsCompleted",
    ];

    [Fact]
    public async Task A_short_loop_gives_the_contract_fields_and_the_same_seed_gives_the_same_figures()
    {
        // A day and a half of warm-up and one measured Monday (every fixed round runs); the solver stops after 10 solutions,
        // well before its generous time limit, so no plan depends on the machine's speed.
        string[] args = ["--days", "1", "--warmup-days", "2", "--seed", "7", "--solver-seconds", "60", "--Routing:Planner:SolutionLimit=10"];
        var (first, firstText) = await RunAsync(args);
        var (second, _) = await RunAsync(args);

        Assert.Equal("loop", first.GetProperty("bench").GetString());
        Assert.Equal(1, first.GetProperty("days").GetInt32());
        foreach (var name in Figures)
        {
            Assert.Equal(first.GetProperty(name).GetDouble(), second.GetProperty(name).GetDouble());
        }
        // The loop and the fixed rounds both drove and emptied compartments on the Monday.
        Assert.True(first.GetProperty("truckKm").GetDouble() > 10);
        Assert.True(first.GetProperty("baselineTruckKm").GetDouble() > 10);
        Assert.True(first.GetProperty("trips").GetInt32() > 0);
        Assert.True(first.GetProperty("baselineTrips").GetInt32() >= 4); // kitchen, residual, recyclables and hazardous rounds on a Monday
        Assert.InRange(first.GetProperty("fillAtCollectionPct").GetDouble(), 1, 100);
        Assert.InRange(first.GetProperty("baselineFillAtCollectionPct").GetDouble(), 1, 100);
        Assert.True(first.GetProperty("overflowHours").GetDouble() >= 0);
        Assert.True(first.GetProperty("jobsRaised").GetInt32() > 0);
        Assert.InRange(first.GetProperty("jobsCompleted").GetInt32(), 1, first.GetProperty("jobsRaised").GetInt32());
        Assert.Contains("loop     day  1/1:", firstText, StringComparison.Ordinal);
        Assert.Contains("baseline day  1/1:", firstText, StringComparison.Ordinal);
        Assert.DoesNotContain("stopped by the time limit", firstText, StringComparison.Ordinal);

        // Another seed is another fleet: other figures.
        var (other, _) = await RunAsync(["--days", "1", "--warmup-days", "2", "--seed", "8", "--solver-seconds", "60", "--Routing:Planner:SolutionLimit=10"]);
        Assert.NotEqual(first.GetProperty("baselineOverflowHours").GetDouble(), other.GetProperty("baselineOverflowHours").GetDouble());
    }

    private async Task<(JsonElement Json, string Text)> RunAsync(string[] args)
    {
        var run = await TelemetryCommand.RunAsync(output, TimeSpan.FromSeconds(300), ["bench", "loop", .. args]);
        Assert.Equal(0, run.ExitCode);
        return (run.LastJson(), run.Stdout);
    }
}
