using System.Text.Json;
using Telemetry.Contracts.Messages;
using Telemetry.Fleet;
using Telemetry.Scheduling.Signal;
using Telemetry.Storage;

namespace Telemetry.Api.State;

/// <summary>
/// One compartment as <c>/api/bins</c> shows it: <see cref="FillPct"/> is the cleaned level (the raw reading until the signal
/// has been cleaned), <see cref="RawFillPct"/> the last raw reading, <see cref="FillAt"/> its time, <see cref="CleanedAt"/> the time
/// of the last raw reading the cleaned level has taken into account (a held echo included).
/// </summary>
public sealed record CompartmentView(
    string Id, string Stream, double? FillPct, DateTimeOffset? FillAt, double? NetKg, DateTimeOffset? WeightAt, DateTimeOffset? PredictedFullAt,
    double? RawFillPct = null, CompartmentPrediction? Prediction = null, DateTimeOffset? CleanedAt = null);

/// <summary>Where a bin stands.</summary>
public sealed record BinLocation(double Latitude, double Longitude, string Address);

/// <summary>One bin as <c>/api/bins</c> shows it (CONTRACT §6).</summary>
public sealed record BinView(
    string Id, string Community, BinLocation Location,
    bool? Online, DateTimeOffset? LastSeen, double? Battery, double? TempC, bool? Tilt, bool? DoorOpen,
    IReadOnlyList<CompartmentView> Compartments);

/// <summary>
/// The fleet's latest state, in memory: every registry bin, updated from <see cref="ReadingsStored"/> events and
/// loaded from the store at start and after a missed event. Each value keeps its time and a newer one always wins,
/// so events and store loads may arrive in any order and give the same state. The fill signal (<see cref="FillIntelligence"/>)
/// adds each compartment's cleaned level and prediction; until it has, <c>fillPct</c> is the latest raw reading and
/// <c>predictedFullAt</c> null. Reads are lock-free snapshots; the
/// serialized <c>/api/bins</c> body is cached per version.
/// </summary>
public sealed class FleetState
{
    private readonly object _gate = new();
    private readonly FleetRegistry _registry;
    private readonly Dictionary<string, BinRecord> _bins = new(StringComparer.Ordinal);
    private readonly List<Action<IReadOnlyList<BinView>>> _listeners = [];
    private Snapshot _snapshot;
    private CachedJson _json = new(-1, []);

    public FleetState(FleetRegistry registry)
    {
        _registry = registry;
        foreach (var bin in registry.Bins)
        {
            _bins[bin.Id] = new BinRecord(bin);
        }
        _snapshot = Take(0);
    }

    /// <summary>Changes so far (events and loads that changed something).</summary>
    public long Version => Volatile.Read(ref _snapshot).Version;

    /// <summary>When the state was last loaded from the store; null before the first load.</summary>
    public DateTimeOffset? LoadedAt { get; private set; }

    public IReadOnlyList<BinView> Bins => Volatile.Read(ref _snapshot).Ordered;

    public BinView? Bin(string id) => Volatile.Read(ref _snapshot).ById.GetValueOrDefault(id);

    /// <summary>The state at one version: readers take it whole, so a version never goes with other bins.</summary>
    public (long Version, IReadOnlyList<BinView> Bins) Current
    {
        get
        {
            var snapshot = Volatile.Read(ref _snapshot);
            return (snapshot.Version, snapshot.Ordered);
        }
    }

    /// <summary>The <c>/api/bins</c> body (UTF-8 JSON), serialized once per version.</summary>
    public byte[] BinsJson(JsonSerializerOptions options)
    {
        var cached = Volatile.Read(ref _json);
        var snapshot = Volatile.Read(ref _snapshot);
        if (cached.Version == snapshot.Version)
        {
            return cached.Json;
        }
        var json = JsonSerializer.SerializeToUtf8Bytes(snapshot.Ordered, options);
        Volatile.Write(ref _json, new CachedJson(snapshot.Version, json));
        return json;
    }

