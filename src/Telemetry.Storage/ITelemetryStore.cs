using Telemetry.Contracts.Readings;

namespace Telemetry.Storage;

/// <summary>
/// What the system writes and reads. Two backends (InfluxDB, SQLite) pass one contract test suite.
/// A reading's identity is (measurement, bin, compartment, time): written twice, it is stored once,
/// and the later write wins.
/// </summary>
public interface ITelemetryStore : IAsyncDisposable
{
    /// <summary>Backend name for logs and benchmark output.</summary>
    string Name { get; }

    /// <summary>
    /// Creates what is missing (database, tables) and checks that the store answers and takes writes with the
    /// configured credentials. Throws <see cref="StoreUnavailableException"/> when the store cannot be reached
    /// (retry later) and <see cref="Telemetry.Contracts.Configuration.ConfigurationException"/>, naming the
    /// setting, when the settings cannot work (wrong credentials, a path that cannot be written).
    /// </summary>
    Task InitializeAsync(CancellationToken ct);

    /// <summary>
    /// Writes readings and dead letters durably; when it returns they survive a crash. Throws
    /// <see cref="StoreUnavailableException"/> when the store cannot be reached (retry later) and
    /// <see cref="StoreRejectedException"/> when it refuses the data (do not retry as is; see
    /// <see cref="StoreRejectedException.IsStoreWide"/>). Anything else, e.g. <see cref="StoreFailedException"/>,
    /// means the store cannot work: the caller stops.
    /// </summary>
    Task WriteAsync(IReadOnlyList<Reading> readings, IReadOnlyList<DeadLetter> deadLetters, CancellationToken ct);

    Task<IReadOnlyList<LatestCompartment>> GetLatestAsync(CancellationToken ct);

    Task<IReadOnlyList<LatestStatus>> GetLatestStatusAsync(CancellationToken ct);

    /// <summary>Buckets of <paramref name="every"/> from <paramref name="start"/> (inclusive) to <paramref name="end"/> (exclusive), aligned to the epoch.</summary>
    Task<IReadOnlyList<HistoryBucket>> GetHistoryAsync(string binId, DateTimeOffset start, DateTimeOffset end, TimeSpan every, CancellationToken ct) =>
        GetHistoryAsync(binId, start, end, every, TimeSpan.Zero, ct);

    /// <summary>
    /// Buckets of <paramref name="every"/> whose starts are the epoch plus <paramref name="origin"/> plus a multiple of
    /// <paramref name="every"/> (0 ≤ origin &lt; every: for day buckets at local midnight in UTC+8, 16 hours), over readings in
    /// [start, end): per compartment the mean fill and the last net weight of each bucket.
    /// </summary>
    Task<IReadOnlyList<HistoryBucket>> GetHistoryAsync(string binId, DateTimeOffset start, DateTimeOffset end, TimeSpan every, TimeSpan origin, CancellationToken ct);

    /// <summary>Deposited kg per local day (in <paramref name="zone"/>), community and material, for deposits in [start, end).</summary>
    Task<IReadOnlyList<DepositTotal>> GetDepositsAsync(DateTimeOffset start, DateTimeOffset end, TimeZoneInfo zone, CancellationToken ct) =>
        GetDepositsAsync(start, end, zone, null, ct);

    /// <summary>As above, of one bin's deposits only when <paramref name="binId"/> is given.</summary>
    Task<IReadOnlyList<DepositTotal>> GetDepositsAsync(DateTimeOffset start, DateTimeOffset end, TimeZoneInfo zone, string? binId, CancellationToken ct);

    /// <summary>The most recent dead letters received in [start, end), newest first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(DateTimeOffset start, DateTimeOffset end, int limit, CancellationToken ct) =>
        GetDeadLettersAsync(start, end, limit, DeadLetterFilter.None, ct);

    /// <summary>As above, only those of the filter's reason and bin (each when given).</summary>
    Task<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(DateTimeOffset start, DateTimeOffset end, int limit, DeadLetterFilter filter, CancellationToken ct);

