using Google.OrTools.ConstraintSolver;
using Google.Protobuf.WellKnownTypes;

namespace Telemetry.Routing.Cvrp;

/// <summary>
/// A CVRP instance as an OR-Tools routing model: <see cref="CvrpInstance.Vehicles"/> vehicles of the instance's capacity
/// from and to the depot, arc costs the rounded CVRPLIB distances (a matrix, so the search never calls back into .NET).
/// Each call builds its own model: OR-Tools models are not shared between threads.
/// </summary>
internal static class OrToolsCvrp
{
    /// <summary>The routes OR-Tools finds within <paramref name="limit"/>, or null when it finds none.</summary>
    public static int[][]? Solve(CvrpInstance instance, int[] matrix, FirstSolutionStrategy.Types.Value first, LocalSearchMetaheuristic.Types.Value metaheuristic, TimeSpan limit, bool firstSolutionOnly)
    {
        var n = instance.Dimension;
        var manager = new RoutingIndexManager(n, instance.Vehicles, instance.Depot);
        var model = new RoutingModel(manager);
        var transit = new long[n][];
        for (var i = 0; i < n; i++)
        {
            transit[i] = new long[n];
            for (var j = 0; j < n; j++)
            {
                transit[i][j] = matrix[(i * n) + j];
            }
        }
        var cost = model.RegisterTransitMatrix(transit);
        model.SetArcCostEvaluatorOfAllVehicles(cost);
        var demand = model.RegisterUnaryTransitVector([.. instance.Demands.Select(d => (long)d)]);
        model.AddDimensionWithVehicleCapacity(demand, 0, [.. Enumerable.Repeat((long)instance.Capacity, instance.Vehicles)], true, "Load");

        var parameters = operations_research_constraint_solver.DefaultRoutingSearchParameters();
        parameters.FirstSolutionStrategy = first;
        parameters.LocalSearchMetaheuristic = metaheuristic;
        parameters.TimeLimit = Duration.FromTimeSpan(limit > TimeSpan.FromMilliseconds(1) ? limit : TimeSpan.FromMilliseconds(1));
        if (firstSolutionOnly)
        {
            parameters.SolutionLimit = 1;
        }
        var solution = model.SolveWithParameters(parameters);
        if (solution is null)
        {
            return null;
        }
        var routes = new int[instance.Vehicles][];
        for (var v = 0; v < instance.Vehicles; v++)
        {
            var route = new List<int>();
            var index = model.Start(v);
            index = solution.Value(model.NextVar(index));
            while (!model.IsEnd(index))
            {
                route.Add(manager.IndexToNode(index));
                index = solution.Value(model.NextVar(index));
            }
            routes[v] = [.. route];
        }
        return routes;
    }
}
