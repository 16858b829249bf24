using MassTransit;
using Telemetry.Contracts.Messages;
using Telemetry.Contracts.Time;
using Telemetry.Messaging;

namespace Telemetry.Api.State;

/// <summary>
/// The route plans the api serves (<c>GET /api/routes</c>), kept from the <see cref="RoutePlanned"/> events of the bus.
/// <list type="bullet">
/// <item>One plan per <see cref="RoutePlanned.PlanId"/>: a later revision replaces it whole; the same or an older revision
/// (a redelivery, or an event overtaken by a newer one) changes nothing.</item>
/// <item>Per stream, a plan gives way to one of a later shift (a later <see cref="RoutePlanned.ShiftStart"/>) once that shift has
/// started or its own shift has ended. So the plans of shifts that have not ended are kept (the running shift and the next one,
/// planned ahead), and of the ended ones only the most recent, until the next shift starts.</item>
/// <item>The notices of shifts that started without a truck (<see cref="ShiftWaited"/>), each until the stream's following shift
/// starts; a plan of the same shift (an urgent job drove it after all) removes its notice, and one arriving after such a plan, even
/// a plan since given way, is not taken.</item>
/// </list>
/// Time is the project clock (the demo's accelerated one). Thread-safe.
/// </summary>
public sealed class RouteBoard(TelemetryClock clock)
{
    private readonly object _gate = new();
    private readonly Dictionary<string, RoutePlanned> _plans = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ShiftWaited> _waits = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _planned = new(StringComparer.Ordinal); // plan ids seen, until 2 days after their shift
    private long _version;

    /// <summary>Changes so far (plans and notices taken or gone); the dashboard need not redraw when it has not moved.</summary>
    public long Version
    {
        get
        {
            lock (_gate)
            {
                return _version;
            }
        }
    }

    /// <summary>Takes a plan unless the board has it at this or a later revision; true when it was taken.</summary>
    public bool Apply(RoutePlanned plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        lock (_gate)
        {
            if (_plans.TryGetValue(plan.PlanId, out var held) && held.Revision >= plan.Revision)
            {
                return false;
            }
            _plans[plan.PlanId] = plan;
            _planned[plan.PlanId] = plan.ShiftEnd.AddDays(2);
            _waits.Remove(plan.PlanId);
            _version++;
            Prune(clock.GetUtcNow());
            return true;
        }
    }

    /// <summary>
    /// Takes stored plans (at start, from the store: every revision or only the latest of each, in any order), by the same rules
    /// as <see cref="Apply"/>. Returns how many were taken.
    /// </summary>
    public int Load(IEnumerable<RoutePlanned> plans)
    {
        ArgumentNullException.ThrowIfNull(plans);
        var taken = 0;
        foreach (var plan in plans)
        {
            if (Apply(plan))
            {
                taken++;
            }
        }
        return taken;
    }

    /// <summary>
    /// Takes the notice that a shift started without being driven (its jobs wait for the following shift); kept until that
    /// following shift starts, or a plan of the shift itself arrives (an urgent job drove it after all). True when it was taken.
    /// </summary>
    public bool Apply(ShiftWaited waited)
    {
        ArgumentNullException.ThrowIfNull(waited);
        lock (_gate)
        {
            if (_waits.ContainsKey(waited.PlanId) || _planned.ContainsKey(waited.PlanId) || clock.GetUtcNow() >= waited.FollowingStart)
            {
                return false;
            }
            _waits[waited.PlanId] = waited;
            _version++;
            return true;
        }
    }

    /// <summary>The shifts not driven whose jobs still wait for the following shift, by stream, then shift start.</summary>
    public IReadOnlyList<ShiftWaited> Waiting() => Snapshot().Waiting;

    /// <summary>The current plans (as <see cref="Current"/>) and the shifts waiting (as <see cref="Waiting"/>), read together.</summary>
    public (IReadOnlyList<RoutePlanned> Plans, IReadOnlyList<ShiftWaited> Waiting) Snapshot()
    {
        lock (_gate)
        {
            Prune(clock.GetUtcNow());
            return ([.. _plans.Values.OrderBy(p => p.Stream, StringComparer.Ordinal).ThenBy(p => p.ShiftStart).ThenBy(p => p.PlanId, StringComparer.Ordinal)],
                [.. _waits.Values.OrderBy(w => w.Stream, StringComparer.Ordinal).ThenBy(w => w.ShiftStart)]);
        }
    }

    /// <summary>The current plans by stream (registry order of streams is the caller's), then shift start.</summary>
    public IReadOnlyList<RoutePlanned> Current() => Snapshot().Plans;

    private void Prune(DateTimeOffset now)
    {
        var changed = false;
        foreach (var id in _waits.Values.Where(w => now >= w.FollowingStart).Select(w => w.PlanId).ToList())
        {
            changed |= _waits.Remove(id);
        }
        foreach (var id in _planned.Where(p => now >= p.Value).Select(p => p.Key).ToList())
        {
            _planned.Remove(id);
        }
        List<string>? gone = null;
        foreach (var stream in _plans.Values.GroupBy(p => p.Stream, StringComparer.Ordinal))
        {
            var plans = stream.ToList();
            foreach (var p in plans)
            {
                var replaced = plans.Any(q => q.ShiftStart > p.ShiftStart && (now >= q.ShiftStart || now >= p.ShiftEnd));
                if (replaced)
                {
                    (gone ??= []).Add(p.PlanId);
                }
            }
        }
        foreach (var id in gone ?? [])
        {
            changed |= _plans.Remove(id);
        }
        if (changed)
        {
            _version++;
        }
    }
}

/// <summary>
/// The routing worker's plans and notices of shifts not driven, for the api's route board: a temporary queue per process (every
/// replica sees every plan), one for both so that they arrive in the order they were published.
/// </summary>
public sealed class RoutePlannedConsumer(RouteBoard routes) : IConsumer<RoutePlanned>, IConsumer<ShiftWaited>
{
    public Task Consume(ConsumeContext<RoutePlanned> context)
    {
        routes.Apply(context.Message);
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<ShiftWaited> context)
    {
        routes.Apply(context.Message);
        return Task.CompletedTask;
    }
}

public sealed class RoutePlannedConsumerDefinition() : TemporaryQueueDefinition<RoutePlannedConsumer>("api-routes");
