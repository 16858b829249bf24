namespace Telemetry.Routing.Cvrp;

/// <summary>A point of a CVRPLIB instance (NODE_COORD_SECTION).</summary>
public readonly record struct CvrpPoint(double X, double Y);

/// <summary>
/// A capacitated vehicle routing instance in CVRPLIB's terms: nodes with coordinates and demands, one depot, one vehicle
/// capacity, and the number of vehicles <see cref="Vehicles"/> taken from the name (<c>A-n32-k5</c>: 5). Nodes are numbered from
/// 0 in the order of the file (the file's node <c>i</c> is index <c>i - 1</c>).
/// </summary>
public sealed class CvrpInstance
{
    private readonly CvrpPoint[] _nodes;
    private readonly int[] _demands;

    public CvrpInstance(string name, string? comment, int capacity, int vehicles, IReadOnlyList<CvrpPoint> nodes, IReadOnlyList<int> demands, int depot)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentNullException.ThrowIfNull(demands);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(vehicles, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(nodes.Count, 2);
        if (demands.Count != nodes.Count)
        {
            throw new ArgumentException($"{demands.Count} demands for {nodes.Count} nodes", nameof(demands));
        }
        ArgumentOutOfRangeException.ThrowIfNegative(depot);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(depot, nodes.Count);
        Name = name;
        Comment = comment;
        Capacity = capacity;
        Vehicles = vehicles;
        _nodes = [.. nodes];
        _demands = [.. demands];
        Depot = depot;
    }

    public string Name { get; }

    public string? Comment { get; }

    /// <summary>The capacity of every vehicle.</summary>
    public int Capacity { get; }

    /// <summary>The most routes a solution may have: the <c>k</c> of the name.</summary>
    public int Vehicles { get; }

    public IReadOnlyList<CvrpPoint> Nodes => _nodes;

    public IReadOnlyList<int> Demands => _demands;

    /// <summary>Index of the depot node.</summary>
    public int Depot { get; }

    /// <summary>Number of nodes, the depot included (CVRPLIB's DIMENSION).</summary>
    public int Dimension => _nodes.Length;

    /// <summary>The customers: every node but the depot.</summary>
    public IEnumerable<int> Customers => Enumerable.Range(0, _nodes.Length).Where(i => i != Depot);

    /// <summary>
    /// CVRPLIB's EUC_2D distance: the Euclidean distance rounded to the nearest integer (TSPLIB's <c>nint</c>), the cost
    /// every published best known value is stated in.
    /// </summary>
    public int Distance(int from, int to)
    {
        var dx = _nodes[from].X - _nodes[to].X;
        var dy = _nodes[from].Y - _nodes[to].Y;
        return (int)(Math.Sqrt((dx * dx) + (dy * dy)) + 0.5);
    }

    /// <summary>Every <see cref="Distance"/>, row by row (<c>[from * Dimension + to]</c>).</summary>
    public int[] DistanceMatrix()
    {
        var n = _nodes.Length;
        var d = new int[n * n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                d[(i * n) + j] = Distance(i, j);
            }
        }
        return d;
    }
}
