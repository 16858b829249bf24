using Telemetry.Contracts.Readings;
using Telemetry.Fleet.Signal;

namespace Telemetry.Scheduling.Signal;

/// <summary>
/// Feeds readings into the fleet's signals once each: a reading at or before its bin's, measurement's and compartment's mark was
/// taken already (reads overlap) or is late, and is skipped. Used by the fill signal service and by the loop benchmark.
/// Single-threaded (the caller locks).
/// </summary>
public sealed class SignalFeed(FleetSignals signals)
{
    private readonly Dictionary<(string Bin, char Kind, string Compartment), DateTimeOffset> _marks = [];

    public FleetSignals Signals { get; } = signals;

    /// <summary>Takes one reading into the signals; adds what it made to <paramref name="observations"/>. False when skipped.</summary>
    public bool Take(Reading r, SignalOutput output, List<SignalObservation> observations)
    {
        ArgumentNullException.ThrowIfNull(r);
        ArgumentNullException.ThrowIfNull(observations);
        var key = r switch
        {
            FillReading f => (r.BinId, 'f', f.Compartment),
            WeightReading w => (r.BinId, 'w', w.Compartment),
            _ => (r.BinId, 's', ""),
        };
        if (_marks.TryGetValue(key, out var mark) && r.Time <= mark)
        {
            return false;
        }
        _marks[key] = r.Time;
        switch (r)
        {
            case FillReading f:
                Signals.Fill(f.BinId, f.Compartment, f.Time, f.Seq, f.Pct, output);
                var signal = Signals.Compartment(f.BinId, f.Compartment);
                observations.Add(new SignalObservation(r, signal is { Cleaner.HasLevel: true } ? signal.Cleaner.Level : null, signal?.Forecast));
                break;
            case WeightReading w:
                Signals.Weight(w.BinId, w.Compartment, w.Time, w.Seq, w.NetKg, output);
                observations.Add(new SignalObservation(r, null, null));
                break;
            case StatusReading s:
                Signals.Status(s.BinId, s.Time, s.Seq, s.TimeFromDevice, s.Online, output);
                observations.Add(new SignalObservation(r, null, null));
                break;
            default:
                break;
        }
        return true;
    }
}
