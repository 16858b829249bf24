using Telemetry.Contracts.Readings;

namespace Telemetry.Storage;

/// <summary>
/// The orders of <see cref="ITelemetryStore"/>'s lists, applied in .NET by every backend so that they agree exactly
/// (SQLite compares text as UTF-8 bytes, .NET's ordinal comparison as UTF-16 code units). Sorts are stable.
/// </summary>
internal static class StoreOrder
{
    /// <summary>By time, then bin, then measurement (fill, weight, status), then compartment.</summary>
    public static List<Reading> Readings(IEnumerable<Reading> readings) =>
        [.. readings.OrderBy(r => r.Time)
            .ThenBy(r => r.BinId, StringComparer.Ordinal)
            .ThenBy(Rank)
            .ThenBy(Compartment, StringComparer.Ordinal)];

    /// <summary>By time, then compartment, then bin.</summary>
    public static List<CollectionEvent> Collections(IEnumerable<CollectionEvent> collections) =>
        [.. collections.OrderBy(c => c.Time)
            .ThenBy(c => c.Compartment, StringComparer.Ordinal)
            .ThenBy(c => c.BinId, StringComparer.Ordinal)];

    /// <summary>By time, then kind, then bin.</summary>
    public static List<DeviceEvent> DeviceEvents(IEnumerable<DeviceEvent> events) =>
        [.. events.OrderBy(e => e.Time)
            .ThenBy(e => e.Kind, StringComparer.Ordinal)
            .ThenBy(e => e.BinId, StringComparer.Ordinal)];

    /// <summary>
    /// By time (<see cref="StoredAlertEvent.At"/>), then bin, then compartment (a bin's alerts, without one, first), then kind,
    /// then type.
    /// </summary>
    public static List<StoredAlertEvent> AlertEvents(IEnumerable<StoredAlertEvent> events) =>
        [.. events.OrderBy(e => e.At)
            .ThenBy(e => e.BinId, StringComparer.Ordinal)
            .ThenBy(e => e.Compartment, StringComparer.Ordinal)
            .ThenBy(e => e.Kind, StringComparer.Ordinal)
            .ThenBy(e => e.Type, StringComparer.Ordinal)];

    /// <summary>
    /// The newest <paramref name="limit"/> of <paramref name="events"/> (all when there are fewer), in
    /// <see cref="AlertEvents"/>' order: the last <paramref name="limit"/> of that order.
    /// </summary>
    public static List<StoredAlertEvent> NewestAlertEvents(IEnumerable<StoredAlertEvent> events, int limit)
    {
        var ordered = AlertEvents(events);
        return ordered.Count <= limit ? ordered : ordered.GetRange(ordered.Count - limit, limit);
    }

    /// <summary>By time (<see cref="StoredJobEvent.At"/>), then job id, then type.</summary>
    public static List<StoredJobEvent> JobEvents(IEnumerable<StoredJobEvent> events) =>
        [.. events.OrderBy(e => e.At)
            .ThenBy(e => e.JobId, StringComparer.Ordinal)
            .ThenBy(e => e.Type, StringComparer.Ordinal)];

    /// <summary>
    /// The newest <paramref name="limit"/> of <paramref name="events"/> (all when there are fewer), in
    /// <see cref="JobEvents"/>' order: the last <paramref name="limit"/> of that order.
    /// </summary>
    public static List<StoredJobEvent> NewestJobEvents(IEnumerable<StoredJobEvent> events, int limit)
    {
        var ordered = JobEvents(events);
        return ordered.Count <= limit ? ordered : ordered.GetRange(ordered.Count - limit, limit);
    }

    /// <summary>By planned time, then revision, then plan id.</summary>
    public static List<StoredRoutePlan> RoutePlans(IEnumerable<StoredRoutePlan> plans) =>
        [.. plans.OrderBy(p => p.PlannedAt)
            .ThenBy(p => p.Revision)
            .ThenBy(p => p.PlanId, StringComparer.Ordinal)];

    /// <summary>Per vehicle the newest position (of equal times, the last given), ordered by vehicle id.</summary>
    public static List<VehiclePositionReading> LatestPositions(IEnumerable<VehiclePositionReading> positions)
    {
        var newest = new Dictionary<string, VehiclePositionReading>(StringComparer.Ordinal);
        foreach (var p in positions)
        {
            if (!newest.TryGetValue(p.VehicleId, out var seen) || p.Time >= seen.Time)
            {
                newest[p.VehicleId] = p;
            }
        }
        return [.. newest.Values.OrderBy(p => p.VehicleId, StringComparer.Ordinal)];
    }

    private static int Rank(Reading r) => r switch
    {
        FillReading => 0,
        WeightReading => 1,
        _ => 2,
    };

    private static string Compartment(Reading r) => r switch
    {
        FillReading f => f.Compartment,
        WeightReading w => w.Compartment,
        _ => "",
    };
}
