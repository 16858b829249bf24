using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Telemetry.Ingestion;

namespace Telemetry.Host.Hosting;

/// <summary>
/// Prints the ingestion role's state every <c>Host:ProgressInterval</c> (real time), at once when it
/// connects, disconnects or opens the store, and once more after the role stopped: a line for people
/// (<c>Host:ProgressFormat=text</c>) or one JSON object per line for programs (<c>json</c>:
/// <c>{"status":"ingestion",...}</c>; the benchmark's child process and the tests read these).
/// </summary>
internal sealed class ProgressReporter(IngestionService ingestion, IOptions<HostSettings> settings) : BackgroundService
{
    private static readonly TimeSpan StateCheck = TimeSpan.FromMilliseconds(100);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = settings.Value.ProgressInterval;
        var since = TimeSpan.Zero;
        var state = (ingestion.IsConnected, ingestion.IsStoreReady);
        using var timer = new PeriodicTimer(interval < StateCheck ? interval : StateCheck);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                since += interval < StateCheck ? interval : StateCheck;
                var now = (ingestion.IsConnected, ingestion.IsStoreReady);
                if (since >= interval || now != state)
                {
                    state = now;
                    since = TimeSpan.Zero;
                    await Console.Out.WriteLineAsync(Line());
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: the last line is printed in StopAsync, after the roles have finished.
        }
    }

    /// <summary>Registered before the roles, so it stops after them: its last line shows the drained state.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await Console.Out.WriteLineAsync(Line());
    }

    /// <summary>The role's state now, formatted as configured.</summary>
    public string Line() => Format(ingestion.Snapshot(), settings.Value.Json);

    public static string Format(IngestionSnapshot s, bool json) => json ? s.ToJson() : s.ToText();
}
