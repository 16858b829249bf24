using System.Diagnostics;
using Google.OrTools.ConstraintSolver;

namespace Telemetry.Routing.Cvrp;

/// <summary>How <see cref="CvrpSolver"/> searches.</summary>
public enum CvrpMethod
{
    /// <summary>OR-Tools alone: parallel cheapest insertion, then guided local search, on one thread.</summary>
    OrTools,

    /// <summary>
    /// OR-Tools' savings first solution, then ruin-and-recreate on every thread (different seeds), the best kept.
    /// </summary>
    Hybrid,

    /// <summary>As <see cref="Hybrid"/>, with OR-Tools' guided local search on one of the threads.</summary>
    HybridWithGuidedLocalSearch,
}

/// <summary>Options of <see cref="CvrpSolver.Solve"/>.</summary>
public sealed record CvrpSolverOptions
{
    /// <summary>The whole solve, model building included, ends within this time.</summary>
    public required TimeSpan TimeLimit { get; init; }

    public CvrpMethod Method { get; init; } = CvrpMethod.Hybrid;

    /// <summary>Search threads (the machine's cores by default).</summary>
    public int Threads { get; init; } = Math.Max(1, Environment.ProcessorCount);

    public int Seed { get; init; } = 1;

    internal RuinRecreateSettings RuinRecreate { get; init; } = new();
}

/// <summary>A solution and how it was found.</summary>
public sealed record CvrpSolveResult(CvrpSolution Solution, TimeSpan Elapsed, string FoundBy, long Iterations);

/// <summary>
/// Solves a CVRP instance within a time limit with at most <see cref="CvrpInstance.Vehicles"/> routes: OR-Tools
/// (Google.OrTools) builds the first solution and, with <see cref="CvrpMethod.OrTools"/>, searches alone; the hybrid methods
/// improve OR-Tools' first solution with <see cref="RuinRecreate"/> on every thread. Every result is checked by
/// <see cref="CvrpChecker"/> before it is returned.
/// </summary>
public static class CvrpSolver
{
    /// <summary>
    /// Kept free of the limit for joining the threads, checking and reading the result, and for the scheduler's delays on a
    /// busy machine (a thread that was preempted when its deadline passed): 100 ms and 2 % of the limit.
    /// </summary>
    private static readonly TimeSpan Margin = TimeSpan.FromMilliseconds(100);

