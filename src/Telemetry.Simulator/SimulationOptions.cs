namespace Telemetry.Simulator;

/// <summary>Knobs of the simulated fleet; the defaults give a realistic day.</summary>
public sealed record SimulationOptions
{
    /// <summary>How often a device reports the fill level of every compartment.</summary>
    public TimeSpan FillInterval { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How often a device reports its health.</summary>
    public TimeSpan StatusInterval { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Rare faults: tilt, temperature spikes, devices going silent (with their Last Will) and rebooting.</summary>
    public bool Faults { get; init; } = true;

    /// <summary>Sensor outliers (ultrasonic echo spikes and drops) on fill readings.</summary>
    public bool Outliers { get; init; } = true;

    /// <summary>
    /// Without a scheduler, the simulator plays the trucks: a stream's compartments are emptied a few
    /// hours (in daytime) after one of them passes <see cref="CollectAtPct"/>.
    /// </summary>
    public bool SelfCollect { get; init; } = true;

    public double CollectAtPct { get; init; } = 80;

    /// <summary>Multiplies every deposit rate (1 = a normal day).</summary>
    public double Activity { get; init; } = 1;
}
