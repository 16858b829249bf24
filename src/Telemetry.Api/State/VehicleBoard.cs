using Telemetry.Contracts.Messages;

namespace Telemetry.Api.State;

/// <summary>
/// The newest known position of each truck (<c>vehicles/{id}/position</c>, brought by <see cref="ReadingsStored.Vehicles"/>): a
/// position older than the one held (a late or redelivered batch) changes nothing. Thread-safe.
/// </summary>
public sealed class VehicleBoard
{
    private readonly object _gate = new();
    private readonly Dictionary<string, VehiclePositionUpdate> _positions = new(StringComparer.Ordinal);

    /// <summary>Takes a position unless one as new or newer is held; true when it was taken.</summary>
    public bool Update(VehiclePositionUpdate position)
    {
        ArgumentNullException.ThrowIfNull(position);
        lock (_gate)
        {
            if (_positions.TryGetValue(position.VehicleId, out var held) && held.Time >= position.Time)
            {
                return false;
            }
            _positions[position.VehicleId] = position;
            return true;
        }
    }

    /// <summary>Takes stored positions (at start, from the store), by the same rule as <see cref="Update"/>. Returns how many were taken.</summary>
    public int Load(IEnumerable<VehiclePositionUpdate> positions)
    {
        ArgumentNullException.ThrowIfNull(positions);
        var taken = 0;
        foreach (var p in positions)
        {
            if (Update(p))
            {
                taken++;
            }
        }
        return taken;
    }

    /// <summary>The newest position of every truck heard from, by vehicle id.</summary>
    public IReadOnlyList<VehiclePositionUpdate> Current()
    {
        lock (_gate)
        {
            return [.. _positions.Values.OrderBy(p => p.VehicleId, StringComparer.Ordinal)];
        }
    }
}
