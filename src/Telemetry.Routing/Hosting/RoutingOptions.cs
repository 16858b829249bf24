using Microsoft.Extensions.Options;
using Telemetry.Fleet;

namespace Telemetry.Routing.Hosting;

/// <summary>The <c>Routing</c> section: when shifts are planned, the solver's time, the worker's tick and lease, and its streams.</summary>
public sealed class RoutingOptions
{
    public const string Section = "Routing";

    /// <summary>How long before a vehicle shift starts it is planned (with every open job of its stream).</summary>
    public TimeSpan LeadTime { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>The solver's time limit for one shift's plan (real time); the best plan found by then is taken.</summary>
    public TimeSpan SolverTime { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A coming shift is driven only when waiting for the stream's following shift would leave its jobs at 100 % for at least
    /// this many hours in all (summed over the jobs, from each one's predicted full time), or one of them alone that long by the
    /// following shift's start (or one job cannot wait at all: urgent, raised for an overflow, the dwell or by a dispatcher, no
    /// prediction). 0: any predicted hour at 100 % drives the shift. Higher: fewer, fuller rounds, more overflow.
    /// </summary>
    public double WaitOverflowHours { get; set; } = RoutingPolicy.DefaultWaitOverflowHours;

    /// <summary>How often the worker looks for shifts to plan, on its clock (simulated time in <c>demo</c>).</summary>
    public TimeSpan TickInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>A worker that has not heard its lease for this long stops planning; a new holder waits as long before it starts.</summary>
    public TimeSpan LeaseTimeout { get; set; } = TimeSpan.FromSeconds(6);

    /// <summary>
    /// The streams this worker plans, comma-separated (empty: all four). Workers with the same streams share one lease queue (one
    /// plans, the others stand by); give workers disjoint sets to spread the streams over them.
    /// </summary>
    public string Streams { get; set; } = "";

    /// <summary>The streams parsed (every stream when <see cref="Streams"/> is empty), in their usual order.</summary>
    public IReadOnlyList<WasteStream> StreamList() =>
        string.IsNullOrWhiteSpace(Streams)
            ? WasteStreams.All
            : [.. Streams.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(WasteStreams.Parse).Distinct().Order()];
}

internal sealed class RoutingOptionsValidator : IValidateOptions<RoutingOptions>
{
    public ValidateOptionsResult Validate(string? name, RoutingOptions o)
    {
        if (o.LeadTime < TimeSpan.Zero || o.LeadTime > TimeSpan.FromDays(1))
        {
            return ValidateOptionsResult.Fail($"Routing:LeadTime: '{o.LeadTime}' must be from 00:00:00 to 1.00:00:00");
        }
        if (o.SolverTime < TimeSpan.FromMilliseconds(100) || o.SolverTime > TimeSpan.FromMinutes(10))
        {
            return ValidateOptionsResult.Fail($"Routing:SolverTime: '{o.SolverTime}' must be from 00:00:00.1 to 00:10:00");
        }
        if (!(o.WaitOverflowHours >= 0 && o.WaitOverflowHours <= 1000))
        {
            return ValidateOptionsResult.Fail($"Routing:WaitOverflowHours: '{o.WaitOverflowHours}' must be from 0 to 1000");
        }
        if (o.TickInterval < TimeSpan.FromSeconds(1) || o.TickInterval > TimeSpan.FromHours(1))
        {
            return ValidateOptionsResult.Fail($"Routing:TickInterval: '{o.TickInterval}' must be from 00:00:01 to 01:00:00");
        }
        if (o.LeaseTimeout < TimeSpan.FromSeconds(2) || o.LeaseTimeout > TimeSpan.FromSeconds(20))
        {
            return ValidateOptionsResult.Fail($"Routing:LeaseTimeout: '{o.LeaseTimeout}' must be from 00:00:02 to 00:00:20");
        }
        foreach (var s in (o.Streams ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!WasteStreams.TryParse(s, out _))
            {
                return ValidateOptionsResult.Fail($"Routing:Streams: unknown stream '{s}' (streams: {string.Join(", ", WasteStreams.All.Select(x => x.Name()))})");
            }
        }
        return ValidateOptionsResult.Success;
    }
}
