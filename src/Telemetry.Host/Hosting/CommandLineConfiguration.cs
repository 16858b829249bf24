using Microsoft.Extensions.Configuration;

namespace Telemetry.Host.Hosting;

/// <summary>
/// Standard .NET configuration for every command: appsettings.json beside the executable (then in
/// the working folder), environment variables (<c>Mqtt__Server</c>), then configuration switches the
/// command line did not claim (<c>--Mqtt:Server=mqtt://…</c>).
/// </summary>
internal static class CommandLineConfiguration
{
    public static IConfigurationRoot Build(IReadOnlyList<string> unmatchedTokens) =>
        new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine([.. unmatchedTokens])
            .Build();
}
