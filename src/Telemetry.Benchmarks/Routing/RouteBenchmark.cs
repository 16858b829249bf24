using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Telemetry.Routing.Cvrp;

namespace Telemetry.Benchmarks.Routing;

/// <summary>Options of <c>telemetry bench route</c>.</summary>
/// <param name="Instances">The folder of <c>*.vrp</c> files and their <c>BEST.tsv</c>.</param>
/// <param name="Seconds">The time limit of each solve, model building included.</param>
/// <param name="Runs">Runs over every instance; the figures are the worst run's.</param>
/// <param name="Method">The solver's method.</param>
/// <param name="Threads">The solver's threads.</param>
/// <param name="Seed">The first run's seed (run <c>r</c> uses <c>Seed + r - 1</c>).</param>
public sealed record RouteBenchOptions(string Instances, double Seconds, int Runs, CvrpMethod Method, int Threads, int Seed);

/// <summary>
/// <c>telemetry bench route</c> (CONTRACT §5): every <c>*.vrp</c> of a folder solved by <see cref="CvrpSolver"/> within the time
/// limit with at most the vehicles of its name, each solution checked by <see cref="CvrpChecker"/>, costed with CVRPLIB's
/// rounding and compared with the folder's <c>BEST.tsv</c>. With several runs (other seeds), the JSON gives the worst run's
/// figures: the lowest feasible count, the highest average gap and the highest single gap.
/// </summary>
public sealed class RouteBenchmark(RouteBenchOptions options, TextWriter output)
{
    public const double GoalAvgGapPct = 0.5;
    public const double GoalMaxGapPct = 1.5;

