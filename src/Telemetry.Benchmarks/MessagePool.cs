using Telemetry.Contracts.Readings;
using Telemetry.Fleet;
using Telemetry.Ingestion.Decoding;
using Telemetry.Simulator;

namespace Telemetry.Benchmarks;

/// <summary>One simulated message of the pool: which bin (index within a phase's slice), its topic suffix and payload.</summary>
/// <param name="NewIdentities">Readings in it whose identity (measurement, bin, compartment, time) no earlier pool message had.</param>
internal sealed record PoolMessage(int Bin, string Suffix, byte[] Payload, long TimeMs, int Readings, int NewIdentities);

/// <summary>
/// The benchmark's messages, generated up front (no I/O) by <see cref="FleetSimulation"/> over one
/// slice of bins, without faults or outliers, so every message is accepted. A payload names no bin,
/// so every phase publishes the same messages under its own bin ids (<c>bins/{phasePrefix}{index:D5}/{suffix}</c>)
/// and counts them apart by bin prefix.
/// </summary>
internal sealed class MessagePool
{
    private readonly FleetSimulation _simulation;
    private readonly DeviceMessageDecoder _decoder;
    private readonly Dictionary<string, int> _index;
    private readonly HashSet<(long, long)> _identities = [];
    private readonly List<PoolMessage> _messages = [];
    private readonly DateTimeOffset _limit;
    private readonly List<long> _cumulative = [0];
    private DateTimeOffset _cursor;

    public MessagePool(FleetRegistry slice, int seed, DateTimeOffset start, DateTimeOffset limit, DecoderSettings decoder)
    {
        Start = start;
        _cursor = start;
        _limit = limit;
        _index = slice.Bins.Select((b, i) => (b.Id, i)).ToDictionary(x => x.Id, x => x.i, StringComparer.Ordinal);
        _decoder = new DeviceMessageDecoder(slice, decoder);
        _simulation = new FleetSimulation(slice, seed, start, new SimulationOptions { Faults = false, Outliers = false });
    }

    public DateTimeOffset Start { get; }

    public IReadOnlyList<PoolMessage> Messages => _messages;

    public int Count => _messages.Count;

    /// <summary>Distinct reading identities in the first <paramref name="count"/> messages.</summary>
    public long CumulativeReadings(int count) => _cumulative[count];

    /// <summary>Generates messages until there are at least <paramref name="count"/> (false if the simulated clock reached its limit first).</summary>
    public bool EnsureCount(int count)
    {
        while (_messages.Count < count && _cursor < _limit)
        {
            var next = _cursor + TimeSpan.FromMinutes(1);
            if (next > _limit)
            {
                next = _limit;
            }
            _simulation.RunUntil(next, Add);
            _cursor = next;
        }
        return _messages.Count >= count;
    }

    public static string Topic(string phasePrefix, PoolMessage m) => $"bins/{phasePrefix}{BinSuffix(m.Bin)}/{m.Suffix}";

    public static string BinSuffix(int index) => index.ToString("D5", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Distinct reading identities among the given messages (for a phase where not every publish was acknowledged).</summary>
    public long DistinctReadings(IEnumerable<int> indices)
    {
        var set = new HashSet<(long, long)>();
        foreach (var i in indices)
        {
            foreach (var key in Keys(i))
            {
                set.Add(key);
            }
        }
        return set.Count;
    }

    /// <summary>The identities of message <paramref name="i"/>'s readings (decoded again: the pool keeps only bytes).</summary>
    public IEnumerable<(long, long)> Keys(int i)
    {
        var m = _messages[i];
        foreach (var r in Decode(m).Readings)
        {
            yield return Key(m.Bin, r);
        }
    }

    /// <summary>Message <paramref name="m"/> decoded as the ingestion would, under the slice's own bin ids.</summary>
    public DecodeResult Decode(PoolMessage m) =>
        _decoder.Decode($"bins/{_decoder.Registry.Bins[m.Bin].Id}/{m.Suffix}", m.Payload, DateTimeOffset.FromUnixTimeMilliseconds(m.TimeMs));

    private void Add(SimulatedOutput output)
    {
        if (output.Kind != SimulatedOutputKind.Message || output.Topic is null || output.Payload is null)
        {
            return;
        }
        var parts = output.Topic.Split('/');
        var bin = _index[parts[1]];
        var result = _decoder.Decode(output.Topic, output.Payload, output.At);
        if (!result.IsAccepted)
        {
            throw new InvalidOperationException($"the simulator produced a message the decoder rejects: {result}");
        }
        var added = 0;
        foreach (var r in result.Readings)
        {
            if (_identities.Add(Key(bin, r)))
            {
                added++;
            }
        }
        _messages.Add(new PoolMessage(bin, parts[2], output.Payload, output.At.ToUnixTimeMilliseconds(), result.Readings.Count, added));
        _cumulative.Add(_cumulative[^1] + added);
    }

    private (long, long) Key(int bin, Reading r)
    {
        var (kind, compartment) = r switch
        {
            FillReading f => (1L, f.Compartment),
            WeightReading w => (2L, w.Compartment),
            _ => (3L, ""),
        };
        var binDef = _decoder.Registry.Bins[bin];
        var c = 0L;
        if (compartment.Length > 0)
        {
            for (var i = 0; i < binDef.Compartments.Count; i++)
            {
                if (binDef.Compartments[i].Id == compartment)
                {
                    c = i + 1;
                    break;
                }
            }
        }
        return (r.Time.ToUnixTimeMilliseconds(), (kind << 40) | ((long)bin << 8) | c);
    }
}
