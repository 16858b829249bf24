using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Telemetry.Benchmarks.Scheduling;
using Telemetry.Contracts.Configuration;
using Telemetry.Fleet;
using Telemetry.Host.Hosting;
using Telemetry.Scheduling;

namespace Telemetry.Host.Commands;

/// <summary><c>telemetry bench schedule</c>: one scheduler tick over a synthesized fleet held in memory (CONTRACT §5).</summary>
internal static class BenchScheduleCommand
{
    public static Command Create()
    {
        var compartments = new Option<int>("--compartments") { Description = "Compartments of the synthesized fleet (the registry's bins grown to hold them).", DefaultValueFactory = _ => 1_000_000 };
        var ticks = new Option<int>("--ticks") { Description = "Measured ticks, one simulated minute apart, after a warm-up tick.", DefaultValueFactory = _ => 10 };
        var seed = new Option<int>("--seed") { Description = "Seed of the synthesized levels, rates and device states.", DefaultValueFactory = _ => 20261102 };
        var command = new Command("schedule", "Benchmark one scheduler tick (predictions against the time, the alert rules time alone decides, the job planner) over --compartments synthesized compartments in memory; median and max over --ticks ticks; last line JSON.")
        {
            compartments, ticks, seed,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(parse =>
        {
            var config = CommandLineConfiguration.Build(parse.UnmatchedTokens, parse.CommandResult.Command.Options.Select(o => o.Name));
            var n = parse.GetValue(compartments);
            if (n is < 1 or > 20_000_000)
            {
                throw new ConfigurationException("--compartments", "must be from 1 to 20,000,000");
            }
            var k = parse.GetValue(ticks);
            if (k is < 1 or > 1000)
            {
                throw new ConfigurationException("--ticks", "must be from 1 to 1000");
            }
            var scheduling = new SchedulingOptions();
            config.GetSection(SchedulingOptions.Section).Bind(scheduling);
            var alerts = new AlertSettings();
            config.GetSection(AlertSettings.Section).Bind(alerts);
            var rules = alerts.ToRules(scheduling.ThresholdPct);
            if (rules.Problem() is { } problem)
            {
                var key = problem.Split(' ')[0];
                throw new ConfigurationException(key, problem[(key.Length + 1)..]);
            }
            FleetRegistry registry;
            try
            {
                registry = FleetRegistryLoader.Load(config["Fleet:Registry"]);
            }
            catch (RegistryException ex)
            {
                throw new ConfigurationException("Fleet:Registry", ex.Message);
            }
            return new ScheduleBenchmark(registry, rules, new ScheduleBenchOptions(n, k, parse.GetValue(seed)), Console.Out).Run();
        });
        return command;
    }
}