    public static CvrpSolveResult Solve(CvrpInstance instance, CvrpSolverOptions options, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(instance);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.TimeLimit, TimeSpan.FromMilliseconds(100));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Threads, 1);
        var clock = Stopwatch.StartNew();
        var budget = options.TimeLimit - Margin - (options.TimeLimit * 0.02);
        var deadline = Stopwatch.GetTimestamp() + (long)(budget.TotalSeconds * Stopwatch.Frequency);
        var matrix = instance.DistanceMatrix();

        int[][] best;
        string foundBy;
        long iterations = 0;
        if (options.Method == CvrpMethod.OrTools)
        {
            best = OrToolsCvrp.Solve(instance, matrix, FirstSolutionStrategy.Types.Value.ParallelCheapestInsertion, LocalSearchMetaheuristic.Types.Value.GuidedLocalSearch, Left(deadline), firstSolutionOnly: false)
                ?? throw new CvrpUnsolvedException(instance.Name, $"OR-Tools found no solution with {instance.Vehicles} vehicles within {options.TimeLimit.TotalSeconds:0.###} s");
            foundBy = "OR-Tools guided local search";
        }
        else
        {
            var firstAt = Stopwatch.GetTimestamp();
            var (start, how) = FirstSolution(instance, matrix, deadline);
            how += $" in {Stopwatch.GetElapsedTime(firstAt).TotalMilliseconds:0} ms";
            var searches = new List<(string Name, Func<int[][]> Run, Func<long> Iterations)>();
            var rrThreads = options.Method == CvrpMethod.HybridWithGuidedLocalSearch && options.Threads > 1 ? options.Threads - 1 : options.Threads;
            for (var t = 0; t < rrThreads; t++)
            {
                var search = new RuinRecreate(instance, matrix, options.RuinRecreate, (ulong)((options.Seed * 7919L) + (t * 104729L) + 1));
                searches.Add(($"ruin-and-recreate (seed {options.Seed}/{t}) from {how}", () => search.Run(start, deadline, long.MinValue, cancellation), () => search.Iterations));
            }
            if (rrThreads < options.Threads)
            {
                searches.Add(("OR-Tools guided local search", () => OrToolsCvrp.Solve(instance, matrix, FirstSolutionStrategy.Types.Value.ParallelCheapestInsertion, LocalSearchMetaheuristic.Types.Value.GuidedLocalSearch, Left(deadline), firstSolutionOnly: false) ?? start, () => 0));
            }
            var results = new (int[][] Routes, long Cost)[searches.Count];
            var threads = searches.Select((s, i) => new Thread(() =>
            {
                var routes = s.Run();
                results[i] = (routes, CvrpCost.Of(instance, routes));
            })
            { IsBackground = true, Name = "cvrp-" + i }).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            var winner = Enumerable.Range(0, results.Length).MinBy(i => results[i].Cost);
            best = results[winner].Routes;
            foundBy = searches[winner].Name;
            iterations = searches.Sum(s => s.Iterations());
        }

        var routesOut = best.Where(r => r.Length > 0).Select(r => (IReadOnlyList<int>)r).ToList();
        var problems = CvrpChecker.Problems(instance, routesOut);
        if (problems.Count > 0)
        {
            throw new CvrpUnsolvedException(instance.Name, $"the solver's routes are not feasible: {string.Join("; ", problems)}");
        }
        return new CvrpSolveResult(new CvrpSolution(routesOut, CvrpCost.Of(instance, routesOut)), clock.Elapsed, foundBy, iterations);
    }

    /// <summary>OR-Tools' savings solution; where savings finds none with the vehicles at hand, the other first-solution strategies in turn.</summary>
    private static (int[][] Routes, string How) FirstSolution(CvrpInstance instance, int[] matrix, long deadline)
    {
        FirstSolutionStrategy.Types.Value[] strategies =
        [
            FirstSolutionStrategy.Types.Value.Savings,
            FirstSolutionStrategy.Types.Value.ParallelCheapestInsertion,
            FirstSolutionStrategy.Types.Value.Christofides,
            FirstSolutionStrategy.Types.Value.PathCheapestArc,
        ];
        foreach (var strategy in strategies)
        {
            var left = Left(deadline);
            if (left <= TimeSpan.Zero)
            {
                break;
            }
            var limit = left / 3 < TimeSpan.FromSeconds(1) ? left / 3 : TimeSpan.FromSeconds(1);
            if (OrToolsCvrp.Solve(instance, matrix, strategy, LocalSearchMetaheuristic.Types.Value.GreedyDescent, limit, firstSolutionOnly: true) is { } routes)
            {
                return (routes, "OR-Tools " + strategy);
            }
        }
        // Nothing cheap fits the vehicles (a tight instance): let OR-Tools' local search look for a feasible solution.
        return (OrToolsCvrp.Solve(instance, matrix, FirstSolutionStrategy.Types.Value.Automatic, LocalSearchMetaheuristic.Types.Value.GuidedLocalSearch, Left(deadline) / 2, firstSolutionOnly: true)
            ?? throw new CvrpUnsolvedException(instance.Name, $"OR-Tools found no first solution with {instance.Vehicles} vehicles"), "OR-Tools search");
    }

    private static TimeSpan Left(long deadline) => TimeSpan.FromSeconds((double)(deadline - Stopwatch.GetTimestamp()) / Stopwatch.Frequency);
}

/// <summary>No feasible solution within the limit (or, which would be a defect, an infeasible one).</summary>
public sealed class CvrpUnsolvedException : Exception
{
    public CvrpUnsolvedException(string instance, string problem)
        : base($"{instance}: {problem}")
    {
    }

    public CvrpUnsolvedException()
    {
    }

    public CvrpUnsolvedException(string message)
        : base(message)
    {
    }

    public CvrpUnsolvedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
