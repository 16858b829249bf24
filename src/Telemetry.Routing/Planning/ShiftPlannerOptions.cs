namespace Telemetry.Routing.Planning;

/// <summary>
/// The <c>Routing:Planner</c> section: how long a truck stays at a stop, and what leaving a job unserved costs the solver
/// (costs are in metres driven: a penalty of 1,000,000 is worth a 1,000 km detour).
/// </summary>
public sealed record ShiftPlannerOptions
{
    public const string Section = "Routing:Planner";

    /// <summary>Time at every bin stop (park, open the kiosk, log the collection).</summary>
    public TimeSpan StopTime { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>Further time at a bin stop for every compartment emptied.</summary>
    public TimeSpan CompartmentTime { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Time to unload at the stream's facility (weighbridge, tipping, back out).</summary>
    public TimeSpan UnloadTime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// The cost of leaving a job that is not urgent unserved, when its deadline is a week or more away; it grows linearly to
    /// 8 times as much for a deadline at the shift's start, so jobs due earlier are served first.
    /// </summary>
    public long DropPenalty { get; set; } = 1_000_000;

    /// <summary>The same for an urgent job: so large that an urgent job is dropped only when the shift cannot serve it at all.</summary>
    public long UrgentDropPenalty { get; set; } = 10_000_000_000;

    /// <summary>
    /// Cost per minute a job is reached after its deadline (within the shift), in metres; charged per second late, at this / 60
    /// rounded to the nearest metre (at least 1). 0 (the default): none, the shift's route is the shortest that serves its jobs
    /// (what the loop benchmark measured best: docs/benchmarks.md).
    /// </summary>
    public long LatePenaltyPerMinute { get; set; }

    /// <summary>
    /// When above 0, the search also stops after this many solutions (OR-Tools' <c>solution_limit</c>): a limit that does not
    /// depend on the machine's speed, so the same problem gives the same plan (the loop benchmark's reproducibility), as long as
    /// it is reached before the time limit. 0: the time limit alone.
    /// </summary>
    public long SolutionLimit { get; set; }

    /// <summary>Every problem of these settings, each naming its key (<c>Routing:Planner:...</c>); empty when they are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        Check(StopTime, nameof(StopTime), TimeSpan.FromHours(2));
        Check(CompartmentTime, nameof(CompartmentTime), TimeSpan.FromHours(1));
        Check(UnloadTime, nameof(UnloadTime), TimeSpan.FromHours(4));
        if (DropPenalty is < 1 or > 1_000_000_000)
        {
            errors.Add($"{Section}:DropPenalty: '{DropPenalty}' must be from 1 to 1000000000");
        }
        if (UrgentDropPenalty < DropPenalty * 100 || UrgentDropPenalty > 100_000_000_000_000)
        {
            errors.Add($"{Section}:UrgentDropPenalty: '{UrgentDropPenalty}' must be at least 100 x {Section}:DropPenalty and at most 100000000000000");
        }
        if (SolutionLimit is < 0 or > 100_000_000)
        {
            errors.Add($"{Section}:SolutionLimit: '{SolutionLimit}' must be from 0 (none) to 100000000");
        }
        if (LatePenaltyPerMinute is < 0 or > 1_000_000)
        {
            errors.Add($"{Section}:LatePenaltyPerMinute: '{LatePenaltyPerMinute}' must be from 0 to 1000000");
        }
        return errors;

        void Check(TimeSpan value, string name, TimeSpan max)
        {
            if (value < TimeSpan.Zero || value > max)
            {
                errors.Add($"{Section}:{name}: '{value}' must be from 00:00:00 to {max}");
            }
        }
    }

    /// <summary>The time a truck spends at a bin stop that empties <paramref name="compartments"/> compartments.</summary>
    public TimeSpan ServiceTime(int compartments) => StopTime + CompartmentTime * compartments;
}
