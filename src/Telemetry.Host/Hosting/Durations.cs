using System.Globalization;

namespace Telemetry.Host.Hosting;

/// <summary>Durations on the command line: <c>90s</c>, <c>15m</c>, <c>6h</c>, <c>2d</c>, or a .NET TimeSpan (<c>1.12:00:00</c>).</summary>
internal static class Durations
{
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        text = text.Trim();
        var unit = text[^1];
        if (char.IsAsciiLetter(unit) && double.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var n)
            && double.IsFinite(n) && n >= 0)
        {
            var seconds = unit switch
            {
                's' => n,
                'm' => n * 60,
                'h' => n * 3600,
                'd' => n * 86400,
                _ => double.NaN,
            };
            if (double.IsNaN(seconds) || seconds > TimeSpan.MaxValue.TotalSeconds / 2)
            {
                return false;
            }
            value = TimeSpan.FromSeconds(seconds);
            return true;
        }
        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value) && value >= TimeSpan.Zero;
    }

    public static string Format(TimeSpan t) => t.TotalDays >= 1
        ? t.ToString(@"d\d\ hh\:mm\:ss", CultureInfo.InvariantCulture)
        : t.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture);
}
