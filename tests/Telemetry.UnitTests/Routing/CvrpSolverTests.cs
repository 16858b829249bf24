using Telemetry.Routing.Cvrp;

namespace Telemetry.UnitTests.Routing;

public class CvrpSolverTests
{
    [Theory]
    [InlineData("E-n22-k4", CvrpMethod.Hybrid, 1.0)]
    [InlineData("P-n16-k8", CvrpMethod.Hybrid, 1.0)]
    [InlineData("E-n22-k4", CvrpMethod.OrTools, 6.0)]
    public void A_small_instance_is_solved_within_its_limit_close_to_the_best_known_value(string name, CvrpMethod method, double maxGapPct)
    {
        var instance = CvrpTestData.Instance(name);
        var best = BestKnownValues.ReadFile(CvrpTestData.PathOf(BestKnownValues.FileName))[name];
        var limit = TimeSpan.FromSeconds(1);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var result = CvrpSolver.Solve(instance, new CvrpSolverOptions { TimeLimit = limit, Method = method, Seed = 3 });
        var wall = started.Elapsed;

        Assert.Empty(CvrpChecker.Problems(instance, result.Solution.Routes));
        Assert.Equal(CvrpCost.Of(instance, result.Solution.Routes), result.Solution.Cost);
        Assert.InRange(result.Solution.UsedRoutes, 1, instance.Vehicles);
        Assert.InRange((result.Solution.Cost - best) / best * 100, 0, maxGapPct);
        Assert.True(wall <= limit, $"took {wall}");
    }

    [Fact]
    public void The_solver_never_uses_more_routes_than_the_vehicles_even_where_one_more_would_be_cheaper()
    {
        // Four customers far apart from each other, two vehicles of capacity 2: two routes of two, though four out-and-back
        // trips would not cost more per customer pair.
        var i = new CvrpInstance("T-n5-k2", null, 2, 2, [new(0, 0), new(100, 0), new(0, 100), new(-100, 0), new(0, -100)], [0, 1, 1, 1, 1], 0);
        var result = CvrpSolver.Solve(i, new CvrpSolverOptions { TimeLimit = TimeSpan.FromMilliseconds(300) });
        Assert.Empty(CvrpChecker.Problems(i, result.Solution.Routes));
        Assert.Equal(2, result.Solution.UsedRoutes);
        Assert.Equal(2 * (100 + 141 + 100), result.Solution.Cost);
    }
}
