using System.Buffers;
using System.Text.Json;
using Telemetry.Contracts.Devices;
using Telemetry.Fleet;

namespace Telemetry.Simulator;

/// <summary>
/// The simulated fleet: residents' deposits following daily and weekly rhythms (by stream and
/// community), fill and weight rising with them by volume and density, noisy sensors with rare
/// outliers, battery drain, rare faults, and collections. Pure: it produces timestamped outputs and
/// does no I/O; the same registry, seed and start time give the same outputs. Deposits (when and how heavy) are drawn from a
/// random source of each compartment's own, so they do not depend on anything else the simulation does: two runs with the
/// same seed see the same deposit arrivals whoever empties the compartments when (a deposit into a full compartment is
/// refused and counted, <see cref="RefusedDeposits"/>). The ground truth is exposed for benchmarks: <see cref="TrueFillPct"/>,
/// <see cref="Emptied"/> with each compartment's true level at its emptying, and <see cref="OverflowHours"/>.
/// </summary>
public sealed class FleetSimulation
{
    private static readonly byte[] LastWillPayload = """{"v":1,"online":false}"""u8.ToArray();

    private readonly FleetRegistry _registry;
    private readonly SimulationOptions _options;
    private readonly BinState[] _bins;
    private readonly Dictionary<string, BinState> _byId;
    private readonly PriorityQueue<SimEvent, (DateTimeOffset, long)> _queue = new();
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private long _order;

    public FleetSimulation(FleetRegistry registry, int seed, DateTimeOffset start, SimulationOptions? options = null)
    {
        _registry = registry;
        _options = options ?? new SimulationOptions();
        Now = start;
        SelfCollecting = _options.SelfCollect;
        var communityRandom = new Random(seed);
        var communityFactors = registry.Communities.ToDictionary(
            c => c.Id,
            c => WasteStreams.All.ToDictionary(s => s, _ => 0.7 + (communityRandom.NextDouble() * 0.6)));
        _bins = registry.Bins.Select((b, i) => new BinState(b, new Random(BinSeed(seed, i)), communityFactors[b.Community], registry.TimeZone)).ToArray();
        for (var i = 0; i < _bins.Length; i++)
        {
            _bins[i].DepositSeed = BinSeed(seed ^ 0x5EED, i);
        }
        _byId = _bins.ToDictionary(b => b.Bin.Id, StringComparer.Ordinal);

        foreach (var bin in _bins)
        {
            bin.Init(start, _options);
            Schedule(start + Jitter(bin.Random, _options.FillInterval), new SimEvent(EventKind.Fill, bin));
            Schedule(start + Jitter(bin.Random, _options.StatusInterval), new SimEvent(EventKind.Status, bin));
            Schedule(NextLocalMidnight(start) + TimeSpan.FromMinutes(bin.Random.Next(0, 60)), new SimEvent(EventKind.DailyRoll, bin));
            for (var c = 0; c < bin.Compartments.Length; c++)
            {
                ScheduleDeposit(bin, c, start);
            }
        }
    }

    /// <summary>The Last Will every device registers: <c>{"v":1,"online":false}</c>, retained.</summary>
    public static ReadOnlyMemory<byte> LastWill => LastWillPayload;

    public FleetRegistry Registry => _registry;

    /// <summary>Simulated time up to which outputs have been produced.</summary>
    public DateTimeOffset Now { get; private set; }

    public DateTimeOffset? NextEventAt => _queue.TryPeek(out _, out var p) ? p.Item1 : null;

    /// <summary>
    /// Whether the simulator plays the trucks (<see cref="SimulationOptions.SelfCollect"/> at the start); turned off, it stops
    /// and the collections it had scheduled are not made (real trucks take over, emptying with <see cref="Empty"/>).
    /// </summary>
    public bool SelfCollecting { get; set; }

    /// <summary>Messages produced so far.</summary>
    public long MessagesProduced { get; private set; }

    /// <summary>Deposits made so far (accepted or refused).</summary>
    public long Deposits { get; private set; }

