using Telemetry.Contracts.Messages;
using Telemetry.Scheduling.Hosting;
using Telemetry.Storage;

namespace Telemetry.Api.State;

/// <summary>One alert event as <c>/api/alerts/stream</c> sends it: its stream id (increasing), type and the alert after it.</summary>
public sealed record AlertStreamEvent(long Id, string Type, DateTimeOffset At, AlertInfo Alert);

/// <summary>
/// The api's projection of the scheduler's alerts: loaded from the stored alert events at start, then kept by the
/// <see cref="AlertChanged"/> events of the bus and by catch-ups from the store (an event missed while the bus was away is found
/// there). Events are taken once each (by alert id, type and time: delivery is at least once); an alert's state is that of its
/// latest event, a cleared alert stays cleared. The last 1,000 events taken are kept for <c>Last-Event-ID</c> replay; stream ids start from
/// the real time at which the process started (in microseconds), so they keep increasing across restarts.
/// </summary>
public sealed class AlertBoard
{
    public const int ReplayCapacity = 1000;
    private const int SeenCapacity = 200_000;

    private readonly object _gate = new();
    private readonly Dictionary<string, AlertInfo> _alerts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (DateTimeOffset At, int Rank)> _last = new(StringComparer.Ordinal);
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly Queue<string> _seenOrder = new();
    private readonly LinkedList<AlertStreamEvent> _replay = new();
    private readonly List<Action<AlertStreamEvent>> _listeners = [];
    private long _nextId = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() * 1000;

    /// <summary>From when the board holds every alert event (the start of the load).</summary>
    public DateTimeOffset? Since { get; private set; }

    public bool Loaded => Since is not null;

    /// <summary>Events taken from the bus or the store.</summary>
    public long Taken { get; private set; }

    /// <summary>Takes the stored events of [since, …): those not taken yet are applied in order (and streamed).</summary>
    public int Load(IReadOnlyList<StoredAlertEvent> events, DateTimeOffset since)
    {
        ArgumentNullException.ThrowIfNull(events);
        var applied = 0;
        foreach (var e in SchedulerService.StoreOrderOf(events))
        {
            if (Apply(e.Type, e.At, e.Info()))
            {
                applied++;
            }
        }
        lock (_gate)
        {
            if (Since is null || since < Since)
            {
                Since = since;
            }
        }
        return applied;
    }

    /// <summary>Applies one event unless it was taken already; true when it was news.</summary>
    public bool Apply(string type, DateTimeOffset at, AlertInfo alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        lock (_gate)
        {
            var key = SchedulerMapping.Key(alert.Id, type, at);
            if (!_seen.Add(key))
            {
                return false;
            }
            _seenOrder.Enqueue(key);
            while (_seenOrder.Count > SeenCapacity)
            {
                _seen.Remove(_seenOrder.Dequeue());
            }
            // The alert's state is that of its latest event (by time, and at one instant in the order the rules make them), with
            // two exceptions: a cleared alert stays cleared, and an acknowledgement of an unacknowledged alert is always taken (it
            // is timed by the scheduler's clock, its raise by the device's).
            var rank = SchedulerService.TypeRank(type);
            var known = _alerts.GetValueOrDefault(alert.Id);
            var later = !_last.TryGetValue(alert.Id, out var last) || (at, rank).CompareTo(last) >= 0;
            var acknowledges = type == "acknowledged" && known is { AcknowledgedAt: null, ClearedAt: null };
            if (known is null || (known.ClearedAt is null && (later || acknowledges)) || (alert.ClearedAt is not null && known.ClearedAt is null))
            {
                _alerts[alert.Id] = alert;
                if (later)
                {
                    _last[alert.Id] = (at, rank);
                }
            }
            var streamed = new AlertStreamEvent(++_nextId, type, at, alert);
            _replay.AddLast(streamed);
            if (_replay.Count > ReplayCapacity)
            {
                _replay.RemoveFirst();
            }
            Taken++;
            // Under the lock, so every connection gets the events in the order of their ids (listeners only queue them).
            foreach (var listener in _listeners)
            {
                listener(streamed);
            }
        }
        return true;
    }

    public AlertInfo? Find(string id)
    {
        lock (_gate)
        {
            return _alerts.GetValueOrDefault(id);
        }
    }

