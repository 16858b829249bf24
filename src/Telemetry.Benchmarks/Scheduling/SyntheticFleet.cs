using Telemetry.Contracts.Readings;
using Telemetry.Fleet;
using Telemetry.Fleet.Signal;
using Telemetry.Scheduling.Signal;

namespace Telemetry.Benchmarks.Scheduling;

/// <summary>
/// The course of every compartment of a synthesized fleet: a cleaned level at <c>start</c> and a steady rise per hour, from which
/// each report's level and prediction follow (threshold and full, with a band; null beyond the 7-day horizon), and each bin's
/// device state. Deterministic for a seed. Of the compartments: 2 % overflowing, 8 % at the threshold, 20 % due within 30 hours,
/// the rest fine; of the predictions 3 % from the current cycle alone (counted by their late end), 7 % from the community's
/// rhythm. Of the bins: 3.5 % on low battery (0.5 % at 5 % or less), 0.5 % tilted, 0.5 % with the door open, 0.1 % hot,
/// 0.5 % silent (their last report 20 to 30 minutes before the others', so they go offline one after the other as the ticks
/// advance).
/// </summary>
internal sealed class SyntheticFleet
{
    private static readonly TimeSpan Horizon = TimeSpan.FromDays(7);

    private readonly DateTimeOffset _start;
    private readonly double _threshold;
    private readonly Device[] _devices;
    private readonly int[] _firstCompartment;
    private long _seq;

    public SyntheticFleet(FleetRegistry registry, DateTimeOffset start, TimeSpan reportEvery, double thresholdPct, int seed)
    {
        ArgumentNullException.ThrowIfNull(registry);
        Registry = registry;
        _start = start;
        _threshold = thresholdPct;
        var random = new Random(seed);
        var count = registry.Bins.Sum(b => b.Compartments.Count);
        Compartments = new Course[count];
        _devices = new Device[registry.Bins.Count];
        _firstCompartment = new int[registry.Bins.Count + 1];
        var i = 0;
        for (var b = 0; b < registry.Bins.Count; b++)
        {
            var bin = registry.Bins[b];
            var u = random.NextDouble();
            var battery = u < 0.005 ? 1 + (random.NextDouble() * 4) : u < 0.035 ? 6 + (random.NextDouble() * 9) : 40 + (random.NextDouble() * 60);
            _devices[b] = new Device(
                Math.Round(battery, 1),
                Tilt: random.NextDouble() < 0.005,
                DoorOpen: random.NextDouble() < 0.005,
                TempC: random.NextDouble() < 0.001 ? 75 : 18 + random.Next(8),
                SilentFor: random.NextDouble() < 0.005 ? TimeSpan.FromMinutes(20 + (random.NextDouble() * 10)) : TimeSpan.Zero);
            _firstCompartment[b] = i;
            // The second-last history report (ten minutes before the last): a level at the threshold in both raises a fill alert.
            var secondLast = start - reportEvery - _devices[b].SilentFor;
            foreach (var c in bin.Compartments)
            {
                var rate = 0.2 + (random.NextDouble() * 2.8);
                var kind = random.NextDouble();
                var level = kind switch
                {
                    < 0.02 => 95.5 + (random.NextDouble() * 4.4),
                    < 0.10 => thresholdPct + 1 + (random.NextDouble() * (94.5 - thresholdPct - 1)),
                    < 0.30 => thresholdPct - (rate * (1 + (random.NextDouble() * 29))),
                    _ => 2 + (random.NextDouble() * (thresholdPct - 12)),
                };
                var basis = random.NextDouble() switch
                {
                    < 0.03 => "cycle",
                    < 0.10 => "community",
                    _ => "own",
                };
                Compartments[i] = new Course(b, c.Id, c.Stream.Name(), Math.Max(0, level), rate, basis);
                if (Compartments[i].LevelAt(secondLast, start) >= thresholdPct)
                {
                    ExpectedFillAlerts++;
                }
                i++;
            }
        }
        _firstCompartment[registry.Bins.Count] = i;
    }

    public FleetRegistry Registry { get; }

