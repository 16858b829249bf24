using System.Diagnostics.CodeAnalysis;

namespace Telemetry.Scheduling.Alerts;

/// <summary>The alert rules' thresholds and times (CONTRACT §6, alerts); each is a setting, validated at start.</summary>
public sealed record AlertOptions
{
    public double ThresholdPct { get; init; } = 80;
    public double FillHysteresisPct { get; init; } = 10;
    public double OverflowPct { get; init; } = 95;
    public double OverflowClearPct { get; init; } = 90;
    public TimeSpan PredictedFullWithin { get; init; } = TimeSpan.FromHours(12);
    public TimeSpan PredictedFullClearBeyond { get; init; } = TimeSpan.FromHours(18);
    public double FireTempC { get; init; } = 70;
    public double FireRiseTempC { get; init; } = 50;
    public double FireRiseC { get; init; } = 25;
    public TimeSpan FireRiseWindow { get; init; } = TimeSpan.FromMinutes(30);
    public double FireClearTempC { get; init; } = 50;
    public TimeSpan DoorOpenFor { get; init; } = TimeSpan.FromMinutes(10);
    public double LowBatteryPct { get; init; } = 15;
    public double LowBatteryWarningPct { get; init; } = 5;
    public double LowBatteryClearPct { get; init; } = 25;
    public int OfflineIntervals { get; init; } = 3;
    public TimeSpan DefaultReportingInterval { get; init; } = TimeSpan.FromMinutes(10);
    public TimeSpan StuckWindow { get; init; } = TimeSpan.FromHours(24);
    public double StuckBandPct { get; init; } = 1.5;
    public double StuckDepositKg { get; init; } = 10;
    public double StuckClearPct { get; init; } = 3;
    public TimeSpan RefireAfter { get; init; } = TimeSpan.FromHours(4);
    public TimeSpan EscalateAfter { get; init; } = TimeSpan.FromHours(12);

    /// <summary>The first problem with these values (naming the setting under <c>Alerts:</c>), or null.</summary>
    public string? Problem()
    {
        if (!(ThresholdPct is > 0 and <= 100))
        {
            return "Scheduling:ThresholdPct must be above 0 and at most 100";
        }
        if (!(FillHysteresisPct > 0 && FillHysteresisPct < ThresholdPct))
        {
            return "Alerts:FillHysteresisPct must be above 0 and below Scheduling:ThresholdPct";
        }
        if (!(OverflowPct > ThresholdPct && OverflowPct <= 100 && OverflowClearPct < OverflowPct && OverflowClearPct > 0))
        {
            return "Alerts:OverflowPct must be above Scheduling:ThresholdPct and at most 100, Alerts:OverflowClearPct below it";
        }
        if (PredictedFullClearBeyond < PredictedFullWithin || PredictedFullWithin <= TimeSpan.Zero)
        {
            return "Alerts:PredictedFullClearBeyond must be at least Alerts:PredictedFullWithin, which must be positive";
        }
        if (!(FireClearTempC <= FireRiseTempC && FireRiseTempC <= FireTempC && FireRiseC > 0))
        {
            return "Alerts:FireClearTempC ≤ Alerts:FireRiseTempC ≤ Alerts:FireTempC, and Alerts:FireRiseC above 0";
        }
        if (!(LowBatteryWarningPct < LowBatteryPct && LowBatteryPct < LowBatteryClearPct && LowBatteryClearPct <= 100 && LowBatteryWarningPct >= 0))
        {
            return "Alerts:LowBatteryWarningPct < Alerts:LowBatteryPct < Alerts:LowBatteryClearPct ≤ 100";
        }
        if (OfflineIntervals < 1 || DefaultReportingInterval <= TimeSpan.Zero)
        {
            return "Alerts:OfflineIntervals must be at least 1 and Alerts:DefaultReportingInterval positive";
        }
        if (StuckWindow <= TimeSpan.Zero || StuckBandPct <= 0 || StuckClearPct <= StuckBandPct || StuckDepositKg <= 0)
        {
            return "Alerts:StuckWindow positive, Alerts:StuckBandPct above 0 and below Alerts:StuckClearPct, Alerts:StuckDepositKg above 0";
        }
        if (RefireAfter <= TimeSpan.Zero || EscalateAfter <= TimeSpan.Zero || DoorOpenFor <= TimeSpan.Zero || FireRiseWindow <= TimeSpan.Zero)
        {
            return "Alerts:RefireAfter, Alerts:EscalateAfter, Alerts:DoorOpenFor and Alerts:FireRiseWindow must be positive";
        }
        return null;
    }
}

