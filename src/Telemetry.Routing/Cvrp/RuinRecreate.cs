using System.Diagnostics;

namespace Telemetry.Routing.Cvrp;

/// <summary>
/// Ruin-and-recreate on the rounded integer matrix, in the manner of slack induction by string removals: each step removes a
/// few strings of consecutive customers from routes near a random customer, puts the removed customers back one by one at
/// their cheapest place (skipping a few places at random, so the search does not always rebuild the same routes), and keeps the
/// result by simulated annealing on a temperature that falls with the time spent. The number of routes never exceeds the
/// instance's vehicles: a customer that fits nowhere makes the step fail and the step is dropped.
/// </summary>
internal sealed class RuinRecreate
{
    private readonly int _n;
    private readonly int _depot;
    private readonly int[] _d;
    private readonly int[] _q;
    private readonly int _capacity;
    private readonly int _slots;
    private readonly int[][] _near;
    private readonly RuinRecreateSettings _settings;
    private readonly Xorshift _rng;

    private State _current;
    private State _work;
    private readonly State _best;
    private readonly int[] _removed;
    private readonly int[] _routeStamp;
    private readonly bool[] _isRemoved;
    private readonly double[] _keys;
    private int _stamp;

    public RuinRecreate(CvrpInstance instance, int[] matrix, RuinRecreateSettings settings, ulong seed)
    {
        _n = instance.Dimension;
        _depot = instance.Depot;
        _d = matrix;
        _q = [.. instance.Demands];
        _capacity = instance.Capacity;
        _slots = instance.Vehicles;
        _settings = settings;
        _rng = new Xorshift(seed);
        var customers = instance.Customers.ToArray();
        _near = new int[_n][];
        foreach (var c in customers)
        {
            _near[c] = [.. customers.OrderBy(o => matrix[(c * _n) + o]).ThenBy(o => o)];
        }
        _current = new State(_slots, _n);
        _work = new State(_slots, _n);
        _best = new State(_slots, _n);
        _removed = new int[_n];
        _routeStamp = new int[_slots];
        _isRemoved = new bool[_n];
        _keys = new double[_n];
    }

    public long Iterations { get; private set; }

    public long Accepted { get; private set; }

    public long Failed { get; private set; }

    /// <summary>The best cost so far (read by other threads to stop early; a torn read only delays that).</summary>
    public long BestCost => Volatile.Read(ref _best.CostField);

    /// <summary>Improves <paramref name="start"/> (at most as many routes as vehicles) until <paramref name="deadline"/> (a <see cref="Stopwatch"/> timestamp).</summary>
    public int[][] Run(IReadOnlyList<int[]> start, long deadline, long stopBelowOrAt, CancellationToken cancellation)
    {
        _current.Set(start, this);
        _best.CopyFrom(_current);
        var t0 = Stopwatch.GetTimestamp();
        var span = Math.Max(1, deadline - t0);
        var perCustomer = (double)_current.Cost / Math.Max(1, _n - 1);
        var hot = _settings.StartTemperature * perCustomer;
        var cold = _settings.EndTemperature * perCustomer;
        while (true)
        {
            var now = Stopwatch.GetTimestamp();
            if (now >= deadline || cancellation.IsCancellationRequested || _best.Cost <= stopBelowOrAt)
            {
                break;
            }
            var fraction = (double)(now - t0) / span;
            var temperature = hot * Math.Pow(cold / hot, fraction);
            // Unroll a few steps between clock reads.
            for (var i = 0; i < 8; i++)
            {
                Step(temperature);
            }
        }
        return _best.Routes();
    }

    private void Step(double temperature)
    {
        Iterations++;
        _work.CopyFrom(_current);
        var removed = Ruin(_work);
        if (!Recreate(_work, removed))
        {
            Failed++;
            return;
        }
        // Accept when the new cost is below the current one plus a random allowance (the threshold form of annealing).
        var allowance = -temperature * Math.Log(_rng.NextDouble() + 1e-300);
        if (_work.Cost < _current.Cost + allowance)
        {
            (_current, _work) = (_work, _current);
            Accepted++;
            if (_current.Cost < _best.Cost)
            {
                _best.CopyFrom(_current);
            }
        }
    }

