using System.Text.Json;
using Telemetry.Contracts.Readings;
using Telemetry.Fleet;
using Telemetry.Ingestion.Decoding;
using Telemetry.Simulator;

namespace Telemetry.UnitTests;

public class SimulatorTests
{
    private static readonly FleetRegistry Registry = FleetRegistryLoader.LoadDefault();
    private static readonly DateTimeOffset Start = new(2026, 11, 23, 16, 0, 0, TimeSpan.Zero); // Tuesday 00:00 in Jinan

    [Fact]
    public void Same_seed_and_start_give_the_same_messages()
    {
        static List<string> Run(int seed) => new FleetSimulation(Registry, seed, Start).RunUntil(Start.AddHours(6))
            .Select(o => $"{o.Kind} {o.At:O} {o.Topic} {(o.Payload is null ? "" : System.Text.Encoding.UTF8.GetString(o.Payload))}").ToList();
        var a = Run(7);
        Assert.True(a.Count > 1000);
        Assert.Equal(a, Run(7));
        Assert.NotEqual(a, Run(8));
    }

    [Fact]
    public void A_simulated_week_is_accepted_whole_by_the_decoder_and_covers_every_compartment()
    {
        var decoder = new DeviceMessageDecoder(Registry, new DecoderSettings());
        var outputs = new FleetSimulation(Registry, 3, Start).RunUntil(Start.AddDays(7));
        var messages = outputs.Where(o => o.Kind == SimulatedOutputKind.Message).ToList();
        var fills = new HashSet<(string, string)>();
        var deposits = 0;
        foreach (var m in messages)
        {
            var r = decoder.Decode(m.Topic!, m.Payload!, m.At);
            Assert.True(r.IsAccepted, $"{m.Topic} {System.Text.Encoding.UTF8.GetString(m.Payload!)}: {r}");
            foreach (var reading in r.Readings)
            {
                if (reading is FillReading f)
                {
                    fills.Add((f.BinId, f.Compartment));
                }
                if (reading is WeightReading { DepositKg: not null })
                {
                    deposits++;
                }
            }
        }
        Assert.Equal(Registry.AllCompartments().Select(x => (x.Bin.Id, x.Compartment.Id)).ToHashSet(), fills);
        Assert.True(deposits > 55 * 100 * 7, $"only {deposits} deposits in a week");
        // Faults happen but stay rare.
        Assert.Contains(outputs, o => o.Kind == SimulatedOutputKind.WentSilent);
        var silent = outputs.Count(o => o.Kind == SimulatedOutputKind.WentSilent);
        Assert.InRange(outputs.Count(o => o.Kind == SimulatedOutputKind.CameBack), Math.Max(0, silent - 3), silent);
        Assert.True(silent < 55 * 7 * 0.05, $"{silent} silences");
    }

    [Fact]
    public void Deposits_follow_the_daily_and_weekly_rhythm()
    {
        var outputs = new FleetSimulation(Registry, 5, Start, new SimulationOptions { Faults = false }).RunUntil(Start.AddDays(7));
        var perLocalHour = new int[24];
        var weekday = 0;
        var weekend = 0;
        foreach (var o in outputs.Where(o => o.Topic?.EndsWith("/weight", StringComparison.Ordinal) == true))
        {
            using var doc = JsonDocument.Parse(o.Payload);
            if (!doc.RootElement.GetProperty("compartments")[0].TryGetProperty("depositKg", out _))
            {
                continue;
            }
            var local = TimeZoneInfo.ConvertTime(o.At, Registry.TimeZone);
            perLocalHour[local.Hour]++;
            if (local.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday)
            {
                weekend++;
            }
            else
            {
                weekday++;
            }
        }
        var evening = perLocalHour[18] + perLocalHour[19] + perLocalHour[20];
        var night = perLocalHour[1] + perLocalHour[2] + perLocalHour[3];
        Assert.True(evening > 20 * night, $"evening {evening}, night {night}");
        Assert.True(weekend / 2.0 > weekday / 5.0 * 1.1, $"weekend/day {weekend / 2.0}, weekday/day {weekday / 5.0}");
    }

    [Fact]
    public void Fill_rises_with_deposits_and_collections_empty_the_stream()
    {
        var sim = new FleetSimulation(Registry, 11, Start, new SimulationOptions { Faults = false, Outliers = false });
        var outputs = sim.RunUntil(Start.AddDays(3));
        var decoder = new DeviceMessageDecoder(Registry, new DecoderSettings());
        var kitchen = outputs.Where(o => o.Kind == SimulatedOutputKind.Message)
            .SelectMany(o => decoder.Decode(o.Topic!, o.Payload!, o.At).Readings)
            .OfType<WeightReading>().Where(w => w.Compartment == "kitchen").ToList();
        // Kitchen compartments fill within days and the simulated trucks empty them.
        var emptiedBins = kitchen.Where(w => w.DepositKg is null && w.NetKg < 0.5).Select(w => w.BinId).Distinct().ToList();
        Assert.True(emptiedBins.Count > 10, $"{emptiedBins.Count} kitchen compartments emptied");
        Assert.Contains(kitchen, w => w.NetKg > 50);

        var emptied = new List<SimulatedOutput>();
        Assert.True(sim.Empty("JY-002", WasteStream.Recyclable, sim.Now, emptied.Add));
        var weight = decoder.Decode(emptied[0].Topic!, emptied[0].Payload!, emptied[0].At).Readings.OfType<WeightReading>().ToList();
        Assert.Equal(Registry.FindBin("JY-002")!.Compartments.Where(c => c.Stream == WasteStream.Recyclable).Select(c => c.Id), weight.Select(w => w.Compartment));
        Assert.All(weight, w => Assert.InRange(w.NetKg, 0, 0.2));
        Assert.False(sim.Empty("JY-999", WasteStream.Kitchen, sim.Now, emptied.Add));
    }

