using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Telemetry.Contracts.Configuration;

namespace Telemetry.Host.Hosting;

/// <summary>
/// Standard .NET configuration for the commands that do not build a host (<c>simulate</c>,
/// <c>bench</c>): appsettings.json beside the executable, appsettings.{Environment}.json, environment
/// variables (<c>Mqtt__Server</c>), then <c>--Key=value</c> settings from the command line. Tokens the
/// command line did not claim must be such settings: anything else (<c>--sped 3600</c>) is an error.
/// </summary>
internal static partial class CommandLineConfiguration
{
    public static IConfigurationRoot Build(IReadOnlyList<string> unmatchedTokens, IEnumerable<string>? knownOptions = null)
    {
        var settings = SettingTokens(unmatchedTokens, knownOptions);
        var environment = Environment.GetEnvironmentVariable("DOTNET_ENVIRONMENT") ?? "Production";
        var config = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, $"appsettings.{environment}.json"), optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine([.. settings])
            .Build();
        SettingsCatalogue.CheckKnownKeys(config);
        return config;
    }

    /// <summary>
    /// The tokens, checked: each must be <c>--Key=value</c> (a configuration setting). Throws
    /// <see cref="ConfigurationException"/> naming the first that is not, with the closest known
    /// option when there is one.
    /// </summary>
    public static IReadOnlyList<string> SettingTokens(IReadOnlyList<string> tokens, IEnumerable<string>? knownOptions = null)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        foreach (var token in tokens)
        {
            var name = token.Split('=')[0];
            if (SettingPattern().IsMatch(token) && !name.Contains(':', StringComparison.Ordinal) && knownOptions is not null
                && knownOptions.Any(o => SettingsCatalogue.Distance(o, name) <= 2))
            {
                // --sped=3600 looks like a setting but is a mistyped option: it would be ignored silently.
                var close = knownOptions.OrderBy(o => SettingsCatalogue.Distance(o, name)).First();
                throw new ConfigurationException(token, $"not an option of this command{(close == name ? $" in this form; write {close} VALUE" : $"; did you mean {close}?")} (see --help)");
            }
            if (!SettingPattern().IsMatch(token))
            {
                var hint = "";
                if (token.StartsWith('-') && knownOptions is not null)
                {
                    var close = knownOptions.Select(o => (o, d: SettingsCatalogue.Distance(o, name))).OrderBy(x => x.d).FirstOrDefault();
                    if (close.o is not null && close.d <= 2)
                    {
                        hint = $"; did you mean {close.o}?";
                    }
                }
                throw new ConfigurationException(token, $"not an option of this command nor a --Key=value setting{hint} (see --help)");
            }
        }
        return tokens;
    }

    [GeneratedRegex(@"^--[A-Za-z][A-Za-z0-9_.\-]*(:[A-Za-z0-9_.\-]+)*=", RegexOptions.CultureInvariant)]
    private static partial Regex SettingPattern();
}
