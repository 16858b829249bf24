using System.Text.Json;
using Xunit.Abstractions;

namespace Telemetry.IntegrationTests.Benchmarks;

/// <summary><c>telemetry bench api</c> as an operator runs it: it starts its own api process (with ingestion and the scheduler) on SQLite and prints the JSON line last.</summary>
public sealed class BenchApiTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("telemetry-bench-api-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Three_seconds_at_200_per_second_and_20_SSE_clients_on_SQLite_give_the_contract_fields_and_no_errors()
    {
        var run = await TelemetryCommand.RunAsync(output, TimeSpan.FromSeconds(120),
        [
            "bench", "api", "--rps", "200", "--seconds", "3", "--warmup", "1", "--clients", "20",
            "--Storage:Backend=sqlite", $"--Storage:Sqlite:Path={Path.Combine(_dir, "bench.db")}",
        ], _dir);
        Assert.Equal(0, run.ExitCode);
        var text = run.Stdout;

        var r = run.LastJson();
        Assert.Equal("api", r.GetProperty("bench").GetString());
        Assert.Equal(200, r.GetProperty("rps").GetInt32());
        Assert.InRange(r.GetProperty("requests").GetInt64(), 540, 660);
        Assert.Equal(0, r.GetProperty("errors").GetInt64());
        var p50 = r.GetProperty("p50Ms").GetDouble();
        var p99 = r.GetProperty("p99Ms").GetDouble();
        Assert.InRange(p50, 0.01, 2000);
        Assert.InRange(p99, p50, 2000);
        // Every client got every tilt alert's raised event, measured from the status's publish acknowledgement.
        Assert.Equal(20, r.GetProperty("sseClients").GetInt32());
        Assert.Equal(20, r.GetProperty("sseConnected").GetInt32());
        Assert.Equal(5, r.GetProperty("sseRounds").GetInt32());
        Assert.Equal(100, r.GetProperty("sseSamples").GetInt32());
        Assert.Equal(0, r.GetProperty("sseMissed").GetInt64());
        Assert.Equal(0, r.GetProperty("sseErrors").GetInt64());
        var sseP50 = r.GetProperty("sseP50Ms").GetDouble();
        var sseP99 = r.GetProperty("sseP99Ms").GetDouble();
        Assert.InRange(sseP50, 0.1, 15000);
        Assert.InRange(sseP99, sseP50, 15000);
        Assert.True(r.GetProperty("openFileLimit").GetInt64() >= 1024);
        Assert.InRange(r.GetProperty("sendRatePerSec").GetDouble(), 180, 220);
        Assert.InRange(r.GetProperty("peakRssMb").GetDouble(), 10, 4096);
        Assert.Equal("sqlite", r.GetProperty("backend").GetString());
        Assert.Equal(55, r.GetProperty("bins").GetInt32());
        Assert.Contains("goal p99 < 20 ms with 0 errors:", text, StringComparison.Ordinal);
        Assert.Contains("goal p99 < 250 ms with no event missed:", text, StringComparison.Ordinal);
    }
}
