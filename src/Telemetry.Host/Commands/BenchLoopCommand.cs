using System.CommandLine;
using Telemetry.Benchmarks.Loop;
using Telemetry.Contracts.Configuration;
using Telemetry.Host.Hosting;

namespace Telemetry.Host.Commands;

/// <summary><c>telemetry bench loop</c>: the closed loop against the fixed-schedule baseline over simulated days (CONTRACT §5).</summary>
internal static class BenchLoopCommand
{
    public static Command Create()
    {
        var days = new Option<int>("--days") { Description = "Simulated days measured (after 7 days of warm-up).", DefaultValueFactory = _ => 30 };
        var seed = new Option<int>("--seed") { Description = "Seed of the simulated fleet: the same seed gives the same figures.", DefaultValueFactory = _ => 20261102 };
        var solver = new Option<double>("--solver-seconds") { Description = "The router's time limit per plan, in both runs (the search also stops after Routing:Planner:SolutionLimit solutions, 50 here by default, so the same seed gives the same plans).", DefaultValueFactory = _ => 1 };
        var warmup = new Option<int>("--warmup-days") { Description = "Unmeasured days both runs spend first, the simulator emptying the bins itself while the fill signal learns.", DefaultValueFactory = _ => LoopBenchSetup.WarmupDays };
        var command = new Command("loop", "Benchmark the closed loop (simulator, decoding, fill signal, scheduler, router, trucks driving the plans) against fixed rounds planned by the same router, over --days simulated days of the fleet; last line JSON.")
        {
            days, seed, solver, warmup,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, ct) =>
        {
            var config = CommandLineConfiguration.Build(parse.UnmatchedTokens, parse.CommandResult.Command.Options.Select(o => o.Name));
            var d = parse.GetValue(days);
            if (d is < 1 or > 366)
            {
                throw new ConfigurationException("--days", "must be from 1 to 366");
            }
            var s = parse.GetValue(solver);
            if (!(s is >= 0.01 and <= 600))
            {
                throw new ConfigurationException("--solver-seconds", "must be from 0.01 to 600");
            }
            var w = parse.GetValue(warmup);
            if (w is < 1 or > 60)
            {
                throw new ConfigurationException("--warmup-days", "must be from 1 to 60");
            }
            var settings = LoopBenchSetup.Settings(config, new LoopBenchOptions(d, parse.GetValue(seed), w), TimeSpan.FromSeconds(s));
            await new LoopBenchmark(settings, LoopBenchSetup.Planner(config, settings.Registry), "OR-Tools", Console.Out).RunAsync(ct);
            return 0;
        });
        return command;
    }
}
