using System.Collections.Concurrent;
using Telemetry.Contracts.Readings;
using Telemetry.Storage;

namespace Telemetry.UnitTests;

/// <summary>A store in memory that can be told to fail, refuse or hold writes.</summary>
internal sealed class FakeStore : ITelemetryStore
{
    public ConcurrentQueue<(IReadOnlyList<Reading> Readings, IReadOnlyList<DeadLetter> DeadLetters)> Writes { get; } = new();
    public int FailuresLeft;
    public int Attempts;
    /// <summary>Writes that have reached the store (before the gate).</summary>
    public int Entered;
    public Func<Reading, bool> Refuses { get; set; } = _ => false;
    public volatile bool RefuseEverything;
    /// <summary>Readings refused because of the store's state (a field type conflict): every such write fails alike.</summary>
    public volatile Func<Reading, bool>? RefusesStoreWide;
    /// <summary>Thrown by every write: neither unavailable nor refused.</summary>
    public volatile Exception? Fault;
    public TaskCompletionSource Gate { get; set; } = CompletedGate();

    public string Name => "fake";

    public static TaskCompletionSource CompletedGate()
    {
        var tcs = new TaskCompletionSource();
        tcs.SetResult();
        return tcs;
    }

    public Task InitializeAsync(CancellationToken ct) => Task.CompletedTask;

    public async Task WriteAsync(IReadOnlyList<Reading> readings, IReadOnlyList<DeadLetter> deadLetters, CancellationToken ct)
    {
        Interlocked.Increment(ref Entered);
        await Gate.Task.WaitAsync(ct);
        Interlocked.Increment(ref Attempts);
        if (Fault is { } fault)
        {
            throw fault;
        }
        if (RefusesStoreWide is { } storeWide && readings.Any(storeWide))
        {
            throw new StoreRejectedException("partial write: field type conflict: input field \"pct\" on measurement \"fill\" is type float, already exists as type integer dropped=1")
            {
                IsStoreWide = true,
            };
        }
        if (Interlocked.Decrement(ref FailuresLeft) >= 0)
        {
            throw new StoreUnavailableException("down") { RetryAfter = TimeSpan.FromMilliseconds(10) };
        }
        if (readings.Any(Refuses) || (RefuseEverything && (readings.Count > 0 || deadLetters.Count > 0)))
        {
            throw new StoreRejectedException("field type conflict");
        }
        Writes.Enqueue(([.. readings], [.. deadLetters]));
    }

    public IEnumerable<Reading> AllReadings => Writes.SelectMany(w => w.Readings);
    public IEnumerable<DeadLetter> AllDeadLetters => Writes.SelectMany(w => w.DeadLetters);

    public Task<IReadOnlyList<LatestCompartment>> GetLatestAsync(CancellationToken ct) => throw new NotSupportedException();
    public Task<IReadOnlyList<LatestStatus>> GetLatestStatusAsync(CancellationToken ct) => throw new NotSupportedException();
    public Task<IReadOnlyList<HistoryBucket>> GetHistoryAsync(string binId, DateTimeOffset start, DateTimeOffset end, TimeSpan every, TimeSpan origin, CancellationToken ct) => throw new NotSupportedException();
    public Task<IReadOnlyList<DepositTotal>> GetDepositsAsync(DateTimeOffset start, DateTimeOffset end, TimeZoneInfo zone, string? binId, CancellationToken ct) => throw new NotSupportedException();
    public Task<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(DateTimeOffset start, DateTimeOffset end, int limit, DeadLetterFilter filter, CancellationToken ct) => throw new NotSupportedException();
    public Task<IReadOnlyList<DeadLetterCount>> GetDeadLettersByReasonAsync(DateTimeOffset start, DateTimeOffset end, DeadLetterFilter filter, CancellationToken ct) => throw new NotSupportedException();
    public Task<StoredCounts> CountAsync(DateTimeOffset start, DateTimeOffset end, string? binPrefix, CancellationToken ct) => throw new NotSupportedException();
    public Task<int> CountReadingsAsync(string binId, DateTimeOffset time, CancellationToken ct) => throw new NotSupportedException();

    /// <summary>The readings written, each identity once (the later write wins), in the store's order.</summary>
    /// <summary>Thrown by <see cref="GetReadingsAsync"/> while set.</summary>
    public volatile Exception? ReadFault;

    public Task<IReadOnlyList<Reading>> GetReadingsAsync(IReadOnlyCollection<string>? binIds, DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        if (ReadFault is { } fault)
        {
            throw fault;
        }
        var bins = binIds?.ToHashSet(StringComparer.Ordinal);
        var latest = new Dictionary<(string, string, string, DateTimeOffset), Reading>();
        foreach (var r in AllReadings.Where(r => r is not VehiclePositionReading && r.Time >= start && r.Time < end && (bins is null || bins.Contains(r.BinId))))
        {
            latest[r switch
            {
                FillReading f => ("fill", f.BinId, f.Compartment, f.Time),
                WeightReading w => ("weight", w.BinId, w.Compartment, w.Time),
                _ => ("status", r.BinId, "", r.Time),
            }] = r;
        }
        return Task.FromResult<IReadOnlyList<Reading>>(StoreOrder.Readings(latest.Values));
    }