/// <summary>Alert kinds of CONTRACT §6, as they are named on the wire.</summary>
public static class AlertKinds
{
    public const string Fill = "fill";
    public const string Overflow = "overflow";
    public const string PredictedFull = "predicted-full";
    public const string Fire = "fire";
    public const string Tilt = "tilt";
    public const string DoorOpen = "door-open";
    public const string LowBattery = "low-battery";
    public const string Offline = "offline";
    public const string StuckSensor = "stuck-sensor";
}

/// <summary>Severities, lowest first.</summary>
public static class Severities
{
    public const string Info = "info";
    public const string Warning = "warning";
    public const string Critical = "critical";

    public static string Up(string s) => s == Info ? Warning : Critical;
}

/// <summary>An alert as <c>/api/alerts</c> shows it: per bin, and per compartment where the kind is.</summary>
public sealed record Alert(
    string Id, string Bin, string? Compartment, string Kind, string Severity, DateTimeOffset RaisedAt,
    DateTimeOffset? ClearedAt = null, DateTimeOffset? AcknowledgedAt = null, string? AcknowledgedBy = null, bool Escalated = false);

/// <summary>One alert event: <c>raised</c>, <c>cleared</c>, <c>escalated</c>, <c>refired</c> or <c>acknowledged</c>, with the alert after it.</summary>
public sealed record AlertEvent(string Type, Alert Alert, DateTimeOffset At)
{
    public const string Raised = "raised";
    public const string Cleared = "cleared";
    public const string Escalated = "escalated";
    public const string Refired = "refired";
    public const string Acknowledged = "acknowledged";
}

/// <summary>What an acknowledgement did.</summary>
public enum AckResult
{
    Acknowledged,
    NotFound,
    AlreadyCleared,
}