    [Fact]
    public void Deposit_arrivals_do_not_depend_on_when_compartments_are_emptied_and_a_full_compartment_refuses_them()
    {
        static (List<(string, string, DateTimeOffset, double)> Arrivals, FleetSimulation Sim, List<EmptiedCompartment> Emptied) Run(bool empty)
        {
            var sim = new FleetSimulation(Registry, 9, Start, new SimulationOptions { SelfCollect = false });
            var arrivals = new List<(string, string, DateTimeOffset, double)>();
            var emptied = new List<EmptiedCompartment>();
            sim.Deposited = d => arrivals.Add((d.BinId, d.Compartment, d.At, d.Kg));
            sim.Emptied = emptied.Add;
            for (var h = 1; h <= 72; h++)
            {
                sim.RunUntil(Start.AddHours(h), _ => { });
                if (empty && h % 7 == 0)
                {
                    foreach (var bin in Registry.Bins.Take(30))
                    {
                        sim.Empty(bin.Id, WasteStream.Residual, sim.Now, _ => { });
                        sim.Empty(bin.Id, WasteStream.Kitchen, sim.Now, _ => { });
                    }
                }
            }
            return (arrivals, sim, emptied);
        }
        var idle = Run(empty: false);
        var busy = Run(empty: true);
        Assert.True(idle.Arrivals.Count > 55 * 100 * 3, $"{idle.Arrivals.Count} deposits");
        Assert.Equal(idle.Arrivals, busy.Arrivals);
        // Never emptied for three days, residual compartments fill up: their doors lock and deposits are refused and counted.
        Assert.True(idle.Sim.RefusedDeposits > 1000, $"{idle.Sim.RefusedDeposits} refused");
        Assert.True(busy.Sim.RefusedDeposits < idle.Sim.RefusedDeposits - 1000, $"{busy.Sim.RefusedDeposits} refused with collections, {idle.Sim.RefusedDeposits} without");
        Assert.True(idle.Sim.OverflowHours() > busy.Sim.OverflowHours() + 100, $"{idle.Sim.OverflowHours()} vs {busy.Sim.OverflowHours()} overflow hours");
        Assert.Empty(idle.Emptied);
        // Each emptying reports the true level just before, and leaves the compartment empty.
        var residual = busy.Emptied.First(e => e.Compartment == "residual");
        Assert.InRange(residual.FillPct, 1, 100);
        Assert.True(residual.Kg > 0);
        Assert.Equal(WasteStream.Residual, residual.Stream);
        Assert.Equal(Start.AddHours(7), residual.At);
        var last = busy.Emptied[^1];
        Assert.True(busy.Sim.TrueFillPct(last.BinId, last.Compartment) < 30);
        Assert.Null(busy.Sim.TrueFillPct("JY-999", "kitchen"));
    }

    [Fact]
    public void Faults_come_and_go_within_the_contract_ranges()
    {
        var outputs = new FleetSimulation(Registry, 4, Start).RunUntil(Start.AddDays(30));
        var statuses = outputs.Where(o => o.Topic?.EndsWith("/status", StringComparison.Ordinal) == true)
            .Select(o => (o.BinId, o.At, Doc: JsonDocument.Parse(o.Payload!).RootElement)).Where(x => x.Doc.TryGetProperty("tilt", out _)).ToList();
        var tilted = statuses.Where(x => x.Doc.GetProperty("tilt").GetBoolean()).ToList();
        var hot = statuses.Where(x => x.Doc.GetProperty("tempC").GetDouble() > 40).ToList();
        Assert.NotEmpty(tilted);
        Assert.NotEmpty(hot);
        Assert.All(statuses, x => Assert.InRange(x.Doc.GetProperty("tempC").GetDouble(), -50, 150));
        // Rare and temporary: a few percent of reports at most, and every tilted bin stands up again.
        Assert.True(tilted.Count < statuses.Count * 0.05, $"{tilted.Count} of {statuses.Count} reports tilted");
        foreach (var bin in tilted.Select(t => t.BinId).Distinct())
        {
            // Each run of tilted reports lasts at most the longest tilt (12 h) plus a report interval.
            DateTimeOffset? since = null;
            foreach (var x in statuses.Where(x => x.BinId == bin))
            {
                if (x.Doc.GetProperty("tilt").GetBoolean())
                {
                    since ??= x.At;
                    Assert.True(x.At - since.Value < TimeSpan.FromHours(13), $"{bin} tilted since {since}, still at {x.At}");
                }
                else
                {
                    since = null;
                }
            }
        }
    }

    [Fact]
    public void Seq_increases_per_device_across_topics()
    {
        var outputs = new FleetSimulation(Registry, 2, Start, new SimulationOptions { Faults = false }).RunUntil(Start.AddHours(12));
        var seqs = outputs.Where(o => o.BinId == "JY-010").Select(o => JsonDocument.Parse(o.Payload!).RootElement.GetProperty("seq").GetInt64()).ToList();
        Assert.True(seqs.Count > 50);
        Assert.Equal(seqs.OrderBy(s => s), seqs);
        Assert.Equal(seqs.Count, seqs.Distinct().Count());
    }
}