    private readonly Lock _events = new();
    private readonly Dictionary<(string Bin, string Compartment, DateTimeOffset Time), CollectionEvent> _collections = [];
    private readonly Dictionary<(string Bin, string Kind, DateTimeOffset Time), DeviceEvent> _deviceEvents = [];

    /// <summary>Keeps the events in memory by identity, the later write winning; refuses and fails as <see cref="WriteAsync"/> does.</summary>
    public async Task WriteEventsAsync(IReadOnlyList<CollectionEvent> collections, IReadOnlyList<DeviceEvent> deviceEvents, CancellationToken ct)
    {
        await Gate.Task.WaitAsync(ct);
        if (Fault is { } fault)
        {
            throw fault;
        }
        if (RefuseEverything && (collections.Count > 0 || deviceEvents.Count > 0))
        {
            throw new StoreRejectedException("field type conflict");
        }
        lock (_events)
        {
            foreach (var c in collections)
            {
                _collections[(c.BinId, c.Compartment, c.Time)] = c;
            }
            foreach (var e in deviceEvents)
            {
                _deviceEvents[(e.BinId, e.Kind, e.Time)] = e;
            }
        }
    }

    public Task<IReadOnlyList<CollectionEvent>> GetCollectionsAsync(string? binId, DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        lock (_events)
        {
            return Task.FromResult<IReadOnlyList<CollectionEvent>>(StoreOrder.Collections(
                _collections.Values.Where(c => c.Time >= start && c.Time < end && (binId is null || c.BinId == binId))));
        }
    }

    public Task<IReadOnlyList<DeviceEvent>> GetDeviceEventsAsync(string? binId, DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        lock (_events)
        {
            return Task.FromResult<IReadOnlyList<DeviceEvent>>(StoreOrder.DeviceEvents(
                _deviceEvents.Values.Where(e => e.Time >= start && e.Time < end && (binId is null || e.BinId == binId))));
        }
    }

    private readonly Dictionary<(string Bin, string Compartment, string Kind, string Type, long AtMs), StoredAlertEvent> _alertEvents = [];

    /// <summary>
    /// Keeps the alert events in memory by identity (a null compartment as ''; times to the millisecond, as the stores keep
    /// them), the later write winning and keeping a cleared or acknowledged time or acknowledger it does not give; refuses and
    /// fails as <see cref="WriteAsync"/> does.
    /// </summary>
    public async Task WriteAlertEventsAsync(IReadOnlyList<StoredAlertEvent> events, CancellationToken ct)
    {
        await Gate.Task.WaitAsync(ct);
        if (Fault is { } fault)
        {
            throw fault;
        }
        if (RefuseEverything && events.Count > 0)
        {
            throw new StoreRejectedException("field type conflict");
        }
        lock (_events)
        {
            foreach (var e in events)
            {
                var stored = e with
                {
                    At = Ms(e.At), RaisedAt = Ms(e.RaisedAt), ClearedAt = e.ClearedAt is { } c ? Ms(c) : null,
                    AcknowledgedAt = e.AcknowledgedAt is { } a ? Ms(a) : null, Compartment = string.IsNullOrEmpty(e.Compartment) ? null : e.Compartment,
                };
                var key = (e.BinId, e.Compartment ?? "", e.Kind, e.Type, stored.At.ToUnixTimeMilliseconds());
                if (_alertEvents.TryGetValue(key, out var before))
                {
                    stored = stored with
                    {
                        ClearedAt = stored.ClearedAt ?? before.ClearedAt,
                        AcknowledgedAt = stored.AcknowledgedAt ?? before.AcknowledgedAt,
                        AcknowledgedBy = stored.AcknowledgedBy ?? before.AcknowledgedBy,
                    };
                }
                _alertEvents[key] = stored;
            }
        }

        static DateTimeOffset Ms(DateTimeOffset t) => DateTimeOffset.FromUnixTimeMilliseconds(t.ToUnixTimeMilliseconds());
    }

    public Task<IReadOnlyList<StoredAlertEvent>> GetAlertEventsAsync(DateTimeOffset start, DateTimeOffset end, int limit, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        lock (_events)
        {
            return Task.FromResult<IReadOnlyList<StoredAlertEvent>>(StoreOrder.NewestAlertEvents(
                _alertEvents.Values.Where(e => e.At >= start && e.At < end), limit));
        }
    }

    private readonly Dictionary<(string JobId, string Type, long AtMs), StoredJobEvent> _jobEvents = [];

