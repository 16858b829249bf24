using System.CommandLine;
using System.CommandLine.Parsing;
using Telemetry.Host.Hosting;

namespace Telemetry.Host.Commands;

/// <summary>Options shared by the commands that run the simulator.</summary>
internal static class CommonOptions
{
    public static Option<double> Speed(double defaultValue) => new("--speed")
    {
        Description = "Simulated seconds per real second.",
        DefaultValueFactory = _ => defaultValue,
        Validators = { r => { if (r.GetValueOrDefault<double>() is var s && !(s >= 1 && s <= 1_000_000)) { r.AddError("--speed must be between 1 and 1000000."); } } },
    };

    public static Option<int> Seed() => new("--seed")
    {
        Description = "Seed of the simulated fleet: the same seed and start give the same readings.",
        DefaultValueFactory = _ => 1,
    };

    public static Option<TimeSpan> Duration(string name, string description, TimeSpan? defaultValue) => new(name)
    {
        Description = description + " (e.g. 90s, 15m, 6h, 2d)",
        DefaultValueFactory = _ => defaultValue ?? TimeSpan.Zero,
        CustomParser = ParseDuration,
    };

    private static TimeSpan ParseDuration(ArgumentResult result)
    {
        var token = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (Durations.TryParse(token, out var value))
        {
            return value;
        }
        result.AddError($"'{token}' is not a duration such as 90s, 15m, 6h, 2d or 1.12:00:00.");
        return TimeSpan.Zero;
    }
}