    /// <summary>Deposits refused so far because their compartment was full (its door stays locked).</summary>
    public long RefusedDeposits { get; private set; }

    /// <summary>Called for every compartment emptied (by <see cref="Empty"/> or a self-collection), with its true level just before.</summary>
    public Action<EmptiedCompartment>? Emptied { get; set; }

    /// <summary>Called for every deposit, accepted or refused (the deposit arrivals both runs of a benchmark share).</summary>
    public Action<DepositArrival>? Deposited { get; set; }

    /// <summary>The true level of a compartment now (what the sensor measures with noise), % of its volume; null when unknown.</summary>
    public double? TrueFillPct(string binId, string compartment) =>
        _byId.TryGetValue(binId, out var bin) && bin.Compartments.FirstOrDefault(c => c.Compartment.Id == compartment) is { } c ? c.FillPct : null;

    /// <summary>The true net load of a compartment now, kg; null when unknown.</summary>
    public double? TrueKg(string binId, string compartment) =>
        _byId.TryGetValue(binId, out var bin) && bin.Compartments.FirstOrDefault(c => c.Compartment.Id == compartment) is { } c ? c.Kg : null;

    /// <summary>Compartment-hours spent full (at 100 % of the volume) up to <see cref="Now"/>, over the whole fleet (or one stream's compartments).</summary>
    public double OverflowHours(WasteStream? stream = null)
    {
        var hours = 0.0;
        foreach (var bin in _bins)
        {
            foreach (var c in bin.Compartments)
            {
                if (stream is { } only && c.Compartment.Stream != only)
                {
                    continue;
                }
                hours += c.FullHours + (c.FullSince is { } since && Now > since ? (Now - since).TotalHours : 0);
            }
        }
        return hours;
    }

    /// <summary>Produces every output up to and including <paramref name="until"/>, in time order.</summary>
    public void RunUntil(DateTimeOffset until, Action<SimulatedOutput> sink)
    {
        while (_queue.TryPeek(out _, out var p) && p.Item1 <= until)
        {
            var e = _queue.Dequeue();
            Now = p.Item1;
            Handle(e, p.Item1, sink);
        }
        if (until > Now)
        {
            Now = until;
        }
    }

    /// <summary>All outputs up to <paramref name="until"/> as a list (tests, small runs).</summary>
    public List<SimulatedOutput> RunUntil(DateTimeOffset until)
    {
        var list = new List<SimulatedOutput>();
        RunUntil(until, list.Add);
        return list;
    }

    /// <summary>The retained status a device publishes on connecting; takes the device's next sequence number.</summary>
    public byte[] OnlineStatus(string binId, DateTimeOffset at)
    {
        var bin = _byId[binId];
        lock (bin)
        {
            return Write(w =>
            {
                Header(w, at, bin.NextSeq());
                w.WriteBoolean("online", true);
                w.WriteNumber("batteryPct", Math.Round(bin.Battery));
            });
        }
    }

    /// <summary>Empties a bin's compartments of one stream (a truck's visit); returns false for an unknown bin.</summary>
    public bool Empty(string binId, WasteStream stream, DateTimeOffset at, Action<SimulatedOutput> sink)
    {
        if (!_byId.TryGetValue(binId, out var bin))
        {
            return false;
        }
        Collect(bin, stream, at, sink);
        return true;
    }

