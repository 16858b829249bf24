using System.Globalization;
using System.Text;
using System.Text.Json;
using Telemetry.Contracts.Configuration;
using Telemetry.Fleet;
using Telemetry.Fleet.Signal;
using Telemetry.Simulator;

namespace Telemetry.Benchmarks.Prediction;

/// <summary>The CSV of <c>bench predict --series</c>: header <c>series,ts,fillPct</c> (further columns ignored), one reading a row.</summary>
public static class SeriesCsv
{
    public static IReadOnlyList<FillSeries> Read(string path)
    {
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return Read(reader, path);
    }

    public static IReadOnlyList<FillSeries> Read(TextReader reader, string what)
    {
        var header = reader.ReadLine() ?? throw new ConfigurationException("--series", $"{what} is empty; it needs the header series,ts,fillPct");
        var columns = Fields(header);
        if (columns.Count < 3 || columns[0] != "series" || columns[1] != "ts" || columns[2] != "fillPct")
        {
            throw new ConfigurationException("--series", $"{what}: the header must start with series,ts,fillPct (found '{Trim(header)}')");
        }
        var series = new Dictionary<string, List<(DateTimeOffset, double)>>(StringComparer.Ordinal);
        var order = new List<string>();
        var line = 1;
        while (reader.ReadLine() is { } text)
        {
            line++;
            if (text.Length == 0)
            {
                continue;
            }
            var f = Fields(text);
            if (f.Count < 3 || f[0].Length == 0)
            {
                throw new ConfigurationException("--series", $"{what} line {line}: expected series,ts,fillPct (found '{Trim(text)}')");
            }
            if (f[2].Length == 0)
            {
                continue; // a row of another column only (e.g. a weight)
            }
            if (!DateTimeOffset.TryParse(f[1], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var ts) || !f[1].Contains('T'))
            {
                throw new ConfigurationException("--series", $"{what} line {line}: '{Trim(f[1])}' is not an RFC 3339 time");
            }
            if (!double.TryParse(f[2], NumberStyles.Float, CultureInfo.InvariantCulture, out var pct) || !double.IsFinite(pct) || pct < 0 || pct > 100)
            {
                throw new ConfigurationException("--series", $"{what} line {line}: fillPct '{Trim(f[2])}' is not a number from 0 to 100");
            }
            if (!series.TryGetValue(f[0], out var list))
            {
                series[f[0]] = list = [];
                order.Add(f[0]);
            }
            var time = ts.ToUniversalTime();
            if (list.Count > 0 && time <= list[^1].Item1)
            {
                throw new ConfigurationException("--series", $"{what} line {line}: series '{Trim(f[0])}' is not in time order ({time:O} after {list[^1].Item1:O})");
            }
            list.Add((time, pct));
        }
        if (order.Count == 0)
        {
            throw new ConfigurationException("--series", $"{what} has no readings");
        }
        return [.. order.Select(name => new FillSeries(name, series[name]))];
    }

    public static void Write(string path, IReadOnlyList<FillSeries> series)
    {
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false));
        writer.Write("series,ts,fillPct\n");
        foreach (var s in series)
        {
            var name = s.Name.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? $"\"{s.Name.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : s.Name;
            foreach (var (time, pct) in s.Readings)
            {
                writer.Write(name);
                writer.Write(',');
                writer.Write(time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
                writer.Write(',');
                writer.Write(pct.ToString("0.##", CultureInfo.InvariantCulture));
                writer.Write('\n');
            }
        }
    }

    private static string Trim(string s) => s.Length > 60 ? s[..60] + "…" : s;

    /// <summary>RFC 4180 fields of one line.</summary>
    private static List<string> Fields(string line)
    {
        var fields = new List<string>();
        var sb = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    sb.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    sb.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(sb.ToString());
                sb.Clear();
            }
            else
            {
                sb.Append(c);
            }
        }
        fields.Add(sb.ToString().TrimEnd('\r'));
        return fields;
    }
}

