using Telemetry.Contracts.Configuration;
using System.CommandLine;
using Telemetry.Benchmarks;
using Telemetry.Host.Hosting;

namespace Telemetry.Host.Commands;

/// <summary><c>telemetry bench ingest</c>: ingestion throughput, latency and memory against the configured broker and store (CONTRACT §5).</summary>
internal static class BenchIngestCommand
{
    public static Command Create()
    {
        var seconds = PositiveInt("--seconds", "Time budget, split across the phases (a --backlog run adds the queueing and the drain).", 120);
        var bins = PositiveInt("--bins", "Bins per phase, synthesized from the registry (a fill message carries every compartment, 7-8 in the shipped registry).", 2000);
        var backlog = new Option<int>("--backlog") { Description = "Also queue N messages while ingestion is stopped, then measure their drain.", DefaultValueFactory = _ => 0 };
        var connections = PositiveInt("--connections", "MQTT connections the publisher shares among the bins.", 8);
        var window = PositiveInt("--window", "Publishes in flight per publisher connection (lowered to the broker's Receive Maximum).", 256);
        var seed = CommonOptions.Seed();
        var command = new Command("ingest", "Benchmark ingestion against the configured broker (Mqtt:*) and store (Storage:*): bare subscriber, bare store, full pipeline, paced latency, peak memory; last line JSON.")
        {
            seconds, bins, backlog, connections, window, seed,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, ct) =>
        {
            var config = CommandLineConfiguration.Build(parse.UnmatchedTokens, parse.CommandResult.Command.Options.Select(o => o.Name));
            var n = parse.GetValue(backlog);
            if (n < 0)
            {
                throw new ConfigurationException("--backlog", "must not be negative");
            }
            if (parse.GetValue(bins) > 99_999)
            {
                throw new ConfigurationException("--bins", "must be at most 99999");
            }
            var options = new IngestBenchOptions(parse.GetValue(seconds), parse.GetValue(bins), n, parse.GetValue(connections), parse.GetValue(window), parse.GetValue(seed));
            return await new IngestBenchmark(config, parse.UnmatchedTokens, options).RunAsync(ct);
        });
        return command;
    }

    private static Option<int> PositiveInt(string name, string description, int defaultValue) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        Validators = { r => { if (r.GetValueOrDefault<int>() < 1) { r.AddError($"{name} must be at least 1."); } } },
    };
}
