using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Telemetry.Benchmarks.Prediction;
using Telemetry.Contracts.Configuration;
using Telemetry.Fleet;
using Telemetry.Host.Hosting;

namespace Telemetry.Host.Commands;

/// <summary><c>telemetry bench predict</c>: the fill prediction against the naive and trend baselines (CONTRACT §5).</summary>
internal static class BenchPredictCommand
{
    public static Command Create()
    {
        var series = new Option<string?>("--series") { Description = "Score on the series of this CSV (header series,ts,fillPct; one reading a row, each series in time order) instead of generated ones." };
        var generator = new Option<string>("--generator") { Description = "Generated series: 'simulator' (the project's simulator over the registry's bins) or 'other' (a second generator with other rhythms, noise and emptying rules).", DefaultValueFactory = _ => "simulator" };
        var seed = new Option<int>("--seed") { Description = "Seed of the generated series (the predictor was tuned on seed 7).", DefaultValueFactory = _ => 20261203 };
        var days = new Option<int>("--days") { Description = "Days of generated series.", DefaultValueFactory = _ => 42 };
        var count = new Option<int>("--count") { Description = "Series of the second generator.", DefaultValueFactory = _ => 400 };
        var write = new Option<string?>("--write-series") { Description = "Also write the series scored to this CSV (the --series format), to share or score elsewhere." };
        var command = new Command("predict", "Benchmark the fill prediction: error of the predicted time to the collection threshold (Scheduling:ThresholdPct) against the naive and 24-hour trend baselines, and the 80 % band's coverage; last line JSON.")
        {
            series, generator, seed, days, count, write,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(parse =>
        {
            var config = CommandLineConfiguration.Build(parse.UnmatchedTokens, parse.CommandResult.Command.Options.Select(o => o.Name));
            var source = parse.GetValue(generator) switch
            {
                "simulator" => SeriesSource.Simulator,
                "other" => SeriesSource.Other,
                var g => throw new ConfigurationException("--generator", $"'{g}' is not 'simulator' or 'other'"),
            };
            var d = parse.GetValue(days);
            if (d is < 2 or > 366)
            {
                throw new ConfigurationException("--days", "must be from 2 to 366");
            }
            var n = parse.GetValue(count);
            if (n is < 1 or > 100_000)
            {
                throw new ConfigurationException("--count", "must be from 1 to 100000");
            }
            var file = parse.GetValue(series);
            if (file is not null && !File.Exists(file))
            {
                throw new ConfigurationException("--series", $"'{file}' does not exist");
            }
            var threshold = 80.0;
            if (config["Scheduling:ThresholdPct"] is { } text && (!double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out threshold) || threshold is <= 0 or >= 100))
            {
                throw new ConfigurationException("Scheduling:ThresholdPct", $"'{text}' is not a percentage between 0 and 100");
            }
            var registry = FleetRegistryLoader.Load(config["Fleet:Registry"]);
            var options = new PredictBenchOptions(file, source, parse.GetValue(seed), d, n, threshold, parse.GetValue(write));
            return new PredictBenchmark(registry, options, Console.Out).Run();
        });
        return command;
    }
}
