using Telemetry.Contracts.Messages;
using Telemetry.Fleet;
using Telemetry.Scheduling.Alerts;
using Telemetry.Scheduling.Jobs;
using Telemetry.Storage;

namespace Telemetry.Scheduling.Hosting;

/// <summary>The scheduler's records as the bus and the store carry them.</summary>
public static class SchedulerMapping
{
    public static AlertInfo Info(this Alert a)
    {
        ArgumentNullException.ThrowIfNull(a);
        return new AlertInfo(a.Id, a.Bin, a.Compartment, a.Kind, a.Severity, a.RaisedAt, a.ClearedAt, a.AcknowledgedAt, a.AcknowledgedBy);
    }

    public static CollectionJobInfo Info(this CollectionJob j)
    {
        ArgumentNullException.ThrowIfNull(j);
        return new CollectionJobInfo(j.Id, j.Bin, j.Compartments, j.Stream, j.Reason, j.Priority, j.PredictedFullAt, j.Deadline, j.State, j.Vehicle,
            j.RequestedAt, j.RequestedBy, j.PlannedAt, j.CompletedAt, j.CancelledAt);
    }

    public static StoredAlertEvent Stored(this AlertEvent e, FleetRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(e);
        ArgumentNullException.ThrowIfNull(registry);
        var a = e.Alert;
        return new StoredAlertEvent(e.Type, e.At, a.Id, a.Bin, registry.FindBin(a.Bin)?.Community ?? "unknown", a.Compartment, a.Kind, a.Severity,
            a.RaisedAt, a.ClearedAt, a.AcknowledgedAt, a.AcknowledgedBy);
    }

    public static StoredJobEvent Stored(this JobEvent e, FleetRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(e);
        ArgumentNullException.ThrowIfNull(registry);
        var j = e.Job;
        return new StoredJobEvent(e.Type, e.At, j.Id, j.Bin, registry.FindBin(j.Bin)?.Community ?? "unknown", j.Compartments, j.Stream, j.Reason, j.Priority,
            j.PredictedFullAt, j.Deadline, j.State, j.Vehicle, j.RequestedAt, j.RequestedBy, j.PlannedAt, j.CompletedAt, j.CancelledAt, e.By);
    }

    /// <summary>An alert as the stored event shows it.</summary>
    public static AlertInfo Info(this StoredAlertEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return new AlertInfo(e.AlertId, e.BinId, e.Compartment, e.Kind, e.Severity, e.RaisedAt, e.ClearedAt, e.AcknowledgedAt, e.AcknowledgedBy);
    }

    /// <summary>A job as the stored event shows it.</summary>
    public static CollectionJobInfo Info(this StoredJobEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return new CollectionJobInfo(e.JobId, e.BinId, e.Compartments, e.Stream, e.Reason, e.Priority, e.PredictedFullAt, e.Deadline, e.State, e.Vehicle,
            e.RequestedAt, e.RequestedBy, e.PlannedAt, e.CompletedAt, e.CancelledAt);
    }

    /// <summary>An alert event's identity: the same alert, type and time (to the millisecond, as stored) is the same event.</summary>
    public static string Key(string alertId, string type, DateTimeOffset at) => $"{alertId}|{type}|{at.ToUnixTimeMilliseconds()}";
}
