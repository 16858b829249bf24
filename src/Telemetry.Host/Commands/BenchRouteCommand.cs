using System.CommandLine;
using Telemetry.Benchmarks.Routing;
using Telemetry.Contracts.Configuration;
using Telemetry.Routing.Cvrp;

namespace Telemetry.Host.Commands;

/// <summary><c>telemetry bench route</c>: the CVRP solver on CVRPLIB instances against their best known values (CONTRACT §5).</summary>
internal static class BenchRouteCommand
{
    /// <summary>Where the repository keeps its CVRPLIB instances, from its root.</summary>
    private static readonly string RepositoryInstances = Path.Combine("tests", "data", "cvrplib");

    public static Command Create()
    {
        var instances = new Option<string?>("--instances") { Description = $"Folder of CVRPLIB *.vrp files (TYPE CVRP, EUC_2D) and their BEST.tsv (tab-separated; columns name, best_known_value). Default: the repository's {RepositoryInstances} when run inside it." };
        var seconds = new Option<double>("--seconds") { Description = "Time limit per instance, model building included.", DefaultValueFactory = _ => 10 };
        var runs = new Option<int>("--runs") { Description = "Runs over every instance (other seeds); the JSON gives the worst run's figures.", DefaultValueFactory = _ => 1 };
        var method = new Option<string>("--method") { Description = "'hybrid' (OR-Tools' first solution, then ruin-and-recreate on every thread), 'hybrid-gls' (one thread OR-Tools guided local search instead), or 'ortools' (OR-Tools alone: parallel cheapest insertion and guided local search).", DefaultValueFactory = _ => "hybrid" };
        var threads = new Option<int>("--threads") { Description = "Search threads (default: the cores).", DefaultValueFactory = _ => Math.Max(1, Environment.ProcessorCount) };
        var seed = new Option<int>("--seed") { Description = "Seed of the first run (run r uses seed + r - 1).", DefaultValueFactory = _ => 1 };
        var command = new Command("route", "Benchmark the vehicle routing solver on CVRPLIB instances: each solved within --seconds with at most the k vehicles of its name, checked, costed with CVRPLIB's rounding and compared with BEST.tsv; last line JSON.")
        {
            instances, seconds, runs, method, threads, seed,
        };
        command.SetAction((parse, cancellation) =>
        {
            var folder = parse.GetValue(instances) ?? FindRepositoryInstances()
                ?? throw new ConfigurationException("--instances", $"is required outside the repository (no {RepositoryInstances} found above the current folder)");
            if (!Directory.Exists(folder))
            {
                throw new ConfigurationException("--instances", $"'{folder}' is not a folder");
            }
            var s = parse.GetValue(seconds);
            if (!(s >= 0.2 && s <= 3600))
            {
                throw new ConfigurationException("--seconds", "must be from 0.2 to 3600");
            }
            var r = parse.GetValue(runs);
            if (r is < 1 or > 100)
            {
                throw new ConfigurationException("--runs", "must be from 1 to 100");
            }
            var t = parse.GetValue(threads);
            if (t is < 1 or > 64)
            {
                throw new ConfigurationException("--threads", "must be from 1 to 64");
            }
            var m = parse.GetValue(method) switch
            {
                "hybrid" => CvrpMethod.Hybrid,
                "hybrid-gls" => CvrpMethod.HybridWithGuidedLocalSearch,
                "ortools" => CvrpMethod.OrTools,
                var other => throw new ConfigurationException("--method", $"'{other}' is not hybrid, hybrid-gls or ortools"),
            };
            var options = new RouteBenchOptions(folder, s, r, m, t, parse.GetValue(seed));
            // A thread of its own: the solver blocks while it searches, and Ctrl+C cancels it between steps.
            return Task.Factory.StartNew(() =>
            {
                try
                {
                    return new RouteBenchmark(options, Console.Out).Run(cancellation);
                }
                catch (CvrpFormatException ex)
                {
                    throw new ConfigurationException("--instances", ex.Message);
                }
            }, cancellation, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        });
        return command;
    }

    /// <summary>The repository's instances, looked for from the current folder upwards, then from the program's.</summary>
    private static string? FindRepositoryInstances()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, RepositoryInstances);
                if (Directory.Exists(candidate))
                {
                    return candidate;
                }
            }
        }
        return null;
    }
}