    /// <summary>Called with the bins that changed, after each change (the live stream). Must not block.</summary>
    public IDisposable Subscribe(Action<IReadOnlyList<BinView>> listener)
    {
        lock (_listeners)
        {
            _listeners.Add(listener);
        }
        return new Unsubscriber(() =>
        {
            lock (_listeners)
            {
                _listeners.Remove(listener);
            }
        });
    }

    public int Subscribers
    {
        get
        {
            lock (_listeners)
            {
                return _listeners.Count;
            }
        }
    }

    /// <summary>Applies one event; returns the ids of the bins it changed.</summary>
    public IReadOnlyList<string> Apply(ReadingsStored e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var changed = new List<string>();
        lock (_gate)
        {
            foreach (var u in e.Bins)
            {
                if (!_bins.TryGetValue(u.BinId, out var bin))
                {
                    continue; // not in this process's registry
                }
                var any = false;
                if (u.Status is { } s)
                {
                    any |= bin.ApplyStatus(s.Time, s.Online, s.BatteryPct, s.TempC, s.Tilt, s.DoorOpen);
                }
                foreach (var c in u.Compartments)
                {
                    any |= bin.ApplyCompartment(c.Compartment, c.FillTime, c.FillPct, c.WeightTime, c.NetKg);
                }
                if (any)
                {
                    changed.Add(u.BinId);
                }
            }
        }
        Publish(changed);
        return changed;
    }

    /// <summary>Applies cleaned levels and predictions (newer ones replace older); returns the ids of the bins they changed.</summary>
    public IReadOnlyList<string> ApplyCleaned(IReadOnlyList<CleanedCompartment> cleaned)
    {
        ArgumentNullException.ThrowIfNull(cleaned);
        var changed = new HashSet<string>(StringComparer.Ordinal);
        lock (_gate)
        {
            foreach (var c in cleaned)
            {
                if (_bins.TryGetValue(c.BinId, out var bin) && bin.ApplyCleaned(c))
                {
                    changed.Add(c.BinId);
                }
            }
        }
        var list = changed.Order(StringComparer.Ordinal).ToList();
        Publish(list);
        return list;
    }

    /// <summary>Merges the store's latest values (at start, and to catch up after missed events).</summary>
    public IReadOnlyList<string> Load(IReadOnlyList<LatestCompartment> compartments, IReadOnlyList<LatestStatus> statuses, DateTimeOffset loadedAt)
    {
        ArgumentNullException.ThrowIfNull(compartments);
        ArgumentNullException.ThrowIfNull(statuses);
        var changed = new HashSet<string>(StringComparer.Ordinal);
        lock (_gate)
        {
            foreach (var s in statuses)
            {
                if (_bins.TryGetValue(s.BinId, out var bin) && bin.ApplyStatus(s.LastSeen, s.Online, s.BatteryPct, s.TempC, s.Tilt, s.DoorOpen))
                {
                    changed.Add(s.BinId);
                }
            }
            foreach (var c in compartments)
            {
                if (_bins.TryGetValue(c.BinId, out var bin) && bin.ApplyCompartment(c.Compartment, c.FillTime, c.FillPct, c.WeightTime, c.NetKg))
                {
                    changed.Add(c.BinId);
                }
            }
            LoadedAt = loadedAt;
        }
        var list = changed.Order(StringComparer.Ordinal).ToList();
        Publish(list);
        return list;
    }

    private void Publish(List<string> changed)
    {
        if (changed.Count == 0)
        {
            return;
        }
        // Change, snapshot and notification under one lock: listeners see versions in order. They only queue.
        lock (_gate)
        {
            var snapshot = Take(Volatile.Read(ref _snapshot).Version + 1);
            Volatile.Write(ref _snapshot, snapshot);
            List<BinView> views = [.. changed.Select(id => snapshot.ById[id])];
            Action<IReadOnlyList<BinView>>[] listeners;
            lock (_listeners)
            {
                listeners = [.. _listeners];
            }
            foreach (var l in listeners)
            {
                l(views);
            }
        }
    }

    private Snapshot Take(long version)
    {
        var ordered = _registry.Bins.Select(b => _bins[b.Id].View()).ToList();
        return new Snapshot(version, ordered.ToDictionary(v => v.Id, StringComparer.Ordinal), ordered);
    }

