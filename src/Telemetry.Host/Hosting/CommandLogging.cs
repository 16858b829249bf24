using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Telemetry.Host.Hosting;

/// <summary>
/// Logging for the commands that do not build a host (<c>simulate</c>, <c>bench</c>), set up as the
/// host sets it up: levels from the <c>Logging</c> section, one line per entry on the console.
/// </summary>
internal static class CommandLogging
{
    public static ILoggerFactory Create(IConfiguration config, LogLevel defaultLevel = LogLevel.Warning) =>
        LoggerFactory.Create(b => b
            .SetMinimumLevel(defaultLevel)
            .AddConfiguration(config.GetSection("Logging"))
            .AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss ";
            }));
}