/// <summary>Series from the project's simulator (docs/simulator.md): every compartment of a registry, its fill messages decoded.</summary>
public static class SimulatedSeries
{
    public static IReadOnlyList<FillSeries> Generate(FleetRegistry registry, int seed, DateTimeOffset start, int days)
    {
        var sim = new FleetSimulation(registry, seed, start);
        var series = new Dictionary<string, List<(DateTimeOffset, double)>>(StringComparer.Ordinal);
        foreach (var bin in registry.Bins)
        {
            foreach (var c in bin.Compartments)
            {
                series[$"{bin.Id}/{c.Id}"] = [];
            }
        }
        sim.RunUntil(start + TimeSpan.FromDays(days), o =>
        {
            if (o.Kind != SimulatedOutputKind.Message || o.Topic is null || !o.Topic.EndsWith("/fill", StringComparison.Ordinal) || o.Payload is null)
            {
                return;
            }
            using var doc = JsonDocument.Parse(o.Payload);
            var ts = doc.RootElement.GetProperty("ts").GetDateTimeOffset();
            foreach (var c in doc.RootElement.GetProperty("compartments").EnumerateArray())
            {
                var list = series[$"{o.BinId}/{c.GetProperty("id").GetString()}"];
                if (list.Count == 0 || ts > list[^1].Item1)
                {
                    list.Add((ts, c.GetProperty("fillPct").GetDouble()));
                }
            }
        });
        return [.. series.Where(s => s.Value.Count > 1).Select(s => new FillSeries(s.Key, s.Value))];
    }
}

/// <summary>
/// Series from a city unlike our simulator's, to check the predictor was not fitted to it: a lunchtime and a late-evening peak
/// in UTC+1, a market day (Wednesday ×1.6) and a quiet Sunday (×0.5), usage that drifts by up to ±3 % a week, deposits in
/// bursts (a household's several bags at once), a sensor read every 15 minutes with gaps, ±2 points of uniform noise with
/// heavier tails, echoes spread over 85–100 % and 0–10 %, settling after deposits, and trucks that come on fixed weekdays at 09:00 (or when over 90 %),
/// leaving 2–12 % behind.
/// </summary>
public static class OtherCitySeries
{
    private static readonly string[] Materials = ["paper", "plastic", "glass", "kitchen", "residual"];

    public static IReadOnlyList<FillSeries> Generate(int seed, int count, DateTimeOffset start, int days)
    {
        var result = new List<FillSeries>(count);
        for (var s = 0; s < count; s++)
        {
            var r = new Random(unchecked((seed * 7919) + s));
            var material = Materials[s % Materials.Length];
            result.Add(new FillSeries($"B-{s / Materials.Length:0000}/{material}", One(r, material, start, days)));
        }
        return result;
    }

    private static List<(DateTimeOffset, double)> One(Random r, string material, DateTimeOffset start, int days)
    {
        var zone = TimeSpan.FromHours(1);
        // Points a day at the mean rhythm: 8–40 depending on the bin.
        var daily = (material is "kitchen" or "residual" ? 18 : 9) * (0.6 + (r.NextDouble() * 1.6));
        var drift = (r.NextDouble() - 0.5) * 0.06; // per week
        var pickupDays = material is "kitchen" ? new[] { 1, 3, 5 } : material is "residual" ? [1, 4] : [r.Next(1, 6)];
        var level = r.NextDouble() * 30;
        var settle = 0.0;
        var readings = new List<(DateTimeOffset, double)>();
        var t = start;
        var end = start + TimeSpan.FromDays(days);
        var gapUntil = DateTimeOffset.MinValue;
        var lastPickup = DateOnly.MinValue;
        var step = TimeSpan.FromMinutes(15);
        while (t < end)
        {
            var local = t.UtcDateTime + zone;
            var week = (t - start).TotalDays / 7;
            var rate = daily * Hourly(local.Hour) * Weekly(local.DayOfWeek) * (1 + (drift * week)) / 24 * step.TotalHours;
            // Bursts: a Poisson number of visits, each 1–4 bags.
            var visits = Poisson(r, rate / 2.5);
            for (var v = 0; v < visits; v++)
            {
                var bags = 1 + r.Next(4);
                var rise = bags * (0.4 + (r.NextDouble() * 0.8));
                var room = 100 - level;
                level += Math.Min(room, rise);
                settle += Math.Min(room, rise) * 0.15;
            }
            // Loose waste settles: part of each rise sinks back over a few hours.
            var sink = settle * 0.1;
            settle -= sink;
            level = Math.Max(0, level - sink);
            var today = DateOnly.FromDateTime(local);
            var pickupNow = (local.Hour == 9 && local.Minute < 15 && pickupDays.Contains((int)local.DayOfWeek) && lastPickup != today)
                || (level > 90 && local.Hour is >= 8 and < 18 && r.NextDouble() < 0.1);
            if (pickupNow)
            {
                level = 2 + (r.NextDouble() * 10);
                settle = 0;
                lastPickup = today;
            }
            if (t >= gapUntil)
            {
                if (r.NextDouble() < 0.002)
                {
                    gapUntil = t + TimeSpan.FromHours(1 + (r.NextDouble() * 8)); // the modem drops out
                }
                else
                {
                    double reading;
                    var u = r.NextDouble();
                    if (u < 0.008)
                    {
                        // An echo: a bag's edge (85–100 %) or a lost echo (0–10 %).
                        reading = r.NextDouble() < 0.6 ? 85 + (r.NextDouble() * 15) : r.NextDouble() * 10;
                    }
                    else
                    {
                        // ±2 points uniform, and now and then ±6 (a heap's slope under the beam).
                        reading = level + ((r.NextDouble() - 0.5) * (u < 0.05 ? 12 : 4));
                    }
                    var jitter = TimeSpan.FromSeconds(r.Next(-60, 60));
                    var at = t + jitter;
                    if (readings.Count == 0 || at > readings[^1].Item1)
                    {
                        readings.Add((at, Math.Round(Math.Clamp(reading, 0, 100), 1)));
                    }
                }
            }
            t += step;
        }
        return readings;
    }

