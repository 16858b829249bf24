using Microsoft.Extensions.Options;
using Telemetry.Fleet;
using Telemetry.Scheduling.Alerts;

namespace Telemetry.Scheduling;

/// <summary>The <c>Scheduling</c> section: the collection threshold, the fill signal's history, and the scheduler's tick and lease.</summary>
public sealed class SchedulingOptions
{
    public const string Section = "Scheduling";

    /// <summary>The collection threshold, % of a compartment's volume (CONTRACT §4).</summary>
    public double ThresholdPct { get; set; } = 80;

    /// <summary>Days of stored readings the fill signal is rebuilt from at start (its rhythm needs a week or more).</summary>
    public int HistoryDays { get; set; } = 21;

    /// <summary>How often the scheduler decides, on its clock (simulated time in <c>demo</c>).</summary>
    public TimeSpan TickInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>A scheduler that has not heard its lease for this long stops acting; a new holder waits as long before it starts.</summary>
    public TimeSpan LeaseTimeout { get; set; } = TimeSpan.FromSeconds(6);

    /// <summary>
    /// Per stream name, the longest a compartment of that stream may hold waste: the scheduler raises a job (reason
    /// <c>dwell</c>) in time for the stream's next shift when the waste would be older by the shift after. Kitchen waste rots,
    /// so by default it is emptied at least once a day; <c>00:00:00</c> turns a stream's dwell off.
    /// </summary>
    public Dictionary<string, TimeSpan> MaxDwell { get; set; } = new(StringComparer.Ordinal) { ["kitchen"] = TimeSpan.FromDays(1) };

    /// <summary>
    /// A compartment below this level (% of its volume) gets no job from a prediction alone: a slow compartment's predicted rise
    /// is mostly sensor noise, and emptying it early costs a visit for little waste (<c>bench loop</c>: at 30 the waste taken per
    /// compartment emptied doubles while overflows stay a fifteenth of the fixed rounds'). 0 turns the floor off.
    /// </summary>
    public double PredictedFromPct { get; set; } = 30;

    /// <summary>
    /// Per stream name, how far ahead a prediction gathers a stream's compartments into one round: a compartment predicted full
    /// within this time after the stream's next shift starts gets its job now (reason <c>predicted</c>), besides those at the
    /// threshold before the shift after next. The routing worker drives a shift only when its jobs cannot wait for the following
    /// shift (<c>Routing:WaitOverflowHours</c>), and then takes them all along: so a stream's trucks go out less often, each time for more bins.
    /// <c>00:00:00</c> (or no entry) turns it off for a stream.
    /// </summary>
    public Dictionary<string, TimeSpan> CollectAhead { get; set; } = new(StringComparer.Ordinal);

    /// <summary><see cref="CollectAhead"/> by stream, the streams turned off left out (validated names).</summary>
    public IReadOnlyDictionary<WasteStream, TimeSpan> CollectAheadByStream() =>
        CollectAhead.Where(d => d.Value > TimeSpan.Zero).ToDictionary(d => WasteStreams.Parse(d.Key), d => d.Value);

    /// <summary><see cref="MaxDwell"/> by stream, the streams turned off left out (validated names).</summary>
    public IReadOnlyDictionary<WasteStream, TimeSpan> MaxDwellByStream() =>
        MaxDwell.Where(d => d.Value > TimeSpan.Zero).ToDictionary(d => WasteStreams.Parse(d.Key), d => d.Value);

    /// <summary>Where the lock file lives that refuses a second scheduler on the in-memory bus (default: next to the SQLite file, or the temp folder).</summary>
    public string? LockPath { get; set; }
}

internal sealed class SchedulingOptionsValidator : IValidateOptions<SchedulingOptions>
{
    public ValidateOptionsResult Validate(string? name, SchedulingOptions o)
    {
        if (!(o.ThresholdPct is > 0 and <= 100 && double.IsFinite(o.ThresholdPct)))
        {
            return ValidateOptionsResult.Fail($"Scheduling:ThresholdPct: '{o.ThresholdPct}' must be above 0 and at most 100");
        }
        if (o.HistoryDays is < 1 or > 366)
        {
            return ValidateOptionsResult.Fail($"Scheduling:HistoryDays: '{o.HistoryDays}' must be from 1 to 366");
        }
        if (o.TickInterval < TimeSpan.FromSeconds(1) || o.TickInterval > TimeSpan.FromHours(1))
        {
            return ValidateOptionsResult.Fail($"Scheduling:TickInterval: '{o.TickInterval}' must be from 00:00:01 to 01:00:00");
        }
        if (!(double.IsFinite(o.PredictedFromPct) && o.PredictedFromPct >= 0 && o.PredictedFromPct < o.ThresholdPct))
        {
            return ValidateOptionsResult.Fail($"Scheduling:PredictedFromPct: '{o.PredictedFromPct}' must be from 0 to below Scheduling:ThresholdPct");
        }
        foreach (var (stream, dwell) in o.MaxDwell)
        {
            if (!WasteStreams.TryParse(stream, out _))
            {
                return ValidateOptionsResult.Fail($"Scheduling:MaxDwell:{stream}: '{stream}' is not a stream (recyclable, kitchen, hazardous, residual)");
            }
            if (dwell != TimeSpan.Zero && (dwell < TimeSpan.FromHours(1) || dwell > TimeSpan.FromDays(60)))
            {
                return ValidateOptionsResult.Fail($"Scheduling:MaxDwell:{stream}: '{dwell}' must be 00:00:00 (off) or from 01:00:00 to 60.00:00:00");
            }
        }
        foreach (var (stream, ahead) in o.CollectAhead)
        {
            if (!WasteStreams.TryParse(stream, out _))
            {
                return ValidateOptionsResult.Fail($"Scheduling:CollectAhead:{stream}: '{stream}' is not a stream (recyclable, kitchen, hazardous, residual)");
            }
            if (ahead < TimeSpan.Zero || ahead > TimeSpan.FromDays(14))
            {
                return ValidateOptionsResult.Fail($"Scheduling:CollectAhead:{stream}: '{ahead}' must be from 00:00:00 (off) to 14.00:00:00");
            }
        }
        if (o.LeaseTimeout < TimeSpan.FromSeconds(2) || o.LeaseTimeout > TimeSpan.FromSeconds(20))
        {
            return ValidateOptionsResult.Fail($"Scheduling:LeaseTimeout: '{o.LeaseTimeout}' must be from 00:00:02 to 00:00:20 (a takeover takes about twice as long)");
        }
        return ValidateOptionsResult.Success;
    }
}