    /// <summary>Reads the folder first, so a bad file stops the run before any solving.</summary>
    public static (IReadOnlyList<CvrpInstance> Instances, IReadOnlyDictionary<string, double> Best) Load(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var files = Directory.GetFiles(folder, "*.vrp").Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0)
        {
            throw new CvrpFormatException(folder, 0, "holds no *.vrp file");
        }
        var bestFile = Path.Combine(folder, BestKnownValues.FileName);
        if (!File.Exists(bestFile))
        {
            throw new CvrpFormatException(folder, 0, $"has no {BestKnownValues.FileName} (the best known values to compare with)");
        }
        var best = BestKnownValues.ReadFile(bestFile);
        var instances = files.Select(CvrpParser.ParseFile).ToList();
        foreach (var (instance, file) in instances.Zip(files))
        {
            if (!best.ContainsKey(instance.Name))
            {
                throw new CvrpFormatException(bestFile, 0, $"has no best_known_value for {instance.Name} ({Path.GetFileName(file)})");
            }
        }
        var twice = instances.GroupBy(i => i.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null)
        {
            throw new CvrpFormatException(folder, 0, $"two files are named {twice.Key}");
        }
        return (instances, best);
    }

    public int Run(CancellationToken cancellation = default)
    {
        var clock = Stopwatch.StartNew();
        var (instances, best) = Load(options.Instances);
        output.WriteLine(Invariant($"bench route: {instances.Count} instances from {options.Instances}, {options.Seconds:0.###} s each, {options.Runs} run(s), method {Name(options.Method)}, {options.Threads} thread(s), seed {options.Seed}; {Environment.ProcessorCount} cores, load average {LoadAverage():0.00}"));
        // OR-Tools' native library loads on its first use: not on the first instance's clock.
        var warm = Stopwatch.StartNew();
        var tiny = new CvrpInstance("warm-up-k2", null, 2, 2, [new(0, 0), new(10, 0), new(0, 10), new(-10, 0)], [0, 1, 1, 1], 0);
        CvrpSolver.Solve(tiny, new CvrpSolverOptions { TimeLimit = TimeSpan.FromMilliseconds(200), Method = options.Method, Threads = options.Threads }, cancellation);
        output.WriteLine(Invariant($"warm-up (OR-Tools loaded, a 4-node instance solved): {warm.Elapsed.TotalSeconds:0.00} s"));
        var runs = new List<RunFigures>();
        var gaps = new Dictionary<string, List<double?>>(StringComparer.Ordinal);
        var maxWall = 0.0;
        for (var run = 1; run <= options.Runs; run++)
        {
            var seed = options.Seed + run - 1;
            var figures = new RunFigures();
            foreach (var instance in instances)
            {
                var bkv = best[instance.Name];
                var solverOptions = new CvrpSolverOptions { TimeLimit = TimeSpan.FromSeconds(options.Seconds), Method = options.Method, Threads = options.Threads, Seed = seed };
                var wall = Stopwatch.StartNew();
                string line;
                double? gap = null;
                try
                {
                    var result = CvrpSolver.Solve(instance, solverOptions, cancellation);
                    cancellation.ThrowIfCancellationRequested();
                    wall.Stop();
                    // Checked again here, apart from the solver, and costed from the routes alone.
                    var problems = CvrpChecker.Problems(instance, result.Solution.Routes);
                    var cost = CvrpCost.Of(instance, result.Solution.Routes);
                    if (problems.Count == 0)
                    {
                        gap = (cost - bkv) / bkv * 100;
                        figures.Gaps.Add(gap.Value);
                        line = Invariant($"cost {cost,6} best {bkv,6} gap {gap,6:0.00} %  routes {result.Solution.UsedRoutes}/{instance.Vehicles}  {wall.Elapsed.TotalSeconds,5:0.00} s  ({result.FoundBy}{(result.Iterations > 0 ? Invariant($", {result.Iterations:N0} steps") : "")})");
                    }
                    else
                    {
                        line = Invariant($"INFEASIBLE: {string.Join("; ", problems)}");
                    }
                }
                catch (CvrpUnsolvedException ex)
                {
                    wall.Stop();
                    line = "no solution: " + ex.Message;
                }
                maxWall = Math.Max(maxWall, wall.Elapsed.TotalSeconds);
                figures.Solved++;
                if (gap is not null)
                {
                    figures.Feasible++;
                }
                if (!gaps.TryGetValue(instance.Name, out var list))
                {
                    gaps[instance.Name] = list = [];
                }
                list.Add(gap);
                output.WriteLine(Invariant($"  run {run}/{options.Runs}  {instance.Name,-10} n={instance.Dimension,-4} {line}"));
            }
            runs.Add(figures);
            output.WriteLine(Invariant($"run {run}: feasible {figures.Feasible}/{instances.Count}, average gap {figures.AvgGap:0.000} %, worst {figures.MaxGap:0.000} %"));
        }

        var feasible = runs.Min(r => r.Feasible);
        var avg = runs.Max(r => r.AvgGap);
        var max = runs.Max(r => r.MaxGap);
        output.WriteLine();
        output.WriteLine(Invariant($"Summary: {instances.Count} CVRPLIB instances, {options.Seconds:0.###} s each, worst of {options.Runs} run(s) (method {Name(options.Method)}, {options.Threads} thread(s)); {clock.Elapsed.TotalSeconds:0} s in all"));
        output.WriteLine(Invariant($"  {"instance",-10} {"best",7}  gap % per run (worst)"));
        foreach (var instance in instances)
        {
            var g = gaps[instance.Name];
            var worst = g.Any(x => x is null) ? "infeasible" : Invariant($"{g.Max(x => x!.Value):0.00}");
            output.WriteLine(Invariant($"  {instance.Name,-10} {best[instance.Name],7}  {string.Join(" ", g.Select(x => x is { } v ? Invariant($"{v,5:0.00}") : "    -"))}  ({worst})"));
        }
        output.WriteLine(Invariant($"  feasible {feasible}/{instances.Count}; average gap {avg:0.000} %, worst gap {max:0.000} % (gaps over the feasible solutions); longest solve {maxWall:0.000} s of {options.Seconds:0.###} s"));
        var met = feasible == instances.Count && avg <= GoalAvgGapPct && max <= GoalMaxGapPct;
        output.WriteLine(Invariant($"  goal (every instance feasible, average gap <= {GoalAvgGapPct} %, worst <= {GoalMaxGapPct} %; set for 10 s): {(met ? "met" : "NOT met")}"));
        output.WriteLine(Json(instances.Count, feasible, avg, max, maxWall));
        return 0;
    }

    private string Json(int instances, int feasible, double avg, double max, double maxWall)
    {
        var json = new Dictionary<string, object?>
        {
            ["bench"] = "route",
            ["instances"] = instances,
            ["feasible"] = feasible,
            ["avgGapPct"] = Round(avg),
            ["maxGapPct"] = Round(max),
            ["secondsPerInstance"] = options.Seconds,
            ["runs"] = options.Runs,
            ["maxSolveSec"] = Math.Round(maxWall, 3),
            ["method"] = Name(options.Method),
            ["threads"] = options.Threads,
            ["seed"] = options.Seed,
        };
        return JsonSerializer.Serialize(json);
    }

    public static string Name(CvrpMethod method) => method switch
    {
        CvrpMethod.OrTools => "ortools",
        CvrpMethod.Hybrid => "hybrid",
        CvrpMethod.HybridWithGuidedLocalSearch => "hybrid-gls",
        _ => method.ToString(),
    };

    private static double? Round(double v) => double.IsFinite(v) ? Math.Round(v, 4) : null;

    private static double LoadAverage()
    {
        try
        {
            return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return double.NaN;
        }
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private sealed class RunFigures
    {
        public List<double> Gaps { get; } = [];

        public int Solved { get; set; }

        public int Feasible { get; set; }

        public double AvgGap => Gaps.Count > 0 ? Gaps.Average() : double.NaN;

        public double MaxGap => Gaps.Count > 0 ? Gaps.Max() : double.NaN;
    }
}
