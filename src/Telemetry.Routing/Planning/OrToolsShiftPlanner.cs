using System.Diagnostics;
using System.Globalization;
using Google.OrTools.ConstraintSolver;
using Google.Protobuf.WellKnownTypes;
using Telemetry.Fleet;
using Telemetry.Routing.Travel;

namespace Telemetry.Routing.Planning;

/// <summary>
/// Plans a stream's shift with Google OR-Tools' routing solver: a capacitated vehicle routing problem with reloads at the
/// stream's facility, the shift as every vehicle's time window, and optional jobs dropped at a penalty. docs/routing.md
/// describes the model.
/// </summary>
public sealed class OrToolsShiftPlanner : IShiftPlanner
{
    /// <summary>Loads are counted in tenths of a kg (the solver works in whole numbers).</summary>
    private const double LoadUnitsPerKg = 10;

    private readonly FleetRegistry _registry;
    private readonly ITravelCostProvider _travel;
    private readonly TimeProvider _time;
    private readonly ShiftPlannerOptions _options;

    public OrToolsShiftPlanner(FleetRegistry registry, ITravelCostProvider travel, TimeProvider time, ShiftPlannerOptions options)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(travel);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", errors), nameof(options));
        }
        _registry = registry;
        _travel = travel;
        _time = time;
        _options = options;
    }

    public async Task<ShiftPlan> PlanAsync(ShiftPlanRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.ShiftEnd <= request.ShiftStart)
        {
            throw new ArgumentException($"the shift ends ({request.ShiftEnd:O}) before it starts ({request.ShiftStart:O})", nameof(request));
        }
        var started = _time.GetTimestamp();
        var facility = _registry.Facility(request.Stream.Destination());
        var vehicles = request.Vehicles.Where(v => v.Stream == request.Stream).ToList();
        var progress = request.Progress ?? new Dictionary<string, VehicleProgress>();
        var served = progress.Where(p => vehicles.Any(v => v.Id == p.Key))
            .SelectMany(p => p.Value.Served).Select(s => s.JobId).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var unserved = new List<UnservedJob>();
        var jobs = new List<(RouteJob Job, Bin Bin)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var maxCapacity = vehicles.Count == 0 ? 0 : vehicles.Max(v => v.CapacityKg);
        foreach (var job in request.Jobs)
        {
            if (served.Contains(job.JobId))
            {
                continue; // served already on this shift: it is in its vehicle's progress
            }
            if (Refuse(job, maxCapacity, vehicles.Count, seen) is { } reason)
            {
                unserved.Add(new UnservedJob(job.JobId, job.Bin, reason));
                continue;
            }
            jobs.Add((job, _registry.FindBin(job.Bin)!));
        }

        var starts = vehicles.Select(v => Start(v, request, progress)).ToList();
        var points = new List<GeoPoint>();
        var pointOf = new Dictionary<GeoPoint, int>();
        int PointOf(GeoPoint p)
        {
            if (!pointOf.TryGetValue(p, out var i))
            {
                pointOf[p] = i = points.Count;
                points.Add(p);
            }
            return i;
        }
        var facilityPoint = PointOf(facility.Location);
        var depotPoints = vehicles.Select(v => PointOf(Depot(v).Location)).ToArray();
        var startPoints = starts.Select(s => PointOf(s.Location)).ToArray();
        var jobPoints = jobs.Select(j => PointOf(j.Bin.Location)).ToArray();
        var matrix = vehicles.Count == 0 && jobs.Count == 0
            ? new TravelMatrix(points, new double[points.Count, points.Count], new double[points.Count, points.Count])
            : await _travel.MatrixAsync(points, cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();

        var problem = new Problem(request, facility, vehicles, starts, jobs, matrix, facilityPoint, depotPoints, startPoints, jobPoints, _options);
        // Jobs that no vehicle could serve and unload within the shift even as its only stop are left out before solving.
        var reachable = new List<int>();
        for (var j = 0; j < jobs.Count; j++)
        {
            if (problem.Reachable(j) is { } reason)
            {
                unserved.Add(new UnservedJob(jobs[j].Job.JobId, jobs[j].Job.Bin, reason));
            }
            else
            {
                reachable.Add(j);
            }
        }

        var solved = vehicles.Count == 0 ? null : await Task.Run(() => problem.Solve(reachable, request.SolverTime), cancellationToken).ConfigureAwait(false);
        var routes = new List<PlannedRoute>();
        string status;
        if (solved is null)
        {
            status = "infeasible";
            foreach (var j in reachable)
            {
                unserved.Add(new UnservedJob(jobs[j].Job.JobId, jobs[j].Job.Bin,
                    vehicles.Count == 0 ? $"no {request.Stream.Name()} vehicle works this shift" : "the solver found no plan for the shift"));
            }
        }
        else
        {
            status = solved.Status;
            for (var v = 0; v < vehicles.Count; v++)
            {
                if (problem.Route(v, solved.Sequences[v]) is { } route)
                {
                    routes.Add(route);
                }
            }
            var visited = solved.Sequences.SelectMany(s => s).ToHashSet();
            foreach (var j in reachable.Where(j => !visited.Contains(problem.JobNode(j))))
            {
                var job = jobs[j].Job;
                unserved.Add(new UnservedJob(job.JobId, job.Bin, job.Urgent
                    ? $"no room in the shift: its {vehicles.Count} vehicle(s) cannot reach it before {Clock(request.ShiftEnd)} with the more urgent jobs served"
                    : $"no room in the shift: its {vehicles.Count} vehicle(s) have no time or capacity left for it after the urgent and earlier-due jobs"));
            }
        }
        return new ShiftPlan(request.Stream, request.ShiftStart, request.ShiftEnd, routes, unserved, status, _time.GetElapsedTime(started));
    }

    private string? Refuse(RouteJob job, double maxCapacity, int vehicles, HashSet<string> seen)
    {
        if (!seen.Add(job.JobId))
        {
            return "the job is listed twice";
        }
        if (_registry.FindBin(job.Bin) is not { } bin)
        {
            return $"no bin '{job.Bin}' in the registry";
        }
        if (job.Compartments.FirstOrDefault(c => bin.FindCompartment(c) is null) is { } missing)
        {
            return $"bin {bin.Id} has no compartment '{missing}'";
        }
        if (!double.IsFinite(job.Kg) || job.Kg < 0)
        {
            return $"its load ({job.Kg.ToString(CultureInfo.InvariantCulture)} kg) is not a weight";
        }
        if (vehicles == 0)
        {
            return "no vehicle of the stream works this shift";
        }
        if (job.Kg > maxCapacity)
        {
            return string.Create(CultureInfo.InvariantCulture, $"its load of {job.Kg:0.#} kg is more than any vehicle carries (the largest takes {maxCapacity:0.#} kg)");
        }
        return null;
    }

    private Facility Depot(Vehicle v) =>
        _registry.Facilities.FirstOrDefault(f => f.Id == v.Depot && f.Kind == FacilityKind.Depot) ?? _registry.Facility(FacilityKind.Depot);

    private VehicleStart Start(Vehicle v, ShiftPlanRequest request, IReadOnlyDictionary<string, VehicleProgress> progress)
    {
        if (progress.TryGetValue(v.Id, out var p))
        {
            var at = p.At > request.ShiftStart ? p.At : request.ShiftStart;
            return new VehicleStart(p.Position, at, Math.Max(0, p.LoadKg), p);
        }
        return new VehicleStart(Depot(v).Location, request.ShiftStart, 0, null);
    }

    private static string Clock(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    /// <summary>Where and when a vehicle starts: its depot at the shift's start, or on a re-plan where it is with what it carries.</summary>
    private sealed record VehicleStart(GeoPoint Location, DateTimeOffset At, double LoadKg, VehicleProgress? Progress);

    private sealed record Solved(string Status, IReadOnlyList<IReadOnlyList<int>> Sequences);

    /// <summary>
    /// The routing model's nodes: 0 is the facility where every route ends (the last unload, followed by the way to the
    /// depot, which is fixed per vehicle); then one start node per vehicle; then one node per job; then the optional reload
    /// visits to the facility during the shift.
    /// </summary>
    private sealed class Problem
    {
        private readonly ShiftPlanRequest _request;
        private readonly Facility _facility;
        private readonly IReadOnlyList<Vehicle> _vehicles;
        private readonly IReadOnlyList<VehicleStart> _starts;
        private readonly IReadOnlyList<(RouteJob Job, Bin Bin)> _jobs;
        private readonly TravelMatrix _matrix;
        private readonly int _facilityPoint;
        private readonly int[] _depotPoints;
        private readonly int[] _startPoints;
        private readonly int[] _jobPoints;
        private readonly ShiftPlannerOptions _options;
        private readonly long _horizon;

        public Problem(
            ShiftPlanRequest request, Facility facility, IReadOnlyList<Vehicle> vehicles, IReadOnlyList<VehicleStart> starts,
            IReadOnlyList<(RouteJob Job, Bin Bin)> jobs, TravelMatrix matrix, int facilityPoint, int[] depotPoints, int[] startPoints, int[] jobPoints,
            ShiftPlannerOptions options)
        {
            _request = request;
            _facility = facility;
            _vehicles = vehicles;
            _starts = starts;
            _jobs = jobs;
            _matrix = matrix;
            _facilityPoint = facilityPoint;
            _depotPoints = depotPoints;
            _startPoints = startPoints;
            _jobPoints = jobPoints;
            _options = options;
            _horizon = Seconds(request.ShiftEnd - request.ShiftStart);
        }

        private int FirstJobNode => 1 + _vehicles.Count;

        public int JobNode(int job) => FirstJobNode + job;

        private static long Seconds(TimeSpan t) => (long)Math.Ceiling(t.TotalSeconds);

        private long TravelSeconds(int from, int to) => (long)Math.Ceiling(_matrix.Seconds[from, to]);

        private long Metres(int from, int to) => (long)Math.Round(_matrix.Metres[from, to]);

        private TimeSpan Service(RouteJob job) => _options.ServiceTime(job.Compartments.Count);

        /// <summary>The latest time (seconds into the shift) a vehicle may finish its last unload and still be at its depot by the shift's end.</summary>
        private long EndLimit(int v)
        {
            var latest = _horizon - TravelSeconds(_facilityPoint, _depotPoints[v]) - Seconds(_options.UnloadTime);
            // A vehicle already out on a re-plan must get home even when that runs late: the plan then ends after the shift.
            var earliest = StartOffset(v) + TravelSeconds(_startPoints[v], _facilityPoint);
            return Math.Max(latest, earliest);
        }

        private long StartOffset(int v) => Seconds(_starts[v].At - _request.ShiftStart);

        /// <summary>Why no vehicle can serve job <paramref name="j"/> within the shift even as its only stop, or null when one can.</summary>
        public string? Reachable(int j)
        {
            var job = _jobs[j].Job;
            var best = long.MaxValue;
            for (var v = 0; v < _vehicles.Count; v++)
            {
                if (job.Kg > _vehicles[v].CapacityKg)
                {
                    continue;
                }
                var end = StartOffset(v) + TravelSeconds(_startPoints[v], _jobPoints[j]) + Seconds(Service(job)) + TravelSeconds(_jobPoints[j], _facilityPoint);
                if (_starts[v].LoadKg + job.Kg > _vehicles[v].CapacityKg)
                {
                    end += TravelSeconds(_startPoints[v], _facilityPoint) + Seconds(_options.UnloadTime); // a rough bound: unload first
                }
                best = Math.Min(best, end - EndLimit(v));
            }
            if (best <= 0)
            {
                return null;
            }
            return best == long.MaxValue
                ? "more than any vehicle of the shift carries"
                : $"too far for the shift: a vehicle that went there first would be back at the depot {Math.Ceiling(best / 60.0)} min after the shift ends";
        }

        public Solved Solve(IReadOnlyList<int> jobs, TimeSpan solverTime)
        {
            // A search stopped by a very short limit (or a busy machine) can end with little or nothing served; the greedy plan
            // stands in whenever it is better, and when there is no time at all.
            var greedy = Greedy(jobs);
            var solved = solverTime > TimeSpan.Zero ? Solve(jobs, solverTime, FirstSolutionStrategy.Types.Value.ParallelCheapestInsertion) : null;
            return solved is not null && Cost(solved, jobs) <= Cost(greedy, jobs) ? solved : greedy;
        }

        /// <summary>
        /// The model's objective for a plan: the penalties of the jobs it drops, the metres driven, and what reaching jobs after
        /// their deadlines costs (<see cref="ShiftPlannerOptions.LatePenaltyPerMinute"/>).
        /// </summary>
        private long Cost(Solved solved, IReadOnlyList<int> jobs)
        {
            var visited = solved.Sequences.SelectMany(s => s).ToHashSet();
            var cost = jobs.Where(j => !visited.Contains(JobNode(j))).Sum(j => Penalty(_jobs[j].Job));
            var reload = FirstJobNode + _jobs.Count;
            for (var v = 0; v < solved.Sequences.Count; v++)
            {
                var here = _startPoints[v];
                var at = StartOffset(v);
                var service = 0L;
                foreach (var node in solved.Sequences[v])
                {
                    var to = node >= reload ? _facilityPoint : _jobPoints[node - FirstJobNode];
                    cost += Metres(here, to);
                    at += service + TravelSeconds(here, to);
                    if (node < reload)
                    {
                        var job = _jobs[node - FirstJobNode].Job;
                        cost += LateCost(job, at);
                        service = Seconds(Service(job));
                    }
                    else
                    {
                        service = Seconds(_options.UnloadTime);
                    }
                    here = to;
                }
                cost += solved.Sequences[v].Count == 0 ? 0 : Metres(here, _facilityPoint) + Metres(_facilityPoint, _depotPoints[v]);
            }
            return cost;
        }

        /// <summary>
        /// A plan without the solver: each vehicle in turn takes the nearest job it can still serve and unload within the shift
        /// (urgent jobs first), unloading at the facility whenever the next job would overfill it.
        /// </summary>
        private Solved Greedy(IReadOnlyList<int> jobs)
        {
            var left = jobs.OrderByDescending(j => _jobs[j].Job.Urgent).ToList();
            var sequences = new List<IReadOnlyList<int>>();
            var reload = FirstJobNode + _jobs.Count; // any node from here on is a visit to the facility
            for (var v = 0; v < _vehicles.Count; v++)
            {
                var sequence = new List<int>();
                var here = _startPoints[v];
                var at = StartOffset(v);
                var load = _starts[v].LoadKg;
                var capacity = _vehicles[v].CapacityKg;
                var unload = Seconds(_options.UnloadTime);
                while (true)
                {
                    var best = -1;
                    var bestArrival = long.MaxValue;
                    var bestUrgent = false;
                    foreach (var j in left)
                    {
                        var job = _jobs[j].Job;
                        if (job.Kg > capacity || (bestUrgent && !job.Urgent))
                        {
                            continue;
                        }
                        var full = load + job.Kg > capacity;
                        var arrival = full
                            ? at + TravelSeconds(here, _facilityPoint) + unload + TravelSeconds(_facilityPoint, _jobPoints[j])
                            : at + TravelSeconds(here, _jobPoints[j]);
                        var done = arrival + Seconds(Service(job)) + TravelSeconds(_jobPoints[j], _facilityPoint);
                        if (done <= EndLimit(v) && (arrival < bestArrival || (job.Urgent && !bestUrgent)))
                        {
                            (best, bestArrival, bestUrgent) = (j, arrival, job.Urgent);
                        }
                    }
                    if (best < 0)
                    {
                        break;
                    }
                    var chosen = _jobs[best].Job;
                    if (load + chosen.Kg > capacity)
                    {
                        sequence.Add(reload);
                        load = 0;
                    }
                    sequence.Add(JobNode(best));
                    load += chosen.Kg;
                    at = bestArrival + Seconds(Service(chosen));
                    here = _jobPoints[best];
                    left.Remove(best);
                }
                sequences.Add(sequence);
            }
            return new Solved("time-limit", sequences);
        }

        private Solved? Solve(IReadOnlyList<int> jobs, TimeSpan solverTime, FirstSolutionStrategy.Types.Value firstSolution)
        {
            var vehicles = _vehicles.Count;
            var capacities = _vehicles.Select(v => (long)Math.Floor(v.CapacityKg * LoadUnitsPerKg)).ToArray();
            var maxCapacity = capacities.Max();
            var totalKg = jobs.Sum(j => _jobs[j].Job.Kg) + _starts.Sum(s => s.LoadKg);
            var minCapacityKg = _vehicles.Min(v => v.CapacityKg);
            // Enough reload visits for the whole load carried by the smallest vehicle; each route's last unload is its end.
            var reloads = (int)Math.Min(jobs.Count + vehicles, Math.Ceiling(totalKg / minCapacityKg));
            var nodes = FirstJobNode + _jobs.Count + reloads;
            var firstReload = FirstJobNode + _jobs.Count;

            var point = new int[nodes];
            var service = new long[nodes];
            var demand = new long[nodes];
            point[0] = _facilityPoint;
            for (var v = 0; v < vehicles; v++)
            {
                point[1 + v] = _startPoints[v];
            }
            for (var j = 0; j < _jobs.Count; j++)
            {
                point[JobNode(j)] = _jobPoints[j];
                service[JobNode(j)] = Seconds(Service(_jobs[j].Job));
                demand[JobNode(j)] = (long)Math.Ceiling(_jobs[j].Job.Kg * LoadUnitsPerKg);
            }
            for (var r = firstReload; r < nodes; r++)
            {
                point[r] = _facilityPoint;
                service[r] = Seconds(_options.UnloadTime);
                demand[r] = -maxCapacity;
            }
            var distance = new long[nodes][];
            var time = new long[nodes][];
            for (var a = 0; a < nodes; a++)
            {
                distance[a] = new long[nodes];
                time[a] = new long[nodes];
                for (var b = 0; b < nodes; b++)
                {
                    if (a != b)
                    {
                        distance[a][b] = Metres(point[a], point[b]);
                        time[a][b] = service[a] + TravelSeconds(point[a], point[b]);
                    }
                }
            }

            using var manager = new RoutingIndexManager(nodes, vehicles, Enumerable.Range(1, vehicles).ToArray(), new int[vehicles]);
            using var routing = new RoutingModel(manager);
            var distanceCallback = routing.RegisterTransitMatrix(distance);
            routing.SetArcCostEvaluatorOfAllVehicles(distanceCallback);
            for (var v = 0; v < vehicles; v++)
            {
                // The way home from the facility, paid by every vehicle that goes out.
                routing.SetFixedCostOfVehicle(Metres(_facilityPoint, _depotPoints[v]), v);
            }

            var loadCallback = routing.RegisterUnaryTransitVector(demand);
            routing.AddDimensionWithVehicleCapacity(loadCallback, maxCapacity, capacities, false, "Load");
            var load = routing.GetDimensionOrDie("Load");
            var timeCallback = routing.RegisterTransitMatrix(time);
            routing.AddDimension(timeCallback, 0, Math.Max(_horizon, Enumerable.Range(0, vehicles).Max(EndLimit)), false, "Time");
            var clock = routing.GetDimensionOrDie("Time");

            for (var v = 0; v < vehicles; v++)
            {
                var start = routing.Start(v);
                load.CumulVar(start).SetValue(Math.Min(capacities[v], (long)Math.Ceiling(_starts[v].LoadKg * LoadUnitsPerKg)));
                load.SlackVar(start).SetValue(0);
                clock.CumulVar(start).SetMin(StartOffset(v));
                clock.CumulVar(routing.End(v)).SetMax(EndLimit(v));
            }
            var included = jobs.ToHashSet();
            for (var j = 0; j < _jobs.Count; j++)
            {
                var index = manager.NodeToIndex(JobNode(j));
                if (!included.Contains(j))
                {
                    // Refused before solving: optional at no cost, and kept out.
                    routing.AddDisjunction([index], 0);
                    routing.ActiveVar(index).SetValue(0);
                    continue;
                }
                load.SlackVar(index).SetValue(0);
                var job = _jobs[j].Job;
                routing.AddDisjunction([index], Penalty(job));
                if (LateBound(job) is { } late)
                {
                    clock.SetCumulVarSoftUpperBound(index, late.Due, late.PerSecond);
                }
            }
            for (var r = firstReload; r < nodes; r++)
            {
                routing.AddDisjunction([manager.NodeToIndex(r)], 0);
            }

            var parameters = operations_research_constraint_solver.DefaultRoutingSearchParameters();
            parameters.FirstSolutionStrategy = firstSolution;
            parameters.LocalSearchMetaheuristic = LocalSearchMetaheuristic.Types.Value.GuidedLocalSearch;
            parameters.TimeLimit = Duration.FromTimeSpan(solverTime > TimeSpan.Zero ? solverTime : TimeSpan.FromMilliseconds(1));
            if (_options.SolutionLimit > 0)
            {
                parameters.SolutionLimit = _options.SolutionLimit;
            }
            var began = Stopwatch.GetTimestamp();
            var solution = routing.SolveWithParameters(parameters);
            var status = routing.GetStatus();
            var searched = Stopwatch.GetElapsedTime(began);
            if (solution is null)
            {
                return null;
            }
            var sequences = new List<IReadOnlyList<int>>();
            for (var v = 0; v < vehicles; v++)
            {
                var sequence = new List<int>();
                for (var index = solution.Value(routing.NextVar(routing.Start(v))); !routing.IsEnd(index); index = solution.Value(routing.NextVar(index)))
                {
                    sequence.Add(manager.IndexToNode(index));
                }
                sequences.Add(sequence);
            }
            // Guided local search never ends by itself: a search that used its whole time was stopped by the limit (OR-Tools 9.15
            // still says ROUTING_SUCCESS then); one that ended earlier ran out of moves (a small problem).
            var name = status switch
            {
                RoutingSearchStatus.Types.Value.RoutingOptimal => "optimal",
                RoutingSearchStatus.Types.Value.RoutingSuccess when searched < solverTime * 0.95 => "feasible",
                _ => "time-limit",
            };
            return new Solved(name, sequences);
        }

        /// <summary>
        /// A job due within the shift, with a late penalty set: its deadline in seconds from the shift's start (a deadline that has
        /// passed is due at once) and the cost per second late; otherwise null.
        /// </summary>
        private (long Due, long PerSecond)? LateBound(RouteJob job)
        {
            var due = Seconds(job.Deadline - _request.ShiftStart);
            return _options.LatePenaltyPerMinute > 0 && due < _horizon
                ? (Math.Max(0, due), Math.Max(1, (_options.LatePenaltyPerMinute + 30) / 60))
                : null;
        }

        /// <summary>What reaching <paramref name="job"/> at <paramref name="at"/> (seconds from the shift's start) costs in lateness.</summary>
        private long LateCost(RouteJob job, long at) => LateBound(job) is { } late ? Math.Max(0, at - late.Due) * late.PerSecond : 0;

        /// <summary>What dropping a job costs: more for urgent ones, and growing as its deadline nears (8 x at the shift's start).</summary>
        private long Penalty(RouteJob job)
        {
            var hoursLeft = Math.Clamp((job.Deadline - _request.ShiftStart).TotalHours, 0, 168);
            var weight = 1 + (168 - hoursLeft) / 24;
            return (long)Math.Round((job.Urgent ? _options.UrgentDropPenalty : _options.DropPenalty) * weight);
        }

        /// <summary>
        /// Vehicle <paramref name="v"/>'s route from the solver's sequence of nodes, timed by the travel matrix from its start:
        /// null for a vehicle that stays at the depot.
        /// </summary>
        public PlannedRoute? Route(int v, IReadOnlyList<int> sequence)
        {
            var start = _starts[v];
            var firstReload = FirstJobNode + _jobs.Count;
            if (start.Progress is null && !sequence.Any(n => n < firstReload))
            {
                return null;
            }
            var vehicle = _vehicles[v];
            var stops = new List<PlannedStop>();
            var at = start.At;
            var here = _startPoints[v];
            var loadKg = start.LoadKg;
            var metres = 0.0;
            var trips = 0;
            if (start.Progress is { } p)
            {
                stops.AddRange(p.Served);
                metres = p.DistanceKm * 1000;
                trips = p.Trips;
            }
            else
            {
                stops.Add(new PlannedStop(StopKind.Depot, vehicle.Depot, start.Location, at, at, 0));
            }
            void Drive(int to)
            {
                metres += _matrix.Metres[here, to];
                at += TimeSpan.FromSeconds(_matrix.Seconds[here, to]);
                here = to;
            }
            void Unload()
            {
                Drive(_facilityPoint);
                var eta = at;
                at += _options.UnloadTime;
                stops.Add(new PlannedStop(StopKind.Facility, _facility.Id, _facility.Location, eta, at, 0, Kg: -loadKg));
                loadKg = 0;
                trips++;
            }
            foreach (var node in sequence)
            {
                if (node >= firstReload)
                {
                    if (loadKg > 0)
                    {
                        Unload();
                    }
                    continue;
                }
                var (job, bin) = _jobs[node - FirstJobNode];
                Drive(_jobPoints[node - FirstJobNode]);
                var eta = at;
                at += Service(job);
                loadKg += job.Kg;
                stops.Add(new PlannedStop(StopKind.Bin, bin.Id, bin.Location, eta, at, loadKg, job.JobId, job.Compartments, job.Kg));
            }
            if (loadKg > 0)
            {
                Unload();
            }
            Drive(_depotPoints[v]);
            stops.Add(new PlannedStop(StopKind.Depot, vehicle.Depot, _matrix.Points[_depotPoints[v]], at, at, 0));
            return new PlannedRoute(vehicle.Id, stops, metres / 1000, trips);
        }
    }
}