    private static double Hourly(int h) => h switch
    {
        < 6 => 0.1,
        < 8 => 0.6,
        < 11 => 1.0,
        < 14 => 2.2, // lunch
        < 17 => 0.9,
        < 20 => 1.1,
        < 23 => 2.0, // late evening
        _ => 0.4,
    } / 1.1;

    private static double Weekly(DayOfWeek d) => d switch
    {
        DayOfWeek.Wednesday => 1.6,
        DayOfWeek.Sunday => 0.5,
        DayOfWeek.Saturday => 1.1,
        _ => 0.95,
    };

    private static int Poisson(Random r, double mean)
    {
        var l = Math.Exp(-mean);
        var k = 0;
        var p = 1.0;
        do
        {
            k++;
            p *= r.NextDouble();
        }
        while (p > l && k < 100);
        return k - 1;
    }
}

/// <summary>Our predictor as the benchmark scores it: the cleaner and forecaster of the live system, one per series.</summary>
public sealed class SignalPredictor : IScoredPredictor
{
    private readonly IReadOnlyList<FillSeries> _series;
    private readonly CompartmentSignal[] _signals;
    private readonly double _cap;

    public SignalPredictor(IReadOnlyList<FillSeries> series, FleetRegistry registry, CleaningOptions cleaning, PredictionOptions prediction)
    {
        _series = series;
        _cap = prediction.Horizon.TotalHours;
        var fleet = new RhythmPool("fleet", prediction);
        var pools = new Dictionary<string, RhythmPool>(StringComparer.Ordinal);
        var calibrations = new Dictionary<string, ForecastCalibration>(StringComparer.Ordinal);
        RhythmPool Pool(string name) => pools.TryGetValue(name, out var p) ? p : pools[name] = new RhythmPool(name, prediction);
        _signals = [.. series.Select(s =>
        {
            // binId/compartment: a registry bin's community and stream, else the material's stream, else the fleet.
            var slash = s.Name.LastIndexOf('/');
            var bin = slash > 0 ? registry.FindBin(s.Name[..slash]) : null;
            var material = slash > 0 ? s.Name[(slash + 1)..] : "";
            var stream = WasteStreams.MaterialStreams.TryGetValue(material, out var st) ? st.Name() : "unknown";
            var chain = new List<RhythmPool>();
            if (bin is not null)
            {
                chain.Add(Pool($"community {bin.Community} {stream}"));
            }
            chain.Add(Pool($"stream {stream}"));
            chain.Add(fleet);
            var calibration = calibrations.TryGetValue(stream, out var c) ? c : calibrations[stream] = new ForecastCalibration();
            return new CompartmentSignal(new FillCleaner(cleaning), new FillForecaster(prediction, registry.TimeZone, calibration, [.. chain]));
        })];
    }

    public string Name => "fill intelligence";

    public void Observe(int s, int i)
    {
        var (time, pct) = _series[s].Readings[i];
        _signals[s].ObserveFill(time, pct);
    }

    public (double Hours, double Low, double High) Predict(int s, int i)
    {
        var now = _series[s].Readings[i].Time;
        var f = _signals[s].Forecast;
        if (f is null)
        {
            return (_cap, 0, double.PositiveInfinity);
        }
        if (f.MadeAt != now)
        {
            // The reading was held or rejected: the last prediction, from now.
            f = _signals[s].Forecaster.Predict(now) ?? f;
        }
        var hours = f.ThresholdAt is { } at ? (at - now).TotalHours : _cap;
        var low = f.ThresholdLow is { } l ? (l - now).TotalHours : f.ThresholdAt is null ? _cap : 0;
        var high = f.ThresholdHigh is { } h ? (h - now).TotalHours : double.PositiveInfinity;
        return (hours, low, high);
    }
}