    private void Handle(SimEvent e, DateTimeOffset at, Action<SimulatedOutput> sink)
    {
        var bin = e.Bin;
        switch (e.Kind)
        {
            case EventKind.Deposit:
                Deposit(bin, e.Compartment, at, sink);
                ScheduleDeposit(bin, e.Compartment, at);
                break;
            case EventKind.Fill:
                if (!bin.Silent)
                {
                    Emit(sink, at, bin, DeviceTopics.Fill(bin.Bin.Id), w => WriteFill(w, bin, at));
                }
                Schedule(at + Jitter(bin.Random, _options.FillInterval), e);
                break;
            case EventKind.Status:
                bin.DrainBattery(at);
                if (!bin.Silent)
                {
                    Emit(sink, at, bin, DeviceTopics.Status(bin.Bin.Id), w => WriteStatus(w, bin, at));
                }
                Schedule(at + Jitter(bin.Random, _options.StatusInterval), e);
                break;
            case EventKind.Collect:
                if (SelfCollecting)
                {
                    Collect(bin, e.Stream, at, sink);
                }
                break;
            case EventKind.DailyRoll:
                RollFaults(bin, at);
                Schedule(at + TimeSpan.FromDays(1), e);
                break;
            case EventKind.SilenceStart:
                bin.Silent = true;
                sink(new SimulatedOutput(SimulatedOutputKind.WentSilent, at, bin.Bin.Id));
                break;
            case EventKind.SilenceEnd:
                bin.Silent = false;
                bin.Reboot();
                sink(new SimulatedOutput(SimulatedOutputKind.CameBack, at, bin.Bin.Id));
                break;
            case EventKind.TiltEnd:
                bin.Tilt = false;
                bin.TiltFrom = null;
                break;
            case EventKind.TempSpikeEnd:
                bin.TempSpike = 0;
                bin.TempSpikeFrom = null;
                break;
            default:
                throw new InvalidOperationException($"unknown event {e.Kind}");
        }
    }

    private void Deposit(BinState bin, int c, DateTimeOffset at, Action<SimulatedOutput> sink)
    {
        var state = bin.Compartments[c];
        // Deposit weights are roughly log-normal: many small bags, a few heavy ones. Drawn before the door is tried, so the
        // draws do not depend on the compartment's state.
        var kg = Math.Clamp(state.Profile.MeanKg * Math.Exp((Normal(state.Deposits) * 0.6) - 0.18), 0.02, 25);
        Deposits++;
        // A full compartment's door stays locked: residents go elsewhere.
        if (state.Litres >= state.Compartment.Litres)
        {
            RefusedDeposits++;
            Deposited?.Invoke(new DepositArrival(bin.Bin.Id, state.Compartment.Id, at, kg, Accepted: false));
            return;
        }
        Deposited?.Invoke(new DepositArrival(bin.Bin.Id, state.Compartment.Id, at, kg, Accepted: true));
        state.Kg += kg;
        state.Litres = Math.Min(state.Compartment.Litres, state.Litres + (kg / state.Profile.KgPerLitre));
        if (state.Litres >= state.Compartment.Litres)
        {
            state.FullSince ??= at;
        }
        if (!bin.Silent)
        {
            Emit(sink, at, bin, DeviceTopics.Weight(bin.Bin.Id), w =>
            {
                Header(w, at, bin.NextSeq());
                w.WriteStartArray("compartments");
                w.WriteStartObject();
                w.WriteString("id", state.Compartment.Id);
                w.WriteNumber("netKg", Math.Round(MeasuredKg(bin, state), 2));
                w.WriteNumber("depositKg", Math.Clamp(Math.Round(kg, 2), 0.01, 100));
                w.WriteEndObject();
                w.WriteEndArray();
            });
        }
        if (SelfCollecting && !state.CollectionPending && state.FillPct >= _options.CollectAtPct)
        {
            // Every compartment of the stream waits for the same truck.
            foreach (var other in bin.Compartments.Where(o => o.Compartment.Stream == state.Compartment.Stream))
            {
                other.CollectionPending = true;
            }
            Schedule(CollectionTime(bin.Random, at), new SimEvent(EventKind.Collect, bin, Stream: state.Compartment.Stream));
        }
    }

