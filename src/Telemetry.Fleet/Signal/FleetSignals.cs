namespace Telemetry.Fleet.Signal;

/// <summary>One compartment: its cleaner and its forecaster, fed reading by reading in time order (pure).</summary>
public sealed class CompartmentSignal(FillCleaner cleaner, FillForecaster forecaster)
{
    public FillCleaner Cleaner { get; } = cleaner;

    public FillForecaster Forecaster { get; } = forecaster;

    /// <summary>The last raw reading and its time.</summary>
    public (DateTimeOffset Time, double Pct)? Raw { get; private set; }

    /// <summary>The prediction made at the last reading taken; null before the first.</summary>
    public FillForecast? Forecast { get; private set; }

    /// <summary>Readings dropped: held echoes not confirmed, and readings older than the last one taken.</summary>
    public long Rejected { get; private set; }

    public FillStep ObserveFill(DateTimeOffset time, double pct)
    {
        double? previous = Cleaner.HasLevel ? Cleaner.Level : null;
        var step = Cleaner.Observe(time, pct);
        if (Raw is not { } raw || time > raw.Time)
        {
            // Two raw readings in a row at or above the threshold: it was reached at the first (what predictions are scored on).
            if (Raw is { } before && before.Pct >= Forecaster.ThresholdPct && pct >= Forecaster.ThresholdPct)
            {
                Forecaster.Reached(before.Time);
            }
            Raw = (time, pct);
        }
        switch (step.Verdict)
        {
            case FillVerdict.Accepted or FillVerdict.Jump:
                // A confirmed fall starts a new cycle for the forecaster, whether or not it is large enough to be an emptying.
                var fell = step.Emptying is not null || (step.Verdict == FillVerdict.Jump && previous is { } p && step.Level < p);
                Forecaster.Observe(time, step.Level, fell);
                Forecast = Forecaster.Predict(time);
                break;
            case FillVerdict.Rejected:
                Rejected++;
                break;
        }
        return step;
    }

    public void ObserveWeight(DateTimeOffset time, double netKg) => Cleaner.ObserveWeight(time, netKg);
}

/// <summary>What a run of readings produced: emptyings, device events, and the compartments whose clean level or prediction moved.</summary>
public sealed class SignalOutput
{
    public List<(string BinId, Compartment Compartment, Emptying Emptying)> Collections { get; } = [];

    public List<(string BinId, DeviceChange Change)> DeviceChanges { get; } = [];

    public HashSet<(string BinId, string Compartment)> Changed { get; } = [];
}

/// <summary>
/// The fill signal of a whole fleet (pure, single-threaded): a <see cref="CompartmentSignal"/> per compartment, a
/// <see cref="DeviceSignal"/> per bin, and the rhythm pools and band calibrations they share (a community's stream, the stream,
/// the fleet). Readings are given in time order; a reading older than its compartment's last is dropped.
/// </summary>
public sealed class FleetSignals
{
    private readonly FleetRegistry _registry;
    private readonly Dictionary<(string, string), CompartmentSignal> _compartments = [];
    private readonly Dictionary<string, DeviceSignal> _devices = new(StringComparer.Ordinal);

    public FleetSignals(FleetRegistry registry, CleaningOptions cleaning, PredictionOptions prediction)
    {
        _registry = registry;
        Prediction = prediction;
        var fleet = new RhythmPool("fleet", prediction);
        var streams = WasteStreams.All.ToDictionary(s => s, s => new RhythmPool($"stream {s.Name()}", prediction));
        var calibrations = WasteStreams.All.ToDictionary(s => s, _ => new ForecastCalibration());
        var communities = new Dictionary<(string, WasteStream), RhythmPool>();
        foreach (var bin in registry.Bins)
        {
            _devices[bin.Id] = new DeviceSignal();
            foreach (var c in bin.Compartments)
            {
                if (!communities.TryGetValue((bin.Community, c.Stream), out var community))
                {
                    communities[(bin.Community, c.Stream)] = community = new RhythmPool($"community {bin.Community} {c.Stream.Name()}", prediction);
                }
                // A compartment learns into every pool it names; it predicts from the first that has learned a day.
                _compartments[(bin.Id, c.Id)] = new CompartmentSignal(
                    new FillCleaner(cleaning),
                    new FillForecaster(prediction, registry.TimeZone, calibrations[c.Stream], community, streams[c.Stream], fleet));
            }
        }
    }

    public PredictionOptions Prediction { get; }

    public FleetRegistry Registry => _registry;

    public CompartmentSignal? Compartment(string binId, string compartment) => _compartments.GetValueOrDefault((binId, compartment));

    public DeviceSignal? Device(string binId) => _devices.GetValueOrDefault(binId);

    public void Fill(string binId, string compartment, DateTimeOffset time, long seq, double pct, SignalOutput output)
    {
        Seq(binId, time, seq, output);
        if (_compartments.TryGetValue((binId, compartment), out var signal))
        {
            var step = signal.ObserveFill(time, pct);
            if (step.Emptying is { } e && _registry.FindBin(binId)?.FindCompartment(compartment) is { } c)
            {
                output.Collections.Add((binId, c, e));
            }
            if (step.Verdict is not FillVerdict.Rejected)
            {
                output.Changed.Add((binId, compartment)); // a held reading too: the level stands, but it has been seen
            }
        }
    }

    public void Weight(string binId, string compartment, DateTimeOffset time, long seq, double netKg, SignalOutput output)
    {
        Seq(binId, time, seq, output);
        Compartment(binId, compartment)?.ObserveWeight(time, netKg);
    }

    public void Status(string binId, DateTimeOffset time, long? seq, bool timeFromDevice, bool? online, SignalOutput output)
    {
        if (_devices.TryGetValue(binId, out var device))
        {
            foreach (var change in device.Observe(time, seq, timeFromDevice, online))
            {
                output.DeviceChanges.Add((binId, change));
            }
        }
    }

    private void Seq(string binId, DateTimeOffset time, long seq, SignalOutput output)
    {
        if (_devices.TryGetValue(binId, out var device))
        {
            foreach (var change in device.Observe(time, seq, true, null))
            {
                output.DeviceChanges.Add((binId, change));
            }
        }
    }
}