/// <summary>The <c>Alerts</c> section: every threshold and time of the alert rules (CONTRACT §6), and the webhooks of critical alerts.</summary>
public sealed class AlertSettings
{
    public const string Section = "Alerts";

    public double FillHysteresisPct { get; set; } = 10;
    public double OverflowPct { get; set; } = 95;
    public double OverflowClearPct { get; set; } = 90;
    public TimeSpan PredictedFullWithin { get; set; } = TimeSpan.FromHours(12);
    public TimeSpan PredictedFullClearBeyond { get; set; } = TimeSpan.FromHours(18);
    public double FireTempC { get; set; } = 70;
    public double FireRiseTempC { get; set; } = 50;
    public double FireRiseC { get; set; } = 25;
    public TimeSpan FireRiseWindow { get; set; } = TimeSpan.FromMinutes(30);
    public double FireClearTempC { get; set; } = 50;
    public TimeSpan DoorOpenFor { get; set; } = TimeSpan.FromMinutes(10);
    public double LowBatteryPct { get; set; } = 15;
    public double LowBatteryWarningPct { get; set; } = 5;
    public double LowBatteryClearPct { get; set; } = 25;
    public int OfflineIntervals { get; set; } = 3;
    public TimeSpan DefaultReportingInterval { get; set; } = TimeSpan.FromMinutes(10);
    public TimeSpan StuckWindow { get; set; } = TimeSpan.FromHours(24);
    public double StuckBandPct { get; set; } = 1.5;
    public double StuckDepositKg { get; set; } = 10;
    public double StuckClearPct { get; set; } = 3;
    public TimeSpan RefireAfter { get; set; } = TimeSpan.FromHours(4);
    public TimeSpan EscalateAfter { get; set; } = TimeSpan.FromHours(12);

    /// <summary>URLs that critical alert events are POSTed to as JSON (SMS or workplace-chat gateways), by a name of your choice.</summary>
    public Dictionary<string, string> Webhooks { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Tries per webhook call (the first included), with growing pauses between.</summary>
    public int WebhookAttempts { get; set; } = 5;

    public AlertOptions ToRules(double thresholdPct) => new()
    {
        ThresholdPct = thresholdPct,
        FillHysteresisPct = FillHysteresisPct,
        OverflowPct = OverflowPct,
        OverflowClearPct = OverflowClearPct,
        PredictedFullWithin = PredictedFullWithin,
        PredictedFullClearBeyond = PredictedFullClearBeyond,
        FireTempC = FireTempC,
        FireRiseTempC = FireRiseTempC,
        FireRiseC = FireRiseC,
        FireRiseWindow = FireRiseWindow,
        FireClearTempC = FireClearTempC,
        DoorOpenFor = DoorOpenFor,
        LowBatteryPct = LowBatteryPct,
        LowBatteryWarningPct = LowBatteryWarningPct,
        LowBatteryClearPct = LowBatteryClearPct,
        OfflineIntervals = OfflineIntervals,
        DefaultReportingInterval = DefaultReportingInterval,
        StuckWindow = StuckWindow,
        StuckBandPct = StuckBandPct,
        StuckDepositKg = StuckDepositKg,
        StuckClearPct = StuckClearPct,
        RefireAfter = RefireAfter,
        EscalateAfter = EscalateAfter,
    };
}

internal sealed class AlertSettingsValidator(IOptions<SchedulingOptions> scheduling) : IValidateOptions<AlertSettings>
{
    public ValidateOptionsResult Validate(string? name, AlertSettings options)
    {
        if (options.ToRules(scheduling.Value.ThresholdPct).Problem() is { } problem)
        {
            return ValidateOptionsResult.Fail(problem);
        }
        if (options.WebhookAttempts is < 1 or > 20)
        {
            return ValidateOptionsResult.Fail($"Alerts:WebhookAttempts: '{options.WebhookAttempts}' must be from 1 to 20");
        }
        foreach (var (key, url) in options.Webhooks)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                return ValidateOptionsResult.Fail($"Alerts:Webhooks:{key}: '{url}' is not an http or https URL");
            }
        }
        return ValidateOptionsResult.Success;
    }
}