    private sealed record Snapshot(long Version, IReadOnlyDictionary<string, BinView> ById, IReadOnlyList<BinView> Ordered);

    private sealed record CachedJson(long Version, byte[] Json);

    private sealed class Unsubscriber(Action dispose) : IDisposable
    {
        private Action? _dispose = dispose;

        public void Dispose() => Interlocked.Exchange(ref _dispose, null)?.Invoke();
    }

    /// <summary>A bin's values with their times; the caller holds the lock.</summary>
    private sealed class BinRecord(Bin bin)
    {
        private readonly Dictionary<string, Slot> _compartments = bin.Compartments.ToDictionary(c => c.Id, _ => new Slot(), StringComparer.Ordinal);
        private Timed<bool> _online;
        private Timed<double> _battery;
        private Timed<double> _temp;
        private Timed<bool> _tilt;
        private Timed<bool> _door;
        private DateTimeOffset? _lastSeen;

        public bool ApplyStatus(DateTimeOffset time, bool? online, double? battery, double? temp, bool? tilt, bool? door)
        {
            var changed = false;
            if (_lastSeen is null || time > _lastSeen)
            {
                _lastSeen = time;
                changed = true;
            }
            changed |= _online.Offer(online, time);
            changed |= _battery.Offer(battery, time);
            changed |= _temp.Offer(temp, time);
            changed |= _tilt.Offer(tilt, time);
            changed |= _door.Offer(door, time);
            return changed;
        }

        public bool ApplyCompartment(string id, DateTimeOffset? fillTime, double? fillPct, DateTimeOffset? weightTime, double? netKg)
        {
            if (!_compartments.TryGetValue(id, out var slot))
            {
                return false;
            }
            var changed = false;
            if (fillTime is { } ft)
            {
                changed |= slot.Fill.Offer(fillPct, ft);
            }
            if (weightTime is { } wt)
            {
                changed |= slot.Weight.Offer(netKg, wt);
            }
            return changed;
        }

        public bool ApplyCleaned(CleanedCompartment c)
        {
            if (!_compartments.TryGetValue(c.Compartment, out var slot) || (slot.Cleaned is { } old && c.Time < old.Time))
            {
                return false;
            }
            var changed = slot.Cleaned != c;
            slot.Cleaned = c;
            return changed;
        }

        public BinView View() => new(
            bin.Id, bin.Community, new BinLocation(bin.Location.Latitude, bin.Location.Longitude, bin.Address),
            _online.Value, _lastSeen, _battery.Value, _temp.Value, _tilt.Value, _door.Value,
            [.. bin.Compartments.Select(c =>
            {
                var slot = _compartments[c.Id];
                var cleaned = slot.Cleaned;
                return new CompartmentView(
                    c.Id, c.Stream.Name(), cleaned?.LevelPct ?? slot.Fill.Value, slot.Fill.Time, slot.Weight.Value, slot.Weight.Time,
                    cleaned?.Prediction?.FullAt, slot.Fill.Value, cleaned?.Prediction, cleaned?.TakenAt);
            })]);

        private sealed class Slot
        {
            public Timed<double> Fill;
            public Timed<double> Weight;
            public CleanedCompartment? Cleaned;
        }
    }

    /// <summary>A value and the time of the reading it came from; a value of the same time or newer replaces it.</summary>
    private struct Timed<T> where T : struct
    {
        public T? Value { get; private set; }
        public DateTimeOffset? Time { get; private set; }

        public bool Offer(T? value, DateTimeOffset time)
        {
            if (value is null || (Time is { } t && time < t))
            {
                return false;
            }
            var changed = Time != time || !EqualityComparer<T?>.Default.Equals(Value, value);
            Value = value;
            Time = time;
            return changed;
        }
    }
}

/// <summary>Gives the fleet state the cleaned levels and predictions of the fill signal.</summary>
public sealed class FleetStateSignalListener(FleetState state) : IFillSignalListener
{
    public void Taken(FillSignalBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Cleaned.Count > 0)
        {
            state.ApplyCleaned(batch.Cleaned);
        }
    }
}
