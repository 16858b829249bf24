using System.Text.Json;
using Xunit.Abstractions;

namespace Telemetry.IntegrationTests.Benchmarks;

/// <summary><c>telemetry bench route</c> as an operator runs it, on a folder of two small CVRPLIB instances.</summary>
public sealed class BenchRouteTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("bench-route-").FullName;

    [Fact]
    public async Task Two_small_instances_at_one_second_give_the_contract_fields_all_feasible()
    {
        CopyInstances("E-n22-k4", "P-n16-k8");
        var (exit, text, _) = await RunAsync("bench", "route", "--instances", _folder, "--seconds", "1");
        Assert.Equal(0, exit);

        using var json = JsonDocument.Parse(text.TrimEnd().Split('\n')[^1]);
        var r = json.RootElement;
        Assert.Equal("route", r.GetProperty("bench").GetString());
        Assert.Equal(2, r.GetProperty("instances").GetInt32());
        Assert.Equal(2, r.GetProperty("feasible").GetInt32());
        Assert.Equal(1, r.GetProperty("secondsPerInstance").GetDouble());
        Assert.Equal(1, r.GetProperty("runs").GetInt32());
        var avg = r.GetProperty("avgGapPct").GetDouble();
        var max = r.GetProperty("maxGapPct").GetDouble();
        Assert.InRange(avg, 0, 1.5);
        Assert.InRange(max, avg, 1.5);
        Assert.InRange(r.GetProperty("maxSolveSec").GetDouble(), 0.1, 1.0);
        // Progress per instance before the summary.
        Assert.Contains("run 1/1  E-n22-k4", text, StringComparison.Ordinal);
        Assert.Contains("run 1/1  P-n16-k8", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_option_or_a_malformed_instance_stops_with_a_message_naming_it()
    {
        CopyInstances("P-n16-k8");
        var (exit, _, error) = await RunAsync("bench", "route", "--instances", _folder, "--seconds", "0");
        Assert.Equal(2, exit);
        Assert.Contains("--seconds", error, StringComparison.Ordinal);

        (exit, _, error) = await RunAsync("bench", "route", "--instances", _folder, "--runs", "0");
        Assert.Equal(2, exit);
        Assert.Contains("--runs", error, StringComparison.Ordinal);

        var broken = Path.Combine(_folder, "P-n16-k8.vrp");
        await File.WriteAllTextAsync(broken, (await File.ReadAllTextAsync(broken)).Replace("CAPACITY : 35", "CAPACITY : lots", StringComparison.Ordinal));
        (exit, _, error) = await RunAsync("bench", "route", "--instances", _folder, "--seconds", "1");
        Assert.Equal(2, exit);
        Assert.Contains($"{broken}:6: CAPACITY 'lots' is not a positive whole number", error, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private void CopyInstances(params string[] names)
    {
        var source = RepositoryInstances();
        foreach (var name in names)
        {
            File.Copy(Path.Combine(source, name + ".vrp"), Path.Combine(_folder, name + ".vrp"));
        }
        File.Copy(Path.Combine(source, "BEST.tsv"), Path.Combine(_folder, "BEST.tsv"));
    }

    private static string RepositoryInstances()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "data", "cvrplib");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException($"tests/data/cvrplib is not above {AppContext.BaseDirectory}");
    }

    private async Task<(int Exit, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var run = await TelemetryCommand.RunAsync(output, TimeSpan.FromSeconds(60), args);
        return (run.ExitCode, run.Stdout, run.Stderr);
    }
}