    public Course[] Compartments { get; }

    /// <summary>Compartments whose last two history reports are at the threshold: each raises a fill alert.</summary>
    public int ExpectedFillAlerts { get; }

    /// <summary>
    /// One report of the bins of <paramref name="slice"/> (those whose index is it modulo 10; -1: every bin, the silent ones
    /// as long before as they are silent, and only then) at <paramref name="time"/>: a status, then each compartment's fill reading
    /// with its cleaned level and prediction, as the fill signal hands them to the scheduler.
    /// </summary>
    public FillSignalBatch Round(DateTimeOffset time, int slice)
    {
        var observations = new List<SignalObservation>(slice < 0 ? Compartments.Length + _devices.Length : (Compartments.Length / 10) + (_devices.Length / 10) + 16);
        for (var b = 0; b < _devices.Length; b++)
        {
            var device = _devices[b];
            if (slice >= 0 && (b % 10 != slice || device.SilentFor > TimeSpan.Zero))
            {
                continue;
            }
            var bin = Registry.Bins[b];
            var at = time - device.SilentFor;
            var seq = ++_seq;
            observations.Add(new SignalObservation(
                new StatusReading(bin.Id, bin.Community, at, seq, true, true, device.BatteryPct, device.TempC, device.Tilt, device.DoorOpen), null, null));
            for (var i = _firstCompartment[b]; i < _firstCompartment[b + 1]; i++)
            {
                var c = Compartments[i];
                var level = c.LevelAt(at, _start);
                var reading = new FillReading(bin.Id, bin.Community, c.Compartment, c.Stream, at, seq, Math.Round(level + ((i % 3) - 1) * 0.4, 1));
                observations.Add(new SignalObservation(reading, level, Forecast(c, at, level)));
            }
        }
        return new FillSignalBatch(false, observations, [], []);
    }

    private FillForecast Forecast(Course c, DateTimeOffset at, double level)
    {
        var threshold = Until(at, level, _threshold, c.RatePctPerHour);
        var full = Until(at, level, 100, c.RatePctPerHour);
        return new FillForecast(at, level, _threshold,
            threshold, Band(at, threshold, 0.8), Band(at, threshold, 1.3),
            full, Band(at, full, 0.8), Band(at, full, 1.3),
            c.RatePctPerHour, c.Basis);
    }

    private static DateTimeOffset? Until(DateTimeOffset at, double level, double target, double rate)
    {
        if (level >= target)
        {
            return at;
        }
        var hours = (target - level) / rate;
        return hours <= Horizon.TotalHours ? at + TimeSpan.FromHours(hours) : null;
    }

    private static DateTimeOffset? Band(DateTimeOffset at, DateTimeOffset? t, double factor) =>
        t is { } x ? at + ((x - at) * factor) : null;

    /// <summary>One compartment's course: its cleaned level at the start and its rise per hour.</summary>
    internal readonly record struct Course(int Bin, string Compartment, string Stream, double StartPct, double RatePctPerHour, string Basis)
    {
        public double LevelAt(DateTimeOffset time, DateTimeOffset start) => Math.Clamp(StartPct + (RatePctPerHour * (time - start).TotalHours), 0, 100);
    }

    /// <summary>A status from each bin with something wrong (tilted, door open, low battery, hot) at <paramref name="time"/>.</summary>
    public FillSignalBatch DeviceRound(DateTimeOffset time)
    {
        var observations = new List<SignalObservation>();
        for (var b = 0; b < _devices.Length; b++)
        {
            var d = _devices[b];
            if (d.Tilt || d.DoorOpen || d.BatteryPct <= 15 || d.TempC >= 50)
            {
                var bin = Registry.Bins[b];
                observations.Add(new SignalObservation(new StatusReading(bin.Id, bin.Community, time, ++_seq, true, true, d.BatteryPct, d.TempC, d.Tilt, d.DoorOpen), null, null));
            }
        }
        return new FillSignalBatch(false, observations, [], []);
    }

    private readonly record struct Device(double BatteryPct, bool Tilt, bool DoorOpen, double TempC, TimeSpan SilentFor);
}
