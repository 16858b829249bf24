using Telemetry.Contracts.Readings;
using Telemetry.Fleet;
using Telemetry.Fleet.Signal;

namespace Telemetry.Api.State;

/// <summary>A bin's cleaned fill curve over a period, from its raw readings (pure).</summary>
public static class CleanHistory
{
    /// <summary>Readings before the period that settle the cleaner first.</summary>
    public static readonly TimeSpan Lead = TimeSpan.FromHours(12);

    /// <summary>The longest period a cleaned curve is made for (one bin: about 30,000 readings).</summary>
    public static readonly TimeSpan MaxPeriod = TimeSpan.FromDays(31);

    /// <summary>Per (compartment, bucket start) the mean cleaned level of the readings in it; buckets as the store makes them.</summary>
    public static Dictionary<(string Compartment, DateTimeOffset Start), double> Buckets(
        Bin bin, IReadOnlyList<Reading> readings, DateTimeOffset start, DateTimeOffset end, TimeSpan every, TimeSpan origin)
    {
        ArgumentNullException.ThrowIfNull(bin);
        ArgumentNullException.ThrowIfNull(readings);
        var cleaners = bin.Compartments.ToDictionary(c => c.Id, _ => new FillCleaner(), StringComparer.Ordinal);
        var sums = new Dictionary<(string, DateTimeOffset), (double Sum, int Count)>();
        foreach (var r in readings)
        {
            switch (r)
            {
                case WeightReading w when cleaners.TryGetValue(w.Compartment, out var wc):
                    wc.ObserveWeight(w.Time, w.NetKg);
                    break;
                case FillReading f when cleaners.TryGetValue(f.Compartment, out var fc):
                    var step = fc.Observe(f.Time, f.Pct);
                    if (step.Verdict != FillVerdict.Rejected && f.Time >= start && f.Time < end)
                    {
                        var key = (f.Compartment, BucketStart(f.Time, every, origin));
                        var (sum, count) = sums.GetValueOrDefault(key);
                        sums[key] = (sum + step.Level, count + 1);
                    }
                    break;
            }
        }
        return sums.ToDictionary(kv => kv.Key, kv => Math.Round(kv.Value.Sum / kv.Value.Count, 2));
    }

    /// <summary>The start of the bucket holding <paramref name="t"/>: the epoch plus the origin plus a multiple of the width.</summary>
    public static DateTimeOffset BucketStart(DateTimeOffset t, TimeSpan every, TimeSpan origin)
    {
        var ticks = (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks - origin.Ticks);
        var k = Math.Floor((double)ticks / every.Ticks);
        return new DateTimeOffset(DateTimeOffset.UnixEpoch.UtcTicks + origin.Ticks + ((long)k * every.Ticks), TimeSpan.Zero);
    }
}