    /// <summary>
    /// Keeps the job events in memory by identity (times to the millisecond, compartments as a list of their own, as the stores
    /// keep them), the later write winning and keeping a predicted-full, planned, completed or cancelled time, a vehicle or a
    /// <see cref="StoredJobEvent.By"/> it does not give; refuses a compartment the stores refuse, and refuses and fails as
    /// <see cref="WriteAsync"/> does.
    /// </summary>
    public async Task WriteJobEventsAsync(IReadOnlyList<StoredJobEvent> events, CancellationToken ct)
    {
        await Gate.Task.WaitAsync(ct);
        if (Fault is { } fault)
        {
            throw fault;
        }
        if (RefuseEverything && events.Count > 0)
        {
            throw new StoreRejectedException("field type conflict");
        }
        var compartments = events.Select(JobCompartments.Join).ToList();
        lock (_events)
        {
            for (var i = 0; i < events.Count; i++)
            {
                var e = events[i];
                var stored = e with
                {
                    At = Ms(e.At), Compartments = JobCompartments.Split(compartments[i]), PredictedFullAt = Optional(e.PredictedFullAt),
                    Deadline = Ms(e.Deadline), RequestedAt = Ms(e.RequestedAt), PlannedAt = Optional(e.PlannedAt),
                    CompletedAt = Optional(e.CompletedAt), CancelledAt = Optional(e.CancelledAt),
                };
                var key = (e.JobId, e.Type, stored.At.ToUnixTimeMilliseconds());
                if (_jobEvents.TryGetValue(key, out var before))
                {
                    stored = stored with
                    {
                        PredictedFullAt = stored.PredictedFullAt ?? before.PredictedFullAt,
                        Vehicle = stored.Vehicle ?? before.Vehicle,
                        PlannedAt = stored.PlannedAt ?? before.PlannedAt,
                        CompletedAt = stored.CompletedAt ?? before.CompletedAt,
                        CancelledAt = stored.CancelledAt ?? before.CancelledAt,
                        By = stored.By ?? before.By,
                    };
                }
                _jobEvents[key] = stored;
            }
        }

        static DateTimeOffset Ms(DateTimeOffset t) => DateTimeOffset.FromUnixTimeMilliseconds(t.ToUnixTimeMilliseconds());
        static DateTimeOffset? Optional(DateTimeOffset? t) => t is { } v ? Ms(v) : null;
    }

    public Task<IReadOnlyList<StoredJobEvent>> GetJobEventsAsync(DateTimeOffset start, DateTimeOffset end, int limit, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        lock (_events)
        {
            return Task.FromResult<IReadOnlyList<StoredJobEvent>>(StoreOrder.NewestJobEvents(
                _jobEvents.Values.Where(e => e.At >= start && e.At < end), limit));
        }
    }

    /// <summary>As the stores: per vehicle the newest position written.</summary>
    public Task<IReadOnlyList<VehiclePositionReading>> GetLatestVehiclePositionsAsync(CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<VehiclePositionReading>>(StoreOrder.LatestPositions(AllReadings.OfType<VehiclePositionReading>()));

    private readonly Dictionary<(string PlanId, int Revision), StoredRoutePlan> _routePlans = [];

    /// <summary>Keeps the plans in memory by plan id and revision (times to the millisecond), the later write winning unless planned earlier.</summary>
    public async Task WriteRoutePlanAsync(StoredRoutePlan plan, CancellationToken ct)
    {
        await Gate.Task.WaitAsync(ct);
        if (Fault is { } fault)
        {
            throw fault;
        }
        if (RefuseEverything)
        {
            throw new StoreRejectedException("field type conflict");
        }
        var stored = plan with { ShiftStart = Ms(plan.ShiftStart), ShiftEnd = Ms(plan.ShiftEnd), PlannedAt = Ms(plan.PlannedAt) };
        lock (_events)
        {
            if (!_routePlans.TryGetValue((plan.PlanId, plan.Revision), out var before) || stored.PlannedAt >= before.PlannedAt)
            {
                _routePlans[(plan.PlanId, plan.Revision)] = stored;
            }
        }

        static DateTimeOffset Ms(DateTimeOffset t) => DateTimeOffset.FromUnixTimeMilliseconds(t.ToUnixTimeMilliseconds());
    }

    public Task<IReadOnlyList<StoredRoutePlan>> GetRoutePlansAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        lock (_events)
        {
            return Task.FromResult<IReadOnlyList<StoredRoutePlan>>(StoreOrder.RoutePlans(
                _routePlans.Values.Where(p => p.ShiftEnd >= from && p.ShiftStart <= to)));
        }
    }

    public int AlertEventCount(Func<StoredAlertEvent, bool>? where = null)
    {
        lock (_events)
        {
            return _alertEvents.Values.Count(where ?? (_ => true));
        }
    }

    public int JobEventCount(Func<StoredJobEvent, bool>? where = null)
    {
        lock (_events)
        {
            return _jobEvents.Values.Count(where ?? (_ => true));
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