    private int Ruin(State s)
    {
        _stamp++;
        var used = 0;
        for (var r = 0; r < _slots; r++)
        {
            if (s.Len[r] > 0)
            {
                used++;
            }
        }
        var customers = _n - 1;
        var avgLength = (double)customers / Math.Max(1, used);
        var maxString = Math.Min(_settings.MaxStringLength, avgLength);
        var maxStrings = (4.0 * _settings.MeanRemoved / (1 + maxString)) - 1;
        var strings = (int)(1 + (_rng.NextDouble() * maxStrings));
        var seed = RandomCustomer();
        var count = 0;
        var ruined = 0;
        var near = _near[seed];
        for (var i = -1; i < near.Length && ruined < strings; i++)
        {
            var c = i < 0 ? seed : near[i];
            if (_isRemoved[c])
            {
                continue;
            }
            var r = s.RouteOf[c];
            if (_routeStamp[r] == _stamp)
            {
                continue;
            }
            _routeStamp[r] = _stamp;
            ruined++;
            var len = s.Len[r];
            var lmax = Math.Min(len, maxString);
            var l = Math.Min(len, (int)(1 + (_rng.NextDouble() * lmax)));
            count = RemoveString(s, r, c, l, count);
        }
        for (var i = 0; i < count; i++)
        {
            _isRemoved[_removed[i]] = false;
        }
        return count;
    }

    private int RemoveString(State s, int r, int c, int l, int count)
    {
        var route = s.R[r];
        var len = s.Len[r];
        var pos = Array.IndexOf(route, c, 0, len);
        var keep = 0;
        if (l < len && _rng.NextDouble() < _settings.SplitStringShare)
        {
            // Split string: a window of l + m customers of which m consecutive ones stay.
            keep = 1;
            while (l + keep < len && _rng.NextDouble() > _settings.SplitDepth)
            {
                keep++;
            }
        }
        var window = l + keep;
        var lo = Math.Max(0, pos - window + 1);
        var hi = Math.Min(pos, len - window);
        var start = lo + (int)(_rng.NextDouble() * (hi - lo + 1));
        var keepAt = keep > 0 ? start + (int)(_rng.NextDouble() * (l + 1)) : -1;
        var write = start;
        for (var p = start; p < start + window; p++)
        {
            var x = route[p];
            if (keep > 0 && p >= keepAt && p < keepAt + keep)
            {
                route[write++] = x;
                continue;
            }
            _removed[count++] = x;
            _isRemoved[x] = true;
            s.Load[r] -= _q[x];
        }
        Array.Copy(route, start + window, route, write, len - (start + window));
        s.Len[r] = len - (window - keep);
        var cost = RouteCost(route, s.Len[r]);
        s.Cost += cost - s.RouteCost[r];
        s.RouteCost[r] = cost;
        for (var p = start; p < s.Len[r]; p++)
        {
            s.RouteOf[route[p]] = r;
        }
        return count;
    }

    private bool Recreate(State s, int count)
    {
        SortRemoved(count);
        var n = _n;
        var d = _d;
        var dep = _depot;
        var blink = _settings.BlinkRate;
        for (var i = 0; i < count; i++)
        {
            var c = _removed[i];
            var qc = _q[c];
            var best = long.MaxValue;
            var bestRoute = -1;
            var bestPos = -1;
            var emptyTried = false;
            var rowC = c * n;
            for (var r = 0; r < _slots; r++)
            {
                var len = s.Len[r];
                if (s.Load[r] + qc > _capacity)
                {
                    continue;
                }
                if (len == 0)
                {
                    if (emptyTried)
                    {
                        continue;
                    }
                    emptyTried = true;
                    long delta0 = d[(dep * n) + c] + d[rowC + dep];
                    if (delta0 < best)
                    {
                        best = delta0;
                        bestRoute = r;
                        bestPos = 0;
                    }
                    continue;
                }
                var route = s.R[r];
                var prev = dep;
                for (var p = 0; p <= len; p++)
                {
                    var next = p < len ? route[p] : dep;
                    if (blink <= 0 || _rng.NextDouble() >= blink)
                    {
                        long delta = d[(prev * n) + c] + d[rowC + next] - d[(prev * n) + next];
                        if (delta < best)
                        {
                            best = delta;
                            bestRoute = r;
                            bestPos = p;
                        }
                    }
                    prev = next;
                }
            }
            if (bestRoute < 0)
            {
                return false;
            }
            Insert(s, bestRoute, bestPos, c);
            s.Cost += best;
            s.RouteCost[bestRoute] += best;
        }
        return true;
    }

    private void Insert(State s, int r, int pos, int c)
    {
        var route = s.R[r];
        var len = s.Len[r];
        Array.Copy(route, pos, route, pos + 1, len - pos);
        route[pos] = c;
        s.Len[r] = len + 1;
        s.Load[r] += _q[c];
        for (var p = pos; p <= len; p++)
        {
            s.RouteOf[route[p]] = r;
        }
    }

