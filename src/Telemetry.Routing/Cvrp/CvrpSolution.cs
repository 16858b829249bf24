namespace Telemetry.Routing.Cvrp;

/// <summary>Routes of a CVRP solution: each the customers (node indices) in the order visited, from and back to the depot.</summary>
public sealed record CvrpSolution(IReadOnlyList<IReadOnlyList<int>> Routes, long Cost)
{
    /// <summary>The routes that visit someone.</summary>
    public int UsedRoutes => Routes.Count(r => r.Count > 0);
}

/// <summary>CVRPLIB's cost of routes: the sum of their <see cref="CvrpInstance.Distance"/>s (each rounded on its own), depot legs included.</summary>
public static class CvrpCost
{
    public static long Of(CvrpInstance instance, IEnumerable<IReadOnlyList<int>> routes)
    {
        ArgumentNullException.ThrowIfNull(instance);
        ArgumentNullException.ThrowIfNull(routes);
        long cost = 0;
        foreach (var route in routes)
        {
            if (route.Count == 0)
            {
                continue;
            }
            var at = instance.Depot;
            foreach (var c in route)
            {
                cost += instance.Distance(at, c);
                at = c;
            }
            cost += instance.Distance(at, instance.Depot);
        }
        return cost;
    }
}

/// <summary>
/// Checks a solution on its own, apart from the solver that made it: every customer visited exactly once, no depot or unknown
/// node inside a route, each route's demand within the capacity, at most the instance's number of vehicles.
/// </summary>
public static class CvrpChecker
{
    /// <summary>What is wrong with <paramref name="routes"/>; empty when they are a feasible solution.</summary>
    public static IReadOnlyList<string> Problems(CvrpInstance instance, IReadOnlyList<IReadOnlyList<int>> routes)
    {
        ArgumentNullException.ThrowIfNull(instance);
        ArgumentNullException.ThrowIfNull(routes);
        var problems = new List<string>();
        var visits = new int[instance.Dimension];
        var used = 0;
        for (var r = 0; r < routes.Count; r++)
        {
            var route = routes[r];
            if (route.Count == 0)
            {
                continue;
            }
            used++;
            long load = 0;
            foreach (var c in route)
            {
                if (c < 0 || c >= instance.Dimension)
                {
                    problems.Add($"route {r + 1} visits node index {c}, which does not exist");
                    continue;
                }
                if (c == instance.Depot)
                {
                    problems.Add($"route {r + 1} passes the depot inside the route");
                    continue;
                }
                visits[c]++;
                load += instance.Demands[c];
            }
            if (load > instance.Capacity)
            {
                problems.Add($"route {r + 1} carries {load}, more than the capacity {instance.Capacity}");
            }
        }
        if (used > instance.Vehicles)
        {
            problems.Add($"{used} routes, more than the {instance.Vehicles} vehicles");
        }
        foreach (var c in instance.Customers)
        {
            if (visits[c] == 0)
            {
                problems.Add($"customer {c + 1} is not visited");
            }
            else if (visits[c] > 1)
            {
                problems.Add($"customer {c + 1} is visited {visits[c]} times");
            }
        }
        return problems;
    }
}
