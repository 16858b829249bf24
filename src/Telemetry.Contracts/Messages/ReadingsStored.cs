namespace Telemetry.Contracts.Messages;

/// <summary>
/// Published by an ingestion replica after a batch is durably stored: per bin, what changed (the newest fill and
/// weight of each compartment in the batch, the newest status fields). <see cref="Source"/> names the publishing
/// process (client id and a per-process instance id) and <see cref="Sequence"/> counts its events from 1 without
/// gaps, so a consumer that sees a gap knows it missed one (an event dropped while the bus was down) and catches
/// up from the store.
/// </summary>
public sealed record ReadingsStored(string Source, long Sequence, DateTimeOffset StoredAt, IReadOnlyList<BinUpdate> Bins)
{
    /// <summary>The newest position of each vehicle in the batch (<c>vehicles/{id}/position</c>); empty when it had none.</summary>
    public IReadOnlyList<VehiclePositionUpdate> Vehicles { get; init; } = [];
}

/// <summary>A truck's newest position in a stored batch: when, where (WGS 84 degrees) and its speed in km/h.</summary>
public sealed record VehiclePositionUpdate(string VehicleId, DateTimeOffset Time, double Lat, double Lon, double SpeedKmh);

/// <summary>One bin's changes in a stored batch.</summary>
public sealed record BinUpdate(string BinId, BinStatusUpdate? Status, IReadOnlyList<CompartmentUpdate> Compartments);

/// <summary>The newest fill and weight of one compartment in the batch; null where the batch had none.</summary>
public sealed record CompartmentUpdate(string Compartment, DateTimeOffset? FillTime, double? FillPct, DateTimeOffset? WeightTime, double? NetKg);

/// <summary>The newest status message of a bin in the batch (its time is when the bin was last seen); null fields were not given.</summary>
public sealed record BinStatusUpdate(DateTimeOffset Time, bool? Online, double? BatteryPct, double? TempC, bool? Tilt, bool? DoorOpen);