/// <summary>
/// The alert rules of CONTRACT §6 (pure, single-threaded): readings and ticks in, alert events out. Times come from the readings
/// and from the ticks' <c>now</c> (the scheduler's <see cref="TimeProvider"/>), never from a clock of its own. A reading older
/// than the newest of its bin and measurement never raises or clears an alert; a status timed by its receive time (no
/// <c>ts</c>) does not move that mark. An alert's id is made from its bin, compartment, kind and raising time, so the same
/// readings give the same ids after a restart.
/// </summary>
public sealed class AlertEngine(AlertOptions options)
{
    private readonly AlertOptions _o = options;
    private readonly Dictionary<(string Bin, string? Compartment, string Kind), Alert> _active = [];
    private readonly Dictionary<string, Alert> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, BinState> _bins = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Bin, string Compartment), CompartmentState> _compartments = [];
    private readonly Queue<string> _cleared = new();
    private DateTimeOffset? _ingestionDisconnectedAt;
    private DateTimeOffset? _ingestionReconnectedAt;
    private bool _ingestionDown;

    public IReadOnlyCollection<Alert> Active => _active.Values;

    public Alert? Find(string id) => _byId.GetValueOrDefault(id);

    /// <summary>Forgets an alert (active or not) as if it had never been raised: a takeover drops what only its own ticks derived.</summary>
    public void Forget(string id)
    {
        if (_byId.Remove(id, out var alert) && _active.TryGetValue((alert.Bin, alert.Compartment, alert.Kind), out var active) && active.Id == id)
        {
            RemoveActive((alert.Bin, alert.Compartment, alert.Kind), out _);
        }
    }

    /// <summary>The active alert of a kind on a bin (compartment null) or compartment, if any.</summary>
    public Alert? ActiveOf(string bin, string? compartment, string kind) => _active.GetValueOrDefault((bin, compartment, kind));

    /// <summary>
    /// Takes an alert's state as it was stored (what clients saw wins over what this engine derived): an active one replaces
    /// whatever is active for its bin, compartment and kind, with its acknowledgement and severity; a cleared one ends the active
    /// alert of the same id. Returns the id of an active alert it replaced, if it had another id.
    /// </summary>
    public string? Adopt(Alert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var key = (alert.Bin, alert.Compartment, alert.Kind);
        if (alert.ClearedAt is not null)
        {
            if (_active.TryGetValue(key, out var current) && current.Id == alert.Id)
            {
                RemoveActive(key, out _);
            }
            _byId[alert.Id] = alert;
            return null;
        }
        if (_byId.TryGetValue(alert.Id, out var known) && known.ClearedAt is not null)
        {
            return null; // this engine saw it clear after what was stored: the clear is news
        }
        string? replaced = null;
        if (_active.TryGetValue(key, out var other) && other.Id != alert.Id)
        {
            replaced = other.Id;
            _byId.Remove(other.Id);
        }
        SetActive(alert);
        _byId[alert.Id] = alert;
        return replaced;
    }

    /// <summary>
    /// Ingestion lost the broker at <paramref name="at"/>: no offline alert is raised while it is away, nor until 3 reporting
    /// intervals after it lost it or after it is back (its backlog comes then).
    /// </summary>
    public void IngestionDisconnected(DateTimeOffset at)
    {
        _ingestionDisconnectedAt = at;
        _ingestionDown = true;
    }

    /// <summary>Ingestion has the broker again (at <paramref name="at"/>).</summary>
    public void IngestionReconnected(DateTimeOffset at)
    {
        if (_ingestionDown)
        {
            _ingestionReconnectedAt = at;
        }
        _ingestionDown = false;
    }

    /// <summary>A cleaned fill reading (and its raw value); <paramref name="covered"/>: an open job covers the compartment.</summary>
    public IReadOnlyList<AlertEvent> Fill(string bin, string compartment, DateTimeOffset time, double cleanedPct, double rawPct, bool covered)
    {
        var events = new List<AlertEvent>();
        var b = Bin(bin);
        Heard(b, bin, time, fill: true, events);
        if (time < b.FillMark)
        {
            return events; // late: never raises or clears by itself
        }
        b.FillMark = time;
        var c = Compartment(bin, compartment);
        c.AtThreshold = cleanedPct >= _o.ThresholdPct ? c.AtThreshold + 1 : 0;
        c.AtOverflow = cleanedPct >= _o.OverflowPct ? c.AtOverflow + 1 : 0;
        if (c.AtThreshold >= 2 && !covered)
        {
            Raise(bin, compartment, AlertKinds.Fill, Severities.Warning, time, events);
        }
        else if (cleanedPct < _o.ThresholdPct - _o.FillHysteresisPct)
        {
            Clear(bin, compartment, AlertKinds.Fill, time, events);
        }
        if (c.AtOverflow >= 2)
        {
            Raise(bin, compartment, AlertKinds.Overflow, Severities.Critical, time, events);
        }
        else if (cleanedPct < _o.OverflowClearPct)
        {
            Clear(bin, compartment, AlertKinds.Overflow, time, events);
        }
        Stuck(bin, compartment, c, time, rawPct, events);
        return events;
    }

    /// <summary>A deposit's weight (for the stuck-sensor rule) and the message it came in.</summary>
    public IReadOnlyList<AlertEvent> Deposit(string bin, string compartment, DateTimeOffset time, double kg)
    {
        var events = new List<AlertEvent>();
        Heard(Bin(bin), bin, time, fill: false, events);
        var c = Compartment(bin, compartment);
        c.Deposits.Enqueue((time, kg));
        return events;
    }

    /// <summary>A prediction: when the compartment will be full (null: not within the horizon).</summary>
    public IReadOnlyList<AlertEvent> Prediction(string bin, string compartment, DateTimeOffset time, DateTimeOffset? fullAt, bool covered)
    {
        var events = new List<AlertEvent>();
        Prediction(bin, compartment, time, fullAt, covered, events);
        return events;
    }

    /// <summary>The same, adding its events to <paramref name="events"/>: a tick over every compartment allocates nothing per compartment.</summary>
    internal void Prediction(string bin, string compartment, DateTimeOffset time, DateTimeOffset? fullAt, bool covered, List<AlertEvent> events)
    {
        var b = Bin(bin);
        if (time < b.FillMark)
        {
            return;
        }
        if (covered || fullAt is null || fullAt > time + _o.PredictedFullClearBeyond)
        {
            if (b.PredictedFullActive > 0)
            {
                Clear(bin, compartment, AlertKinds.PredictedFull, time, events);
            }
        }
        else if (fullAt <= time + _o.PredictedFullWithin)
        {
            Raise(bin, compartment, AlertKinds.PredictedFull, Severities.Warning, time, events);
        }
    }

    /// <summary>A status message; <paramref name="timeFromDevice"/> false when it had no <c>ts</c> (the Last Will).</summary>
    public IReadOnlyList<AlertEvent> Status(string bin, DateTimeOffset time, bool timeFromDevice, bool? online, double? batteryPct, double? tempC, bool? tilt, bool? doorOpen)
    {
        var events = new List<AlertEvent>();
        var b = Bin(bin);
        if (online == false)
        {
            if (!Suppressed(b, time))
            {
                Raise(bin, null, AlertKinds.Offline, Severities.Warning, time, events);
            }
        }
        else
        {
            Heard(b, bin, time, fill: false, events);
        }
        if (timeFromDevice)
        {
            if (time < b.StatusMark)
            {
                return events; // late
            }
            b.StatusMark = time;
        }
        if (tilt is { } t)
        {
            if (t)
            {
                Raise(bin, null, AlertKinds.Tilt, Severities.Warning, time, events);
            }
            else
            {
                Clear(bin, null, AlertKinds.Tilt, time, events);
            }
        }
        if (doorOpen is { } d)
        {
            if (!d)
            {
                b.DoorOpenSince = null;
                Clear(bin, null, AlertKinds.DoorOpen, time, events);
            }
            else if (b.DoorOpenSince is not { } since)
            {
                b.DoorOpenSince = time;
            }
            else if (time - since >= _o.DoorOpenFor)
            {
                Raise(bin, null, AlertKinds.DoorOpen, Severities.Warning, time, events);
            }
        }
        if (batteryPct is { } battery)
        {
            if (battery <= _o.LowBatteryPct)
            {
                var severity = battery <= _o.LowBatteryWarningPct ? Severities.Warning : Severities.Info;
                if (_active.TryGetValue((bin, null, AlertKinds.LowBattery), out var low))
                {
                    if (severity == Severities.Warning && low.Severity == Severities.Info)
                    {
                        // Its own step up: the one escalation an alert gets (the 12-hour one does not add another).
                        Update(low with { Severity = Severities.Warning, Escalated = true }, AlertEvent.Escalated, time, events);
                    }
                }
                else
                {
                    Raise(bin, null, AlertKinds.LowBattery, severity, time, events);
                }
            }
            else if (battery >= _o.LowBatteryClearPct)
            {
                Clear(bin, null, AlertKinds.LowBattery, time, events);
            }
        }
        if (tempC is { } temp)
        {
            Fire(bin, b, time, temp, events);
        }
        return events;
    }

    /// <summary>A weight (or other) message that says the bin is there: clears an offline alert, teaches its reporting interval.</summary>
    public IReadOnlyList<AlertEvent> Message(string bin, DateTimeOffset time)
    {
        var events = new List<AlertEvent>();
        Heard(Bin(bin), bin, time, fill: false, events);
        return events;
    }

    /// <summary>
    /// What time alone decides, at <paramref name="now"/>: bins silent for 3 reporting intervals go offline (unless ingestion
    /// itself lost the broker within that span), acknowledged alerts that still hold fire again, old ones escalate once.
    /// </summary>
    public IReadOnlyList<AlertEvent> Tick(DateTimeOffset now)
    {
        var events = new List<AlertEvent>();
        foreach (var (id, b) in _bins)
        {
            if (b.LastHeard is { } heard && now - heard > b.Interval * _o.OfflineIntervals && !Suppressed(b, now))
            {
                Raise(id, null, AlertKinds.Offline, Severities.Warning, now, events);
            }
        }
        // Only the alerts that fire again or escalate now are copied (the loop below changes the dictionary), not every active one.
        List<Alert>? due = null;
        foreach (var alert in _active.Values)
        {
            if ((alert.AcknowledgedAt is { } ackedAt && now - ackedAt >= _o.RefireAfter) || (!alert.Escalated && now - alert.RaisedAt >= _o.EscalateAfter))
            {
                (due ??= []).Add(alert);
            }
        }
        foreach (var alert in due ?? [])
        {
            if (alert.AcknowledgedAt is { } acked && now - acked >= _o.RefireAfter)
            {
                Update(alert with { AcknowledgedAt = null, AcknowledgedBy = null }, AlertEvent.Refired, now, events);
            }
            var current = _active[(alert.Bin, alert.Compartment, alert.Kind)];
            if (!current.Escalated && now - current.RaisedAt >= _o.EscalateAfter)
            {
                if (current.Severity == Severities.Critical)
                {
                    // Nothing above critical: marked, no event.
                    var marked = current with { Escalated = true };
                    _byId[current.Id] = marked;
                    SetActive(marked);
                }
                else
                {
                    Update(current with { Severity = Severities.Up(current.Severity), Escalated = true }, AlertEvent.Escalated, now, events);
                }
            }
        }
        return events;
    }

    /// <summary>A dispatcher acknowledges an alert.</summary>
    public (AckResult Result, AlertEvent? Event) Acknowledge(string id, string by, DateTimeOffset at)
    {
        if (!_byId.TryGetValue(id, out var alert))
        {
            return (AckResult.NotFound, null);
        }
        if (alert.ClearedAt is not null)
        {
            return (AckResult.AlreadyCleared, null);
        }
        var events = new List<AlertEvent>();
        Update(alert with { AcknowledgedAt = at, AcknowledgedBy = by }, AlertEvent.Acknowledged, at, events);
        return (AckResult.Acknowledged, events[0]);
    }

    private void Fire(string bin, BinState b, DateTimeOffset time, double temp, List<AlertEvent> events)
    {
        while (b.Temps.Count > 0 && time - b.Temps.Peek().Time > _o.FireRiseWindow)
        {
            b.Temps.Dequeue();
        }
        var rose = temp >= _o.FireRiseTempC && b.Temps.Any(t => temp - t.TempC >= _o.FireRiseC);
        b.Temps.Enqueue((time, temp));
        if (temp >= _o.FireTempC || rose)
        {
            b.BelowFireClear = 0;
            Raise(bin, null, AlertKinds.Fire, Severities.Critical, time, events);
        }
        else if (temp < _o.FireClearTempC)
        {
            b.BelowFireClear++;
            if (b.BelowFireClear >= 2)
            {
                Clear(bin, null, AlertKinds.Fire, time, events);
            }
        }
        else
        {
            b.BelowFireClear = 0;
        }
    }

    private void Stuck(string bin, string compartment, CompartmentState c, DateTimeOffset time, double raw, List<AlertEvent> events)
    {
        if (_active.TryGetValue((bin, compartment, AlertKinds.StuckSensor), out _))
        {
            if (Math.Abs(raw - c.StuckAt) >= _o.StuckClearPct)
            {
                Clear(bin, compartment, AlertKinds.StuckSensor, time, events);
            }
        }
        c.Raw.Enqueue((time, raw));
        // Keep the last window, and the reading just before it (to know the window is covered).
        while (c.Raw.Count > 1 && time - c.Raw.ElementAt(1).Time >= _o.StuckWindow)
        {
            c.Raw.Dequeue();
        }
        while (c.Deposits.Count > 0 && time - c.Deposits.Peek().Time > _o.StuckWindow)
        {
            c.Deposits.Dequeue();
        }
        var first = c.Raw.Peek();
        if (time - first.Time >= _o.StuckWindow
            && c.Raw.All(r => Math.Abs(r.Pct - first.Pct) <= _o.StuckBandPct)
            && c.Deposits.Sum(d => d.Kg) >= _o.StuckDepositKg
            && !_active.ContainsKey((bin, compartment, AlertKinds.StuckSensor)))
        {
            c.StuckAt = first.Pct;
            Raise(bin, compartment, AlertKinds.StuckSensor, Severities.Warning, time, events);
        }
    }

    /// <summary>A message from the bin: clears an offline alert (unless late) and teaches the interval of its fill reports.</summary>
    private void Heard(BinState b, string bin, DateTimeOffset time, bool fill, List<AlertEvent> events)
    {
        if (fill && b.LastFill is { } last && time > last)
        {
            var gap = time - last;
            if (gap < TimeSpan.FromHours(6))
            {
                b.Interval = TimeSpan.FromTicks((long)((b.Interval.Ticks * 0.8) + (Math.Max(gap.Ticks, TimeSpan.FromSeconds(30).Ticks) * 0.2)));
            }
        }
        if (fill && (b.LastFill is null || time > b.LastFill))
        {
            b.LastFill = time;
        }
        if (b.LastHeard is null || time > b.LastHeard)
        {
            b.LastHeard = time;
            if (_active.ContainsKey((bin, null, AlertKinds.Offline)))
            {
                Clear(bin, null, AlertKinds.Offline, time, events);
                b.LastFill = fill ? time : null; // the gap over the outage is no reporting interval
            }
        }
    }

    private bool Suppressed(BinState b, DateTimeOffset now) =>
        _ingestionDown
        || (_ingestionDisconnectedAt is { } cut && now - cut <= b.Interval * _o.OfflineIntervals)
        || (_ingestionReconnectedAt is { } back && now - back <= b.Interval * _o.OfflineIntervals);

    private void Raise(string bin, string? compartment, string kind, string severity, DateTimeOffset at, List<AlertEvent> events)
    {
        if (_active.ContainsKey((bin, compartment, kind)))
        {
            return;
        }
        var id = $"{bin}:{compartment ?? "-"}:{kind}:{at.ToUnixTimeMilliseconds()}";
        var alert = new Alert(id, bin, compartment, kind, severity, at);
        SetActive(alert);
        _byId[id] = alert;
        events.Add(new AlertEvent(AlertEvent.Raised, alert, at));
    }

    private void Clear(string bin, string? compartment, string kind, DateTimeOffset at, List<AlertEvent> events)
    {
        if (!RemoveActive((bin, compartment, kind), out var alert))
        {
            return;
        }
        var cleared = alert with { ClearedAt = at };
        _byId[alert.Id] = cleared;
        events.Add(new AlertEvent(AlertEvent.Cleared, cleared, at));
        // Cleared alerts are remembered for a while (an acknowledgement of one is a conflict, not "unknown").
        _cleared.Enqueue(alert.Id);
        while (_cleared.Count > 10_000)
        {
            _byId.Remove(_cleared.Dequeue());
        }
    }

    private void Update(Alert alert, string type, DateTimeOffset at, List<AlertEvent> events)
    {
        SetActive(alert);
        _byId[alert.Id] = alert;
        events.Add(new AlertEvent(type, alert, at));
    }

    // Every change to the active alerts goes through these two: they keep each bin's count of active predicted-full alerts, so a
    // tick, which asks about every compartment's prediction, skips the look-up where the bin has none to clear.
    private void SetActive(Alert alert)
    {
        var key = (alert.Bin, alert.Compartment, alert.Kind);
        if (alert.Kind == AlertKinds.PredictedFull && !_active.ContainsKey(key))
        {
            Bin(alert.Bin).PredictedFullActive++;
        }
        _active[key] = alert;
    }

    private bool RemoveActive((string Bin, string? Compartment, string Kind) key, [MaybeNullWhen(false)] out Alert alert)
    {
        if (!_active.Remove(key, out alert))
        {
            return false;
        }
        if (key.Kind == AlertKinds.PredictedFull)
        {
            Bin(key.Bin).PredictedFullActive--;
        }
        return true;
    }

    private BinState Bin(string bin) => _bins.TryGetValue(bin, out var b) ? b : _bins[bin] = new BinState(_o.DefaultReportingInterval);

    private CompartmentState Compartment(string bin, string compartment) =>
        _compartments.TryGetValue((bin, compartment), out var c) ? c : _compartments[(bin, compartment)] = new CompartmentState();

    private sealed class BinState(TimeSpan interval)
    {
        public DateTimeOffset FillMark { get; set; } = DateTimeOffset.MinValue;
        public DateTimeOffset StatusMark { get; set; } = DateTimeOffset.MinValue;
        public DateTimeOffset? LastHeard { get; set; }
        public DateTimeOffset? LastFill { get; set; }
        public TimeSpan Interval { get; set; } = interval;
        public DateTimeOffset? DoorOpenSince { get; set; }
        public Queue<(DateTimeOffset Time, double TempC)> Temps { get; } = new();
        public int BelowFireClear { get; set; }
        public int PredictedFullActive { get; set; }
    }

    private sealed class CompartmentState
    {
        public int AtThreshold { get; set; }
        public int AtOverflow { get; set; }
        public Queue<(DateTimeOffset Time, double Pct)> Raw { get; } = new();
        public Queue<(DateTimeOffset Time, double Kg)> Deposits { get; } = new();
        public double StuckAt { get; set; }
    }
}
