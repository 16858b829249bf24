using Telemetry.Contracts.Messages;
using Telemetry.Contracts.Readings;
using Telemetry.Fleet;
using Telemetry.Ingestion.Decoding;
using Telemetry.Routing;
using Telemetry.Routing.Driving;
using Telemetry.Routing.Planning;
using Telemetry.Scheduling;
using Telemetry.Scheduling.Alerts;
using Telemetry.Scheduling.Hosting;
using Telemetry.Scheduling.Jobs;
using Telemetry.Simulator;

namespace Telemetry.Benchmarks.Loop;

/// <summary>Which run: the closed loop (sensors decide), or the fixed schedule a district runs today.</summary>
internal enum LoopMode
{
    Loop,
    Baseline,
}

/// <summary>
/// What both runs share: the fleet, the seed, the simulated span (after a warm-up both runs spend identically, the simulator
/// emptying compartments as a district's trucks would, so the fill signal has learned the rhythms), the scheduler's rules, the
/// router's lead and solver time, and the planner.
/// </summary>
internal sealed record LoopSettings(
    FleetRegistry Registry, int Seed, DateTimeOffset Start, int Days, int WarmupDays, AlertOptions Rules,
    IReadOnlyDictionary<WasteStream, TimeSpan> MaxDwell, double PredictedFromPct, IReadOnlyDictionary<WasteStream, TimeSpan> CollectAhead, TimeSpan TickInterval, RoutingPolicy Routing, Func<GeoPoint, GeoPoint, double> Km);

/// <summary>What one simulated day (or the whole run) came to.</summary>
internal sealed class LoopFigures
{
    public double TruckKm { get; set; }
    public int Trips { get; set; }
    public int Stops { get; set; }
    public double OverflowHours { get; set; }
    public int Collected { get; set; }
    public double CollectedFillSum { get; set; }
    public int Alongside { get; set; }
    public double AlongsideFillSum { get; set; }
    public int JobsRaised { get; set; }
    public int JobsCompleted { get; set; }
    public int Plans { get; set; }
    public int Replans { get; set; }
    public int Unserved { get; set; }
    public long RefusedDeposits { get; set; }
    public long Deposits { get; set; }
    public Dictionary<WasteStream, double> KmByStream { get; } = WasteStreams.All.ToDictionary(s => s, _ => 0.0);
    public Dictionary<WasteStream, double> OverflowByStream { get; } = WasteStreams.All.ToDictionary(s => s, _ => 0.0);
    public Dictionary<WasteStream, int> PlansByStream { get; } = WasteStreams.All.ToDictionary(s => s, _ => 0);
    /// <summary>Shifts that started without being driven, their jobs waiting for the following shift (Routing:WaitOverflowHours).</summary>
    public Dictionary<WasteStream, int> WaitedByStream { get; } = WasteStreams.All.ToDictionary(s => s, _ => 0);
    public Dictionary<WasteStream, int> CollectedByStream { get; } = WasteStreams.All.ToDictionary(s => s, _ => 0);
    public Dictionary<WasteStream, double> CollectedFillByStream { get; } = WasteStreams.All.ToDictionary(s => s, _ => 0.0);
    public Dictionary<string, int> JobsByReason { get; } = new(StringComparer.Ordinal);
    public TimeSpan SolverTime { get; set; }
    public Dictionary<string, int> PlansByStatus { get; } = new(StringComparer.Ordinal);

    public double FillAtCollectionPct => Collected == 0 ? 0 : CollectedFillSum / Collected;

    public double AlongsideFillPct => Alongside == 0 ? 0 : AlongsideFillSum / Alongside;
}

/// <summary>
/// One run of <c>bench loop</c> in simulated time, stepped in lockstep (no wall clock anywhere but the solver's time limit): the
/// simulator's messages are decoded as ingestion decodes them, fed to the fill signal and (closed loop) the scheduler, whose
/// jobs go to the router; the router plans each stream's shift at its lead time; trucks drive the plans, and at each bin stop's
/// ETA the simulator empties that bin's compartments of the stream; the scheduler sees the emptying in the readings and closes
/// the job. The baseline plans the same shifts with the same router, but with a job for every bin on the fixed schedule.
/// </summary>
internal sealed class LoopRun
{
    private readonly LoopSettings _s;
    private readonly LoopMode _mode;
    private readonly IShiftPlanner _planner;
    private readonly Action<string> _progress;
    private readonly FleetSimulation _sim;
    private readonly DeviceMessageDecoder _decoder;
    private readonly LoopSignal _signal;
    private readonly SchedulerCore? _core;
    private readonly RoutingCore _routing;
    private readonly Dictionary<string, (RouteDrive Drive, WasteStream Stream)> _drives = new(StringComparer.Ordinal);
    private readonly List<SimulatedOutput> _outputs = [];
    private readonly List<Reading> _readings = [];
    private readonly HashSet<string> _scheduled = new(StringComparer.Ordinal);
    private readonly LoopFigures _total = new();
    private LoopFigures _day = new();
    private IReadOnlyList<string>? _named;
    private bool _measuring;

