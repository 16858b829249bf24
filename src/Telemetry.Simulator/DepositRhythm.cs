namespace Telemetry.Simulator;

/// <summary>
/// The daily and weekly rhythm of deposits in local time: quiet nights, a morning peak before
/// work, a larger evening peak after dinner, and more at weekends. The daily profile averages 1.
/// </summary>
internal static class DepositRhythm
{
    // Relative deposit rate for each local hour 0..23 (normalised below).
    private static readonly double[] Hourly =
    [
        0.05, 0.03, 0.02, 0.02, 0.05, 0.2, 0.8, 1.6, 1.7, 1.0, 0.8, 0.9,
        1.0, 0.8, 0.7, 0.7, 0.9, 1.3, 2.0, 2.4, 2.2, 1.5, 0.7, 0.2,
    ];

    private static readonly double HourlyMean = Hourly.Average();

    public const double WeekendFactor = 1.3;

    /// <summary>Highest value <see cref="Rate"/> can return for an evening bias of at most 1.5.</summary>
    public static readonly double MaxFactor = Hourly.Max() / HourlyMean * 1.5 * WeekendFactor;

    /// <summary>Rate multiplier at a local time. <paramref name="eveningBias"/> &gt; 1 shifts deposits to the evening (kitchen waste after dinner).</summary>
    public static double Rate(DateTime local, double eveningBias)
    {
        var h = local.Hour;
        var daily = Hourly[h] / HourlyMean;
        if (h is >= 17 and <= 21)
        {
            daily *= eveningBias;
        }
        else if (eveningBias > 1)
        {
            daily /= 1 + ((eveningBias - 1) * 0.5);
        }
        var weekly = local.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday ? WeekendFactor : 1.0;
        return daily * weekly;
    }
}
