using Telemetry.Routing.Cvrp;

namespace Telemetry.UnitTests.Routing;

public class CvrpCostAndCheckerTests
{
    // An optimal solution of P-n16-k8 (the file's node numbers; the depot is node 1): eight routes, cost 450 = BEST.tsv.
    // Checked below: feasible, every customer once, each load within 35, and the CVRPLIB cost equal to the best known value.
    private static readonly int[][] P16Optimal =
    [
        [9],
        [7],
        [6, 15],
        [12, 5],
        [8, 10, 14],
        [4, 2],
        [11, 13, 16],
        [3],
    ];

    private static IReadOnlyList<IReadOnlyList<int>> Indices(int[][] fileNodes) => [.. fileNodes.Select(r => (IReadOnlyList<int>)[.. r.Select(n => n - 1)])];

    [Fact]
    public void Each_distance_is_rounded_to_the_nearest_integer_on_its_own()
    {
        var i = new CvrpInstance("T-n4-k1", null, 10, 1, [new(0, 0), new(1, 1), new(3, 4), new(0.5, 0)], [0, 1, 1, 1], 0);
        Assert.Equal(1, i.Distance(0, 1)); // 1.414
        Assert.Equal(5, i.Distance(0, 2));
        Assert.Equal(4, i.Distance(1, 2)); // 3.606
        Assert.Equal(1, i.Distance(0, 3)); // 0.5 rounds up, as TSPLIB's nint
        Assert.Equal(5, i.Distance(2, 3)); // 4.717
        // Each leg rounded alone: 1 + 4 + 5 + 1 = 11, where the unrounded sum 10.24 would round to 10.
        Assert.Equal(1 + 4 + 5 + 1, CvrpCost.Of(i, [[1, 2, 3]]));
        Assert.Equal(0, CvrpCost.Of(i, [[]]));
    }

    [Fact]
    public void A_known_optimal_solution_costs_the_best_known_value_only_with_the_rounding()
    {
        var p16 = CvrpTestData.Instance("P-n16-k8");
        var best = BestKnownValues.ReadFile(CvrpTestData.PathOf(BestKnownValues.FileName))["P-n16-k8"];
        var routes = Indices(P16Optimal);
        Assert.Empty(CvrpChecker.Problems(p16, routes));
        Assert.Equal(best, CvrpCost.Of(p16, routes));
        // Unrounded, the same routes measure otherwise: the rounding is what makes the published value.
        var exact = routes.Sum(r => r.Prepend(p16.Depot).Append(p16.Depot).Zip(r.Append(p16.Depot).Prepend(p16.Depot).Skip(1))
            .Sum(leg => Math.Sqrt(Math.Pow(p16.Nodes[leg.First].X - p16.Nodes[leg.Second].X, 2) + Math.Pow(p16.Nodes[leg.First].Y - p16.Nodes[leg.Second].Y, 2))));
        Assert.True(Math.Abs(exact - best) > 1, $"unrounded {exact}");
    }

    [Fact]
    public void The_checker_accepts_a_feasible_solution_and_names_each_fault_of_an_infeasible_one()
    {
        var p16 = CvrpTestData.Instance("P-n16-k8");
        Assert.Empty(CvrpChecker.Problems(p16, Indices(P16Optimal)));

        // Customer 16 left out.
        var missing = Indices([[9], [7], [6, 15], [12, 5], [8, 10, 14], [4, 2], [11, 13], [3]]);
        Assert.Equal(["customer 16 is not visited"], CvrpChecker.Problems(p16, missing));

        // Customer 3 twice (and its route over capacity: 30 + 30).
        var twice = Indices([[3, 3], [7], [6, 15], [12, 5], [8, 10, 14], [4, 2], [11, 13, 16], [9]]);
        Assert.Equal(["route 1 carries 60, more than the capacity 35", "customer 3 is visited 2 times"], CvrpChecker.Problems(p16, twice));

        // 11 + 19 + 16 = 46 > 35.
        var heavy = Indices([[9], [7], [6, 15, 4], [12, 5], [8, 10, 14], [2], [11, 13, 16], [3]]);
        Assert.Equal(["route 3 carries 46, more than the capacity 35"], CvrpChecker.Problems(p16, heavy));

        // Nine routes for eight vehicles.
        var nine = Indices([[9], [7], [6, 15], [12, 5], [8, 10, 14], [4, 2], [11, 13], [16], [3]]);
        Assert.Equal(["9 routes, more than the 8 vehicles"], CvrpChecker.Problems(p16, nine));

        // The depot inside a route, and a node that does not exist.
        var depot = Indices([[9], [7], [6, 15], [12, 5], [8, 10, 14], [4, 1, 2], [11, 13, 16], [3, 17]]);
        Assert.Equal(["route 6 passes the depot inside the route", "route 8 visits node index 16, which does not exist"], CvrpChecker.Problems(p16, depot));

        // Empty routes are not routes.
        Assert.Empty(CvrpChecker.Problems(p16, [.. Indices(P16Optimal), [], []]));
    }
}
