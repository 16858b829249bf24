namespace Telemetry.Storage;

/// <summary>
/// A message that was rejected, kept with its reason (measurement <c>dead_letter</c>).
/// <see cref="BinId"/> is a registry id or <c>unknown</c>; <see cref="Payload"/> is the first 4,096 bytes of the
/// payload as text when they are valid UTF-8, else <c>base64:</c> and their Base64 (<see cref="DeadLetters.PayloadText"/>).
/// Every text is kept exactly, whatever characters it holds.
/// </summary>
public sealed record DeadLetter(DateTimeOffset ReceivedAt, string Reason, string BinId, string Ingester, string Topic, string Payload, string Error);

/// <summary>The latest fill and weight of one compartment.</summary>
public sealed record LatestCompartment(
    string BinId, string Community, string Compartment, string Stream,
    DateTimeOffset? FillTime, double? FillPct, DateTimeOffset? WeightTime, double? NetKg);

/// <summary>The latest status fields of one bin; each field is the latest value given.</summary>
public sealed record LatestStatus(string BinId, DateTimeOffset LastSeen, bool? Online, double? BatteryPct, double? TempC, bool? Tilt, bool? DoorOpen);

/// <summary>One time bucket of one compartment's history: mean fill and last net weight in the bucket.</summary>
public sealed record HistoryBucket(string Compartment, DateTimeOffset Start, double? FillPct, double? NetKg);

/// <summary>Deposited kg on one local day, in one community, of one material (compartment id) and its stream.</summary>
public sealed record DepositTotal(DateOnly Day, string Community, string Stream, string Material, double Kg);

/// <summary>Dead letters of one reason.</summary>
public sealed record DeadLetterCount(string Reason, long Count);

/// <summary>Stored points in a time range: each reading identity once.</summary>
public sealed record StoredCounts(long Fill, long Weight, long Status, long DeadLetters)
{
    public long Readings => Fill + Weight + Status;
}

/// <summary>Which dead letters a query returns: of this reason and this bin tag, each when not null.</summary>
public sealed record DeadLetterFilter(string? Reason, string? Bin)
{
    public static readonly DeadLetterFilter None = new(null, null);
}

/// <summary>
/// An emptying detected from a compartment's cleaned signal (measurement <c>collection</c>): when it happened, how many kg the
/// weight fell by and the cleaned fill before and after. Its identity is (bin, compartment, time).
/// </summary>
public sealed record CollectionEvent(
    string BinId, string Community, string Compartment, string Stream, DateTimeOffset Time,
    double KgCollected, double FillBeforePct, double FillAfterPct);

/// <summary>
/// A device event (measurement <c>device_event</c>): <see cref="Kind"/> is <c>offline</c>, <c>online</c> or <c>reboot</c>
/// (a <c>seq</c> that went down: <see cref="Seq"/> is the new one, <see cref="Detail"/> says from what). Its identity is
/// (bin, kind, time).
/// </summary>
public sealed record DeviceEvent(string BinId, string Community, DateTimeOffset Time, string Kind, long? Seq, string Detail);

/// <summary>
/// One alert event as stored (measurement <c>alert_event</c>): <see cref="Type"/> is <c>raised</c>, <c>cleared</c>,
/// <c>escalated</c>, <c>refired</c> or <c>acknowledged</c>, <see cref="At"/> when it happened; the other fields are the alert after
/// the event (CONTRACT §6). <see cref="Compartment"/> is null for a bin's alerts. Its identity is (bin, compartment, kind, type, at).
/// </summary>
public sealed record StoredAlertEvent(
    string Type, DateTimeOffset At, string AlertId, string BinId, string Community, string? Compartment, string Kind, string Severity,
    DateTimeOffset RaisedAt, DateTimeOffset? ClearedAt, DateTimeOffset? AcknowledgedAt, string? AcknowledgedBy);

/// <summary>
/// One collection-job event as stored (measurement <c>job_event</c>): <see cref="Type"/> is <c>requested</c>, <c>planned</c>,
/// <c>completed</c> or <c>cancelled</c>, <see cref="At"/> when it happened; the other fields are the job after the event (CONTRACT §6 job
/// fields). Its identity is (job id, type, at).
/// </summary>
public sealed record StoredJobEvent(
    string Type, DateTimeOffset At, string JobId, string BinId, string Community, IReadOnlyList<string> Compartments, string Stream,
    string Reason, string Priority, DateTimeOffset? PredictedFullAt, DateTimeOffset Deadline, string State, string? Vehicle,
    DateTimeOffset RequestedAt, string RequestedBy, DateTimeOffset? PlannedAt, DateTimeOffset? CompletedAt, DateTimeOffset? CancelledAt, string? By);

/// <summary>
/// One route plan as stored (measurement <c>route_plan</c>): a stream's plan for one vehicle shift at one revision (a re-plan during
/// the shift is the next revision of the same <see cref="PlanId"/>). <see cref="Body"/> is the JSON of the <c>RoutePlanned</c> message,
/// kept as it is: the store reads only the other fields. Its identity is (plan id, revision). Times are kept to the millisecond.
/// </summary>
public sealed record StoredRoutePlan(
    string PlanId, int Revision, string Stream, DateTimeOffset ShiftStart, DateTimeOffset ShiftEnd, DateTimeOffset PlannedAt, string Body);