    Task<IReadOnlyList<DeadLetterCount>> GetDeadLettersByReasonAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken ct) =>
        GetDeadLettersByReasonAsync(start, end, DeadLetterFilter.None, ct);

    Task<IReadOnlyList<DeadLetterCount>> GetDeadLettersByReasonAsync(DateTimeOffset start, DateTimeOffset end, DeadLetterFilter filter, CancellationToken ct);

    /// <summary>Points stored with a time in [start, end).</summary>
    Task<StoredCounts> CountAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken ct) => CountAsync(start, end, null, ct);

    /// <summary>
    /// Points stored with a time in [start, end) whose bin id starts with <paramref name="binPrefix"/>
    /// (letters, digits, '-' and '_' only); dead letters count by their bin tag too.
    /// </summary>
    Task<StoredCounts> CountAsync(DateTimeOffset start, DateTimeOffset end, string? binPrefix, CancellationToken ct);

    /// <summary>
    /// Readings (fill, weight and status points) of exactly bin <paramref name="binId"/> at exactly the millisecond of
    /// <paramref name="time"/>: a cheap, exact lookup by identity (no prefix match, no range scan), for checking that one
    /// message is stored. Dead letters do not count.
    /// </summary>
    Task<int> CountReadingsAsync(string binId, DateTimeOffset time, CancellationToken ct);

    /// <summary>
    /// The stored readings (fill, weight and status) with a time in [start, end), of the bins named (every bin when
    /// <paramref name="binIds"/> is null), ordered by time, then bin, then measurement (fill, weight, status), then
    /// compartment: what the fill signal is rebuilt from at start and kept current from.
    /// </summary>
    Task<IReadOnlyList<Reading>> GetReadingsAsync(IReadOnlyCollection<string>? binIds, DateTimeOffset start, DateTimeOffset end, CancellationToken ct);

    /// <summary>
    /// Writes detected events durably (measurements <c>collection</c> and <c>device_event</c>); the same event written
    /// twice is stored once and the later write wins. Errors as <see cref="WriteAsync"/>.
    /// </summary>
    Task WriteEventsAsync(IReadOnlyList<CollectionEvent> collections, IReadOnlyList<DeviceEvent> deviceEvents, CancellationToken ct);

    /// <summary>Collections with a time in [start, end), of one bin when <paramref name="binId"/> is given, ordered by time then compartment.</summary>
    Task<IReadOnlyList<CollectionEvent>> GetCollectionsAsync(string? binId, DateTimeOffset start, DateTimeOffset end, CancellationToken ct);

    /// <summary>Device events with a time in [start, end), of one bin when <paramref name="binId"/> is given, ordered by time then kind.</summary>
    Task<IReadOnlyList<DeviceEvent>> GetDeviceEventsAsync(string? binId, DateTimeOffset start, DateTimeOffset end, CancellationToken ct);

    /// <summary>
    /// Writes alert events durably (measurement <c>alert_event</c>); the same event written twice is stored once and the later
    /// write wins. Errors as <see cref="WriteAsync"/>.
    /// </summary>
    Task WriteAlertEventsAsync(IReadOnlyList<StoredAlertEvent> events, CancellationToken ct);

    /// <summary>
    /// Alert events with a time in [start, end), oldest first (then by bin, compartment, kind, type), at most
    /// <paramref name="limit"/> of the newest when there are more: what the scheduler rebuilds its alerts from and what the
    /// alert history is served from.
    /// </summary>
    Task<IReadOnlyList<StoredAlertEvent>> GetAlertEventsAsync(DateTimeOffset start, DateTimeOffset end, int limit, CancellationToken ct);

    /// <summary>Writes job events durably (measurement <c>job_event</c>); the same event written twice is stored once and the later write wins. Errors as <see cref="WriteAsync"/>.</summary>
    Task WriteJobEventsAsync(IReadOnlyList<StoredJobEvent> events, CancellationToken ct);

    /// <summary>Job events with a time in [start, end), oldest first (then by job id, type), at most <paramref name="limit"/> of the newest when there are more.</summary>
    Task<IReadOnlyList<StoredJobEvent>> GetJobEventsAsync(DateTimeOffset start, DateTimeOffset end, int limit, CancellationToken ct);

    /// <summary>
    /// The newest stored position of each vehicle (measurement <c>vehicle_position</c>, written by <see cref="WriteAsync"/> from
    /// <see cref="VehiclePositionReading"/>s), ordered by vehicle id: where the trucks are.
    /// </summary>
    Task<IReadOnlyList<VehiclePositionReading>> GetLatestVehiclePositionsAsync(CancellationToken ct);

    /// <summary>
    /// Writes a route plan durably (measurement <c>route_plan</c>). Idempotent: the same plan id and revision written again is one
    /// plan, the later write winning (of two with different <see cref="StoredRoutePlan.PlannedAt"/>, the later planned one stays).
    /// Errors as <see cref="WriteAsync"/>.
    /// </summary>
    Task WriteRoutePlanAsync(StoredRoutePlan plan, CancellationToken ct);

    /// <summary>
    /// The plans whose shift touches [<paramref name="from"/>, <paramref name="to"/>] (<see cref="StoredRoutePlan.ShiftEnd"/> ≥ from and
    /// <see cref="StoredRoutePlan.ShiftStart"/> ≤ to), every revision, ordered by planned time, then revision, then plan id.
    /// </summary>
    Task<IReadOnlyList<StoredRoutePlan>> GetRoutePlansAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken ct);
}

/// <summary>The store could not be reached or is overloaded; the write may be retried.</summary>
public sealed class StoreUnavailableException : Exception
{
    public StoreUnavailableException() { }
    public StoreUnavailableException(string message) : base(message) { }
    public StoreUnavailableException(string message, Exception inner) : base(message, inner) { }

    /// <summary>How long the store asked us to wait (HTTP Retry-After), if it said.</summary>
    public TimeSpan? RetryAfter { get; init; }
}

/// <summary>The store refused the data (e.g. HTTP 400); retrying the same batch as it is will fail again.</summary>
public sealed class StoreRejectedException : Exception
{
    public StoreRejectedException() { }
    public StoreRejectedException(string message) : base(message) { }
    public StoreRejectedException(string message, Exception inner) : base(message, inner) { }

    /// <summary>
    /// True when the refusal comes from the store's own state, not from the data: a field whose type in the
    /// store differs from the contract's (someone created <c>pct</c> as an integer), a series or tag-value
    /// limit. Every valid message of the kind would be refused alike, so it must be waited for (until the
    /// store is fixed), never turned into a dead letter.
    /// </summary>
    public bool IsStoreWide { get; init; }
}

/// <summary>
/// The store cannot work and retrying will not help (SQLite: read-only, corrupt, not a database, no
/// permission): the message names the store and the reason, and the role stops.
/// </summary>
public sealed class StoreFailedException : Exception
{
    public StoreFailedException() { }
    public StoreFailedException(string message) : base(message) { }
    public StoreFailedException(string message, Exception inner) : base(message, inner) { }
}