    public LoopRun(LoopSettings settings, LoopMode mode, IShiftPlanner planner, Action<string> progress)
    {
        _s = settings;
        _mode = mode;
        _planner = planner;
        _progress = progress;
        var warmStart = settings.Start - TimeSpan.FromDays(settings.WarmupDays);
        _sim = new FleetSimulation(settings.Registry, settings.Seed, warmStart, new SimulationOptions { SelfCollect = true });
        _sim.Emptied = OnEmptied;
        _decoder = new DeviceMessageDecoder(settings.Registry, new DecoderSettings());
        _signal = new LoopSignal(settings.Registry, settings.Rules.ThresholdPct, predict: mode == LoopMode.Loop);
        _core = mode == LoopMode.Loop ? new SchedulerCore(settings.Registry, settings.Rules, settings.MaxDwell, settings.PredictedFromPct, settings.CollectAhead) : null;
        _routing = new RoutingCore(settings.Registry, settings.Routing, _signal.LatestKg, settings.Km);
    }

    public LoopMode Mode => _mode;

    public async Task<LoopFigures> RunAsync(CancellationToken ct)
    {
        // Warm-up: the simulator plays the trucks (identically in both runs); the signal and the scheduler learn, nothing is planned.
        for (var t = _s.Start - TimeSpan.FromDays(_s.WarmupDays); t < _s.Start;)
        {
            t += TimeSpan.FromHours(1);
            Advance(t);
        }
        _sim.SelfCollecting = false;
        _measuring = true;
        var overflowAtStart = _sim.OverflowHours();
        var overflowByStreamAtStart = WasteStreams.All.ToDictionary(s => s, s => _sim.OverflowHours(s));
        var refusedAtStart = _sim.RefusedDeposits;
        var depositsAtStart = _sim.Deposits;
        var end = _s.Start + TimeSpan.FromDays(_s.Days);
        var dayEnd = _s.Start + TimeSpan.FromDays(1);
        var dayOverflow = overflowAtStart;
        var dayRefused = refusedAtStart;
        var dayDeposits = depositsAtStart;
        var dayNumber = 1;
        for (var t = _s.Start; t < end;)
        {
            ct.ThrowIfCancellationRequested();
            var next = t + _s.TickInterval;
            // Each truck's stops in time order up to the next tick, the simulation brought to each ETA first.
            while (NextArrival() is { } eta && eta <= next)
            {
                Advance(eta);
                foreach (var (vehicle, (drive, stream)) in _drives.Where(d => d.Value.Drive.NextArrivalAt == eta).OrderBy(d => d.Key, StringComparer.Ordinal).ToList())
                {
                    foreach (var arrival in drive.TakeArrivals(eta))
                    {
                        Arrive(drive, stream, arrival);
                    }
                }
                Process();
            }
            Advance(next);
            t = next;
            await DecideAsync(t, ct);
            if (t >= dayEnd)
            {
                _day.OverflowHours = _sim.OverflowHours() - dayOverflow;
                _day.RefusedDeposits = _sim.RefusedDeposits - dayRefused;
                _day.Deposits = _sim.Deposits - dayDeposits;
                dayOverflow = _sim.OverflowHours();
                dayRefused = _sim.RefusedDeposits;
                dayDeposits = _sim.Deposits;
                _progress(Day(dayNumber, _day));
                _day = new LoopFigures();
                dayNumber++;
                dayEnd += TimeSpan.FromDays(1);
            }
        }
        _total.OverflowHours = _sim.OverflowHours() - overflowAtStart;
        foreach (var s in WasteStreams.All)
        {
            _total.OverflowByStream[s] = _sim.OverflowHours(s) - overflowByStreamAtStart[s];
        }
        _total.RefusedDeposits = _sim.RefusedDeposits - refusedAtStart;
        _total.Deposits = _sim.Deposits - depositsAtStart;
        return _total;
    }

    private string Day(int n, LoopFigures d) =>
        FormattableString.Invariant($"{(_mode == LoopMode.Loop ? "loop    " : "baseline")} day {n,2}/{_s.Days}: {d.TruckKm,7:0.0} km, {d.Trips,3} trips, {d.Stops,3} stops, overflow {d.OverflowHours,6:0.0} h, fill at collection {d.FillAtCollectionPct,5:0.0} % ({d.Collected} compartments; {d.Alongside} alongside at {d.AlongsideFillPct:0.0} %), refused deposits {d.RefusedDeposits}; km {string.Join(" ", d.KmByStream.Select(x => $"{x.Key.Name()[..3]} {x.Value:0}"))}")
        + (_mode == LoopMode.Loop
            ? FormattableString.Invariant($", jobs {d.JobsRaised} raised / {d.JobsCompleted} completed, {d.Plans} plans ({d.Replans} re-plans), {d.Unserved} unserved")
            : FormattableString.Invariant($", {d.Plans} plans, {d.Unserved} unserved"));

