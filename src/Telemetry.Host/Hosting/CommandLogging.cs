using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Telemetry.Host.Hosting;

/// <summary>
/// Logging for the commands that do not build a host (<c>simulate</c>, <c>bench</c>), set up as the
/// host sets it up: levels from the <c>Logging</c> section, one line per entry on the console.
/// </summary>
internal static class CommandLogging
{
    /// <param name="quiet">Categories kept at a level unless the <c>Logging</c> section names them itself
    /// (the simulator's progress line is its console; its per-device chatter is not).</param>
    public static ILoggerFactory Create(IConfiguration config, params (string Category, LogLevel Level)[] quiet) =>
        LoggerFactory.Create(b =>
        {
            b.SetMinimumLevel(LogLevel.Information);
            foreach (var (category, level) in quiet)
            {
                if (config[$"Logging:LogLevel:{category}"] is null)
                {
                    b.AddFilter(category, level);
                }
            }
            b.AddConfiguration(config.GetSection("Logging"))
                .AddSimpleConsole(o =>
                {
                    o.SingleLine = true;
                    o.TimestampFormat = "HH:mm:ss ";
                });
        });
}
