using Telemetry.Contracts.Readings;
using Telemetry.Fleet;
using Telemetry.Fleet.Signal;
using Telemetry.Scheduling.Signal;
using Telemetry.Storage;

namespace Telemetry.Benchmarks.Loop;

/// <summary>
/// The fill signal as the scheduler gets it, without a store: decoded readings in time order go through the same
/// <see cref="FleetSignals"/> (cleaning, prediction, emptying detection) that <see cref="FillIntelligence"/> runs, and come out
/// as the <see cref="FillSignalBatch"/> it hands its listeners. Also keeps each compartment's latest net weight (a job's load
/// for the router). With <c>predict</c> false it only keeps the weights (the fixed-schedule baseline needs no more).
/// </summary>
internal sealed class LoopSignal(FleetRegistry registry, double thresholdPct, bool predict)
{
    private readonly SignalFeed _feed = new(new FleetSignals(registry, new CleaningOptions(), new PredictionOptions { ThresholdPct = thresholdPct }));
    private readonly Dictionary<(string Bin, string Compartment), double> _latestKg = [];

    /// <summary>A compartment's latest net weight reading, kg; null before its first.</summary>
    public double? LatestKg(string bin, string compartment) => _latestKg.TryGetValue((bin, compartment), out var kg) ? kg : null;

    /// <summary>What the readings make, for <see cref="Scheduling.SchedulerCore.Observe"/>; null when nothing.</summary>
    public FillSignalBatch? Take(IReadOnlyList<Reading> readings)
    {
        var output = new SignalOutput();
        var observations = new List<SignalObservation>(readings.Count);
        foreach (var r in readings)
        {
            if (r is WeightReading kg)
            {
                _latestKg[(kg.BinId, kg.Compartment)] = kg.NetKg;
            }
            if (!predict)
            {
                continue;
            }
            if (!_feed.Take(r, output, observations))
            {
                continue; // taken already (reads overlap), or late
            }
        }
        if (observations.Count == 0 && output.Collections.Count == 0)
        {
            return null;
        }
        var collections = output.Collections.Select(x => new CollectionEvent(
            x.BinId, registry.FindBin(x.BinId)!.Community, x.Compartment.Id, x.Compartment.Stream.Name(), x.Emptying.Time,
            x.Emptying.KgCollected, x.Emptying.FillBeforePct, x.Emptying.FillAfterPct)).ToList();
        return new FillSignalBatch(false, observations, [], collections);
    }
}
