using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Text;
using Telemetry.Host.Hosting;

namespace Telemetry.Host.Commands;

/// <summary>Options shared by the commands that run the simulator, and their help.</summary>
internal static class CommonOptions
{
    public static Option<double> Speed(double defaultValue, string description = "Simulated seconds per real second.") => new("--speed")
    {
        Description = description,
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

    /// <summary>
    /// Gives <paramref name="command"/> a help that lists the configuration settings it reads, where
    /// System.CommandLine would say "additional arguments: arguments passed to the application" for
    /// the tokens it leaves to the configuration (<c>--Mqtt:Server=…</c>).
    /// </summary>
    public static void DescribeSettings(Command command, params (string Setting, string Description)[] settings)
    {
        var help = new HelpOption();
        help.Action = new SettingsHelpAction((HelpAction)help.Action!, settings);
        // A command's own help option takes precedence over the root's recursive one.
        command.Options.Add(help);
    }

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

    /// <summary>The standard help, with the settings in place of the "additional arguments" lines.</summary>
    private sealed class SettingsHelpAction(HelpAction standard, (string Setting, string Description)[] settings) : SynchronousCommandLineAction
    {
        // System.CommandLine's (English, unlocalized) words for unmatched tokens in the usage line and their section.
        private const string UsageAdditionalArguments = "[[--] <additional arguments>...]]";
        private const string AdditionalArgumentsTitle = "Additional Arguments:";

        public override int Invoke(ParseResult parseResult)
        {
            var configuration = parseResult.InvocationConfiguration;
            var output = configuration.Output;
            using var captured = new StringWriter();
            configuration.Output = captured;
            int result;
            try
            {
                result = standard.Invoke(parseResult);
            }
            finally
            {
                configuration.Output = output;
            }
            output.Write(Rewrite(captured.ToString()));
            return result;
        }

        private string Rewrite(string help)
        {
            var lines = help.Replace(UsageAdditionalArguments, "[--Key=value ...]", StringComparison.Ordinal).Split('\n').ToList();
            var at = lines.FindIndex(l => l.TrimEnd('\r') == AdditionalArgumentsTitle);
            if (at >= 0)
            {
                var end = at + 1;
                while (end < lines.Count && lines[end].TrimEnd('\r').Length > 0)
                {
                    end++;
                }
                lines.RemoveRange(at, end - at);
            }
            var text = new StringBuilder(string.Join('\n', lines).TrimEnd());
            text.AppendLine().AppendLine();
            text.AppendLine("Settings (--Key=value after the options, environment variables such as Mqtt__Server, or appsettings.json):");
            var width = settings.Max(s => s.Setting.Length) + 2;
            foreach (var (setting, description) in settings)
            {
                text.Append("  ").Append(setting.PadRight(width)).AppendLine(description);
            }
            return text.ToString();
        }
    }
}