    private void SortRemoved(int count)
    {
        // The order in which removed customers go back: at random, by demand (largest first), far from the depot first, or
        // close to the depot first, in proportions 4 : 4 : 2 : 1.
        var pick = _rng.NextDouble() * 11;
        var row = _depot * _n;
        for (var i = 0; i < count; i++)
        {
            var c = _removed[i];
            _keys[i] = pick switch
            {
                < 4 => _rng.NextDouble(),
                < 8 => -_q[c] - (_rng.NextDouble() * 0.5),
                < 10 => -_d[row + c] - (_rng.NextDouble() * 0.5),
                _ => _d[row + c] + (_rng.NextDouble() * 0.5),
            };
        }
        Array.Sort(_keys, _removed, 0, count);
    }

    private int RandomCustomer()
    {
        while (true)
        {
            var c = (int)(_rng.NextDouble() * _n);
            if (c != _depot && c < _n)
            {
                return c;
            }
        }
    }

    private long RouteCost(int[] route, int len)
    {
        if (len == 0)
        {
            return 0;
        }
        var n = _n;
        long cost = _d[(_depot * n) + route[0]];
        for (var p = 1; p < len; p++)
        {
            cost += _d[(route[p - 1] * n) + route[p]];
        }
        return cost + _d[(route[len - 1] * n) + _depot];
    }

    private sealed class State
    {
        public long CostField;

        public State(int slots, int n)
        {
            R = new int[slots][];
            for (var r = 0; r < slots; r++)
            {
                R[r] = new int[n];
            }
            Len = new int[slots];
            Load = new int[slots];
            RouteCost = new long[slots];
            RouteOf = new int[n];
        }

        public int[][] R { get; }

        public int[] Len { get; }

        public int[] Load { get; }

        public long[] RouteCost { get; }

        public int[] RouteOf { get; }

        public long Cost
        {
            get => CostField;
            set => CostField = value;
        }

        public void Set(IReadOnlyList<int[]> routes, RuinRecreate owner)
        {
            if (routes.Count(r => r.Length > 0) > R.Length)
            {
                throw new ArgumentException($"{routes.Count(r => r.Length > 0)} routes for {R.Length} vehicles", nameof(routes));
            }
            Array.Clear(Len);
            var slot = 0;
            Cost = 0;
            foreach (var route in routes.Where(r => r.Length > 0))
            {
                route.CopyTo(R[slot], 0);
                Len[slot] = route.Length;
                Load[slot] = route.Sum(c => owner._q[c]);
                RouteCost[slot] = owner.RouteCost(R[slot], route.Length);
                Cost += RouteCost[slot];
                foreach (var c in route)
                {
                    RouteOf[c] = slot;
                }
                slot++;
            }
            for (; slot < R.Length; slot++)
            {
                Load[slot] = 0;
                RouteCost[slot] = 0;
            }
        }

        public void CopyFrom(State other)
        {
            for (var r = 0; r < R.Length; r++)
            {
                Array.Copy(other.R[r], R[r], other.Len[r]);
            }
            Array.Copy(other.Len, Len, Len.Length);
            Array.Copy(other.Load, Load, Load.Length);
            Array.Copy(other.RouteCost, RouteCost, RouteCost.Length);
            Array.Copy(other.RouteOf, RouteOf, RouteOf.Length);
            Volatile.Write(ref CostField, other.CostField);
        }

        public int[][] Routes() => [.. Enumerable.Range(0, R.Length).Where(r => Len[r] > 0).Select(r => R[r][..Len[r]])];
    }

    /// <summary>xorshift64*: fast, and the same seed gives the same search.</summary>
    private sealed class Xorshift(ulong seed)
    {
        private ulong _s = seed == 0 ? 0x9E3779B97F4A7C15UL : seed;

        public double NextDouble()
        {
            _s ^= _s >> 12;
            _s ^= _s << 25;
            _s ^= _s >> 27;
            return ((_s * 0x2545F4914F6CDD1DUL) >> 11) * (1.0 / (1UL << 53));
        }
    }
}

/// <summary>Settings of <see cref="RuinRecreate"/>; temperatures are in multiples of the start solution's cost per customer.</summary>
internal sealed record RuinRecreateSettings
{
    public double MeanRemoved { get; init; } = 10;

    public double MaxStringLength { get; init; } = 10;

    public double SplitStringShare { get; init; } = 0.5;

    /// <summary>The chance that a split string stops growing the part it keeps, at each customer.</summary>
    public double SplitDepth { get; init; } = 0.5;

    public double BlinkRate { get; init; } = 0.01;

    public double StartTemperature { get; init; } = 0.5;

    public double EndTemperature { get; init; } = 0.002;
}