    private DateTimeOffset? NextArrival()
    {
        DateTimeOffset? min = null;
        foreach (var (drive, _) in _drives.Values)
        {
            if (drive.NextArrivalAt is { } at && (min is null || at < min))
            {
                min = at;
            }
        }
        return min;
    }

    /// <summary>The simulation up to <paramref name="until"/>, its messages through decoding, the signal and the scheduler.</summary>
    private void Advance(DateTimeOffset until)
    {
        _sim.RunUntil(until, _outputs.Add);
        Process();
    }

    private void Process()
    {
        if (_outputs.Count == 0)
        {
            return;
        }
        _readings.Clear();
        foreach (var o in _outputs)
        {
            if (o.Kind != SimulatedOutputKind.Message)
            {
                continue;
            }
            var decoded = _decoder.Decode(o.Topic!, o.Payload!, o.At);
            if (!decoded.IsAccepted)
            {
                throw new InvalidOperationException($"the simulator's message on {o.Topic} was rejected: {decoded.Rejection}");
            }
            _readings.AddRange(decoded.Readings);
        }
        _outputs.Clear();
        if (_signal.Take(_readings) is { } batch && _core is not null)
        {
            Jobs(_core.Observe(batch), _sim.Now);
        }
    }

    private void Jobs(SchedulerOutput output, DateTimeOffset now)
    {
        foreach (var e in output.Jobs)
        {
            switch (e.Type)
            {
                case JobStates.Requested:
                    if (_measuring)
                    {
                        Count(f => f.JobsRaised++);
                        Count(f => f.JobsByReason[e.Job.Reason] = f.JobsByReason.GetValueOrDefault(e.Job.Reason) + 1);
                    }
                    _routing.Add(e.Job.Info(), now);
                    break;
                case JobStates.Completed or JobStates.Cancelled:
                    if (_measuring && e.Type == JobStates.Completed)
                    {
                        Count(f => f.JobsCompleted++);
                    }
                    _routing.Remove(e.Job.Id);
                    break;
                default:
                    break;
            }
        }
    }

    private void Count(Action<LoopFigures> add)
    {
        add(_total);
        add(_day);
    }

    /// <summary>A tick: the scheduler decides (closed loop) or the fixed schedule names its rounds (baseline); due shifts are planned.</summary>
    private async Task DecideAsync(DateTimeOffset now, CancellationToken ct)
    {
        if (_core is not null)
        {
            Jobs(_core.Tick(now, plan: true), now);
            foreach (var due in _routing.Due(now))
            {
                await PlanAsync(due, now, ct);
            }
            foreach (var waited in _routing.TakeWaited(now))
            {
                Count(f => f.WaitedByStream[waited.Shift.Stream]++);
            }
            _routing.Prune(now - TimeSpan.FromDays(2));
            return;
        }
        foreach (var stream in WasteStreams.All)
        {
            // The day's first shift of the stream, on the days its fixed round runs.
            foreach (var shift in _routing.Shifts(stream, now, now + _s.Routing.LeadTime).Where(s => s.Start > now && s.Start <= now + _s.Routing.LeadTime))
            {
                if (!FixedSchedule.Runs(stream, shift, _routing, _s.Registry.TimeZone) || !_scheduled.Add(shift.PlanId))
                {
                    continue;
                }
                var ids = new List<string>();
                foreach (var bin in _s.Registry.Bins)
                {
                    var compartments = bin.Compartments.Where(c => c.Stream == stream).Select(c => c.Id).ToList();
                    if (compartments.Count == 0)
                    {
                        continue;
                    }
                    var id = $"{bin.Id}:{stream.Name()}:{shift.Start.ToUnixTimeMilliseconds()}";
                    _routing.Add(new CollectionJobInfo(id, bin.Id, compartments, stream.Name(), "schedule", "normal", null, shift.End, JobStates.Requested, null, now, "schedule", null, null, null), now);
                    ids.Add(id);
                }
                foreach (var due in _routing.Due(now, s => s == stream).Where(d => d.Shift.PlanId == shift.PlanId))
                {
                    await PlanAsync(due, now, ct);
                }
                // A fixed round does not carry what it missed to the next shift: those bins wait for their next round.
                foreach (var id in ids)
                {
                    _routing.Remove(id);
                }
            }
        }
        _routing.Prune(now - TimeSpan.FromDays(2));
    }