    /// <summary>Alerts raised in [from, to) in the state asked for (<c>active</c>, <c>cleared</c>, <c>all</c>), the newest <paramref name="limit"/>, newest first.</summary>
    public IReadOnlyList<AlertInfo> Query(string state, DateTimeOffset? from, DateTimeOffset? to, int limit)
    {
        lock (_gate)
        {
            return Filter(_alerts.Values, state, from, to, limit);
        }
    }

    internal static IReadOnlyList<AlertInfo> Filter(IEnumerable<AlertInfo> alerts, string state, DateTimeOffset? from, DateTimeOffset? to, int limit) =>
        [.. alerts
            .Where(a => state switch { "active" => a.ClearedAt is null, "cleared" => a.ClearedAt is not null, _ => true })
            .Where(a => (from is null || a.RaisedAt >= from) && (to is null || a.RaisedAt < to))
            .OrderByDescending(a => a.RaisedAt).ThenBy(a => a.Id, StringComparer.Ordinal)
            .Take(limit)];

    /// <summary>The newest stream id given so far.</summary>
    public long NewestId
    {
        get
        {
            lock (_gate)
            {
                return _nextId;
            }
        }
    }

    /// <summary>
    /// Listens to the events taken from now on, and returns those of the replay buffer after <paramref name="lastEventId"/> (none
    /// without it): together, no event is missed and none is given twice. An id above the newest (from another replica, or from
    /// before a restart) replays nothing.
    /// </summary>
    public (IReadOnlyList<AlertStreamEvent> Missed, IDisposable Subscription) Subscribe(long? lastEventId, Action<AlertStreamEvent> listener)
    {
        lock (_gate)
        {
            _listeners.Add(listener);
            var missed = lastEventId is { } after ? _replay.Where(e => e.Id > after).ToList() : [];
            return (missed, new Unsubscribe(() =>
            {
                lock (_gate)
                {
                    _listeners.Remove(listener);
                }
            }));
        }
    }

    public int Subscribers
    {
        get
        {
            lock (_gate)
            {
                return _listeners.Count;
            }
        }
    }

    private sealed class Unsubscribe(Action action) : IDisposable
    {
        private Action? _action = action;

        public void Dispose() => Interlocked.Exchange(ref _action, null)?.Invoke();
    }
}

/// <summary>The api's projection of the scheduler's jobs, like <see cref="AlertBoard"/>: loaded from the store, kept by the bus.</summary>
public sealed class JobBoard
{
    private readonly object _gate = new();
    private readonly Dictionary<string, CollectionJobInfo> _jobs = new(StringComparer.Ordinal);

    public DateTimeOffset? Since { get; private set; }

    public bool Loaded => Since is not null;

    public void Load(IReadOnlyList<StoredJobEvent> events, DateTimeOffset since)
    {
        ArgumentNullException.ThrowIfNull(events);
        foreach (var e in events)
        {
            Apply(e.Info());
        }
        lock (_gate)
        {
            if (Since is null || since < Since)
            {
                Since = since;
            }
        }
    }

    /// <summary>Takes a job's state unless it knows a later one (requested, then planned, then completed or cancelled).</summary>
    public bool Apply(CollectionJobInfo job)
    {
        ArgumentNullException.ThrowIfNull(job);
        lock (_gate)
        {
            if (_jobs.TryGetValue(job.Id, out var known) && Rank(known.State) > Rank(job.State))
            {
                return false;
            }
            if (known == job)
            {
                return false;
            }
            _jobs[job.Id] = job;
            return true;
        }
    }

    public CollectionJobInfo? Find(string id)
    {
        lock (_gate)
        {
            return _jobs.GetValueOrDefault(id);
        }
    }

    /// <summary>Jobs requested in [from, to) in the state asked for (<c>open</c> = requested or planned, a state, or <c>all</c>), newest first.</summary>
    public IReadOnlyList<CollectionJobInfo> Query(string state, DateTimeOffset? from, DateTimeOffset? to, int limit)
    {
        lock (_gate)
        {
            return [.. _jobs.Values
                .Where(j => state switch { "open" => j.State is "requested" or "planned", "all" => true, _ => j.State == state })
                .Where(j => (from is null || j.RequestedAt >= from) && (to is null || j.RequestedAt < to))
                .OrderByDescending(j => j.Priority == "urgent").ThenBy(j => j.Deadline).ThenBy(j => j.Id, StringComparer.Ordinal)
                .Take(limit)];
        }
    }

    private static int Rank(string state) => state switch
    {
        "requested" => 0,
        "planned" => 1,
        _ => 2,
    };
}
