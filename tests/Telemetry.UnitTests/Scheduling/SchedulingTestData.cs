using Telemetry.Contracts.Readings;
using Telemetry.Fleet;
using Telemetry.Fleet.Signal;
using Telemetry.Scheduling.Signal;

namespace Telemetry.UnitTests.Scheduling;

/// <summary>The fleet, times and readings the scheduling tests share.</summary>
internal static class SchedulingTestData
{
    public static readonly FleetRegistry Registry = FleetRegistryLoader.LoadDefault();

    public static readonly Dictionary<WasteStream, TimeSpan> KitchenDaily = new() { [WasteStream.Kitchen] = TimeSpan.FromDays(1) };

    /// <summary>November 2026, local time in Jiyang (UTC+8).</summary>
    public static DateTimeOffset Local(int day, int hour) => new(2026, 11, day, hour, 0, 0, TimeSpan.FromHours(8));

    /// <summary>One cleaned fill reading as the fill signal hands it to the scheduler.</summary>
    public static FillSignalBatch Fill(DateTimeOffset at, string bin, string compartment, double pct)
    {
        var stream = Registry.FindBin(bin)!.FindCompartment(compartment)!.Stream.Name();
        var forecast = new FillForecast(at, pct, 80, null, null, null, null, null, null, 0.1, "own");
        return new FillSignalBatch(false, [new SignalObservation(new FillReading(bin, "c01", compartment, stream, at, 1, pct), pct, forecast)], [], []);
    }
}