    private async Task PlanAsync(DuePlan due, DateTimeOffset now, CancellationToken ct)
    {
        var plan = due.Request.Jobs.Count == 0
            ? new ShiftPlan(due.Shift.Stream, due.Shift.Start, due.Shift.End, [], [], "no-jobs", TimeSpan.Zero)
            : await _planner.PlanAsync(due.Request, ct);
        _routing.Accept(due, plan, now);
        if (due.Request.Jobs.Count == 0)
        {
            return;
        }
        _total.SolverTime += plan.SolveTime;
        // A search the clock stopped (it used its whole time) may end elsewhere on another run: the figures are reproducible
        // when the solution limit stops every search first.
        var by = plan.SolveTime >= _s.Routing.SolverTime * 0.95 ? "stopped by the time limit" : "stopped by the solution limit or done";
        _total.PlansByStatus[by] = _total.PlansByStatus.GetValueOrDefault(by) + 1;
        Count(f => f.Plans++);
        Count(f => f.PlansByStream[due.Shift.Stream]++);
        Count(f => f.Unserved += plan.Unserved.Count);
        if (due.Replan)
        {
            Count(f => f.Replans++);
        }
        foreach (var route in plan.Routes)
        {
            if (_drives.TryGetValue(route.Vehicle, out var old) && !old.Drive.Finished)
            {
                if (!due.Replan)
                {
                    throw new InvalidOperationException($"vehicle {route.Vehicle} got a plan for the shift from {due.Shift.Start:O} before finishing its last route");
                }
                // Re-planned on the way: the part of the leg it was driving counts, then it follows the new route.
                var p = old.Drive.PositionAt(now);
                if (p.State == DriveState.Driving)
                {
                    var stops = old.Drive.Route.Stops;
                    var leg = stops[p.StopIndex].Eta - stops[p.StopIndex - 1].Departs;
                    var share = leg > TimeSpan.Zero ? (now - stops[p.StopIndex - 1].Departs) / leg : 0;
                    AddKm(due.Shift.Stream, old.Drive.LegKm(p.StopIndex) * share);
                }
            }
            _drives[route.Vehicle] = (new RouteDrive(route, due.Replan ? now : null), due.Shift.Stream);
        }
    }

    private void Arrive(RouteDrive drive, WasteStream stream, StopArrival arrival)
    {
        AddKm(stream, drive.LegKm(arrival.Index));
        var stop = arrival.Stop;
        switch (stop.Kind)
        {
            case StopKind.Facility:
                Count(f => f.Trips++);
                break;
            case StopKind.Bin:
                Count(f => f.Stops++);
                _named = stop.Compartments ?? [];
                _sim.Empty(stop.Place, stream, stop.Eta, _outputs.Add);
                _named = null;
                break;
            default:
                break;
        }
    }

    private void AddKm(WasteStream stream, double km)
    {
        Count(f =>
        {
            f.TruckKm += km;
            f.KmByStream[stream] += km;
        });
    }

    private void OnEmptied(EmptiedCompartment e)
    {
        if (!_measuring)
        {
            return;
        }
        if (_named is not null && _named.Contains(e.Compartment, StringComparer.Ordinal))
        {
            Count(f =>
            {
                f.Collected++;
                f.CollectedFillSum += e.FillPct;
                f.CollectedByStream[e.Stream]++;
                f.CollectedFillByStream[e.Stream] += e.FillPct;
            });
        }
        else
        {
            Count(f =>
            {
                f.Alongside++;
                f.AlongsideFillSum += e.FillPct;
            });
        }
    }
}

/// <summary>
/// The fixed rounds a district runs today: kitchen waste and residual waste every day, recyclables on Mondays and Thursdays,
/// hazardous waste on Mondays, each in the day's first shift of the stream's vehicles (local days).
/// </summary>
internal static class FixedSchedule
{
    public static bool Runs(WasteStream stream, VehicleShift shift, RoutingCore routing, TimeZoneInfo zone)
    {
        var local = TimeZoneInfo.ConvertTime(shift.Start, zone);
        var day = local.DayOfWeek;
        var onDay = stream switch
        {
            WasteStream.Kitchen or WasteStream.Residual => true,
            WasteStream.Recyclable => day is DayOfWeek.Monday or DayOfWeek.Thursday,
            WasteStream.Hazardous => day is DayOfWeek.Monday,
            _ => false,
        };
        if (!onDay)
        {
            return false;
        }
        // The first shift of that local day.
        var midnight = new DateTimeOffset(local.Date, local.Offset);
        var first = routing.Shifts(stream, midnight, midnight + TimeSpan.FromDays(1)).Where(s => s.Start >= midnight).OrderBy(s => s.Start).First();
        return first.Start == shift.Start;
    }
}