    private void Collect(BinState bin, WasteStream stream, DateTimeOffset at, Action<SimulatedOutput> sink)
    {
        var emptied = bin.Compartments.Where(c => c.Compartment.Stream == stream).ToList();
        foreach (var c in emptied)
        {
            Emptied?.Invoke(new EmptiedCompartment(bin.Bin.Id, c.Compartment.Id, stream, at, c.FillPct, c.Kg));
            if (c.FullSince is { } since)
            {
                c.FullHours += Math.Max(0, (at - since).TotalHours);
                c.FullSince = null;
            }
            c.Kg = 0;
            c.Litres = 0;
            c.CollectionPending = false;
        }
        if (bin.Silent || emptied.Count == 0)
        {
            return;
        }
        Emit(sink, at, bin, DeviceTopics.Weight(bin.Bin.Id), w =>
        {
            Header(w, at, bin.NextSeq());
            w.WriteStartArray("compartments");
            foreach (var c in emptied)
            {
                w.WriteStartObject();
                w.WriteString("id", c.Compartment.Id);
                w.WriteNumber("netKg", Math.Round(MeasuredKg(bin, c), 2));
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });
        // The device reports the emptied levels at once (same instant, so outputs stay in time order).
        Emit(sink, at, bin, DeviceTopics.Fill(bin.Bin.Id), w => WriteFill(w, bin, at));
    }

    private void RollFaults(BinState bin, DateTimeOffset at)
    {
        if (!_options.Faults)
        {
            return;
        }
        var r = bin.Random;
        if (r.NextDouble() < 0.01 && !bin.Silent)
        {
            // The device drops off the network (power cut, modem hang), then reboots.
            var start = at + TimeSpan.FromHours(r.NextDouble() * 20);
            Schedule(start, new SimEvent(EventKind.SilenceStart, bin));
            Schedule(start + TimeSpan.FromHours(1 + (r.NextDouble() * 5)), new SimEvent(EventKind.SilenceEnd, bin));
        }
        // One tilt and one temperature spike at a time: an older fault's end must not cut a newer one short.
        if (r.NextDouble() < 0.005 && !bin.Tilt && bin.TiltFrom is null)
        {
            var start = at + TimeSpan.FromHours(r.NextDouble() * 20);
            bin.TiltFrom = start;
            Schedule(start + TimeSpan.FromHours(2 + (r.NextDouble() * 10)), new SimEvent(EventKind.TiltEnd, bin));
        }
        if (r.NextDouble() < 0.01 && bin.TempSpike == 0 && bin.TempSpikeFrom is null)
        {
            var start = at + TimeSpan.FromHours(r.NextDouble() * 20);
            bin.TempSpikeFrom = start;
            bin.TempSpikeSize = 45 + (r.NextDouble() * 40);
            Schedule(start + TimeSpan.FromMinutes(20 + (r.NextDouble() * 60)), new SimEvent(EventKind.TempSpikeEnd, bin));
        }
    }

    private void WriteFill(Utf8JsonWriter w, BinState bin, DateTimeOffset at)
    {
        Header(w, at, bin.NextSeq());
        w.WriteStartArray("compartments");
        foreach (var c in bin.Compartments)
        {
            w.WriteStartObject();
            w.WriteString("id", c.Compartment.Id);
            w.WriteNumber("fillPct", Math.Round(MeasuredFill(bin, c), 1));
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteStatus(Utf8JsonWriter w, BinState bin, DateTimeOffset at)
    {
        Header(w, at, bin.NextSeq());
        w.WriteBoolean("online", true);
        w.WriteNumber("batteryPct", Math.Round(bin.Battery));
        w.WriteNumber("tempC", Math.Round(bin.Temperature(at), 1));
        w.WriteBoolean("tilt", bin.IsTilted(at));
        w.WriteBoolean("doorOpen", bin.Random.NextDouble() < 0.02);
    }

    private double MeasuredFill(BinState bin, CompartmentState c)
    {
        var r = bin.Random;
        if (_options.Outliers && r.NextDouble() < 0.004)
        {
            // Ultrasonic sensors see a false echo from the lid (near full) or lose the echo (near empty).
            return r.NextDouble() < 0.5 ? 95 + (r.NextDouble() * 5) : r.NextDouble() * 5;
        }
        return Math.Clamp(c.FillPct + (Normal(r) * 1.2), 0, 100);
    }

    private static double MeasuredKg(BinState bin, CompartmentState c) =>
        Math.Clamp(c.Kg + (Normal(bin.Random) * 0.03), 0, 2 * c.Compartment.MaxKg);

    private static void Header(Utf8JsonWriter w, DateTimeOffset at, long seq)
    {
        w.WriteNumber("v", 1);
        w.WriteString("ts", at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
        w.WriteNumber("seq", seq);
    }

    private void Emit(Action<SimulatedOutput> sink, DateTimeOffset at, BinState bin, string topic, Action<Utf8JsonWriter> body)
    {
        byte[] payload;
        lock (bin)
        {
            payload = Write(body);
        }
        MessagesProduced++;
        sink(new SimulatedOutput(SimulatedOutputKind.Message, at, bin.Bin.Id, topic, payload));
    }

    private byte[] Write(Action<Utf8JsonWriter> body)
    {
        lock (_buffer)
        {
            _buffer.ResetWrittenCount();
            using (var w = new Utf8JsonWriter(_buffer))
            {
                w.WriteStartObject();
                body(w);
                w.WriteEndObject();
            }
            return _buffer.WrittenSpan.ToArray();
        }
    }

    private void ScheduleDeposit(BinState bin, int c, DateTimeOffset from)
    {
        // Thinning (Lewis–Shedler): candidates at the peak rate, each kept with probability rate(t)/peak,
        // gives a Poisson process whose rate follows the local time of day and week.
        var state = bin.Compartments[c];
        var peakPerHour = state.BaseRatePerHour * DepositRhythm.MaxFactor * _options.Activity;
        var r = state.Deposits;
        if (peakPerHour <= 0)
        {
            return;
        }
        var t = from;
        for (var guard = 0; guard < 10_000; guard++)
        {
            t += TimeSpan.FromHours(-Math.Log(1 - r.NextDouble()) / peakPerHour);
            var local = TimeZoneInfo.ConvertTime(t, _registry.TimeZone).DateTime;
            var rate = state.BaseRatePerHour * DepositRhythm.Rate(local, state.Profile.EveningBias) * _options.Activity;
            if (r.NextDouble() * peakPerHour <= rate)
            {
                Schedule(t, new SimEvent(EventKind.Deposit, bin, c));
                return;
            }
        }
    }

    private DateTimeOffset CollectionTime(Random r, DateTimeOffset at)
    {
        // Trucks come one to eight hours later, between 06:00 and 20:00 local time.
        var t = at + TimeSpan.FromHours(1 + (r.NextDouble() * 7));
        var local = TimeZoneInfo.ConvertTime(t, _registry.TimeZone);
        if (local.Hour >= 20)
        {
            t += TimeSpan.FromHours(24 - local.Hour + 6 + r.NextDouble());
        }
        else if (local.Hour < 6)
        {
            t += TimeSpan.FromHours(6 - local.Hour + r.NextDouble());
        }
        return t;
    }

    private DateTimeOffset NextLocalMidnight(DateTimeOffset t)
    {
        var local = TimeZoneInfo.ConvertTime(t, _registry.TimeZone);
        var midnight = new DateTimeOffset(local.Date.AddDays(1), local.Offset);
        return midnight.ToUniversalTime();
    }

    private void Schedule(DateTimeOffset at, SimEvent e) => _queue.Enqueue(e, (at, _order++));

    /// <summary>
    /// Each bin's own seed from the run's seed and the bin's position: a fixed mix, so the same seed gives the same
    /// fleet in every process (<see cref="HashCode"/> is randomized per process and would not).
    /// </summary>
    internal static int BinSeed(int seed, int index) => unchecked((int)(((uint)seed * 2654435761u) ^ ((uint)(index + 1) * 2246822519u)));

    private static TimeSpan Jitter(Random r, TimeSpan interval) =>
        TimeSpan.FromTicks((long)(interval.Ticks * (0.9 + (r.NextDouble() * 0.2))));

    private static double Normal(Random r)
    {
        // Box–Muller.
        var u1 = 1.0 - r.NextDouble();
        var u2 = r.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    private enum EventKind
    {
        Deposit,
        Fill,
        Status,
        Collect,
        DailyRoll,
        SilenceStart,
        SilenceEnd,
        TiltEnd,
        TempSpikeEnd,
    }

    private sealed record SimEvent(EventKind Kind, BinState Bin, int Compartment = 0, WasteStream Stream = default);

    private sealed class CompartmentState(Compartment compartment, MaterialProfile profile, double baseRatePerHour, Random deposits)
    {
        public Compartment Compartment { get; } = compartment;

        /// <summary>The compartment's own source for deposit times and weights.</summary>
        public Random Deposits { get; } = deposits;
        public DateTimeOffset? FullSince { get; set; }
        public double FullHours { get; set; }
        public MaterialProfile Profile { get; } = profile;
        public double BaseRatePerHour { get; } = baseRatePerHour;
        public double Kg { get; set; }
        public double Litres { get; set; }
        public bool CollectionPending { get; set; }
        public double FillPct => 100 * Litres / Compartment.Litres;
    }

    private sealed class BinState(Bin bin, Random random, Dictionary<WasteStream, double> communityFactors, TimeZoneInfo zone)
    {
        private long _seq;
        private DateTimeOffset _lastDrain;

        public Bin Bin { get; } = bin;
        public Random Random { get; } = random;
        public int DepositSeed { get; set; }
        public CompartmentState[] Compartments { get; private set; } = [];
        public double Battery { get; private set; }
        public bool Silent { get; set; }
        public bool Tilt { get; set; }
        public DateTimeOffset? TiltFrom { get; set; }
        public DateTimeOffset? TempSpikeFrom { get; set; }
        public double TempSpikeSize { get; set; }
        public double TempSpike { get; set; }

        public void Init(DateTimeOffset start, SimulationOptions options)
        {
            _lastDrain = start;
            Battery = 60 + (Random.NextDouble() * 40);
            _seq = Random.Next(0, 5000);
            Compartments = Bin.Compartments.Select((c, i) =>
            {
                var profile = MaterialProfile.For(c);
                var rate = profile.DepositsPerDay / 24 * communityFactors[c.Stream] * (0.8 + (Random.NextDouble() * 0.4));
                // Start part-full, so a short run already shows compartments nearing full.
                var state = new CompartmentState(c, profile, rate, new Random(BinSeed(DepositSeed, i))) { Litres = c.Litres * Random.NextDouble() * 0.6 };
                state.Kg = state.Litres * profile.KgPerLitre;
                return state;
            }).ToArray();
            _ = options;
        }

        public long NextSeq() => Interlocked.Increment(ref _seq);

        public void Reboot() => Interlocked.Exchange(ref _seq, -1);

        public void DrainBattery(DateTimeOffset at)
        {
            var hours = (at - _lastDrain).TotalHours;
            _lastDrain = at;
            Battery -= hours * (0.25 + (Random.NextDouble() * 0.1));
            if (Battery < 10)
            {
                // Maintenance swaps the pack.
                Battery = 100;
            }
        }

        public bool IsTilted(DateTimeOffset at)
        {
            if (TiltFrom is { } from && at >= from)
            {
                Tilt = true;
                TiltFrom = null;
            }
            return Tilt;
        }

        public double Temperature(DateTimeOffset at)
        {
            if (TempSpikeFrom is { } from && at >= from)
            {
                TempSpike = TempSpikeSize;
                TempSpikeFrom = null;
            }
            // Late autumn in northern China: about 6 °C, warmest mid-afternoon; the cabinet runs a few degrees above.
            var local = TimeZoneInfo.ConvertTime(at, zone);
            var hour = local.Hour + (local.Minute / 60.0);
            var ambient = 6 + (5 * Math.Cos((hour - 14) / 24 * 2 * Math.PI));
            return Math.Clamp(ambient + 3 + TempSpike + (Normal(Random) * 0.5), -50, 150);
        }
    }
}

/// <summary>A compartment emptied: its true level (% of volume) and load (kg) just before.</summary>
public readonly record struct EmptiedCompartment(string BinId, string Compartment, WasteStream Stream, DateTimeOffset At, double FillPct, double Kg);

/// <summary>A resident's deposit: when, where, how heavy, and whether the door opened (a full compartment refuses it).</summary>
public readonly record struct DepositArrival(string BinId, string Compartment, DateTimeOffset At, double Kg, bool Accepted);
