using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Telemetry.Host.Hosting;
using Telemetry.Ingestion;
using Telemetry.Simulator;

namespace Telemetry.Host.Commands;

/// <summary>
/// The demo's simulated fleet as a hosted service, registered after ingestion so it starts once
/// ingestion has subscribed and stops before ingestion drains. With a duration, it stops the host
/// once the simulation has reached it and ingestion has stored everything the devices published.
/// </summary>
internal sealed class DemoSimulatorService(
    SimulatorRunner runner, IngestionService ingestion, IHostApplicationLifetime lifetime, DemoSettings demo, ILogger<DemoSimulatorService> logger) : BackgroundService
{
    public SimulatorRunner Runner => runner;

    /// <summary>The devices disconnect (flushing what they hold) while the broker is still up: it stops after this.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await runner.DisposeAsync();
    }

    /// <summary>How long ingestion may take to connect and subscribe before the demo gives up.</summary>
    private static readonly TimeSpan SubscribeDeadline = TimeSpan.FromSeconds(30);

    /// <summary>How long the stored count may stand still short of the published count before the demo says so.</summary>
    private static readonly TimeSpan DrainStall = TimeSpan.FromSeconds(60);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Readings published before ingestion subscribes would wait in no session: wait for the subscription.
        // Real time on purpose (docs/architecture.md): a deadline for a network connection, not simulated time.
        var waiting = System.Diagnostics.Stopwatch.StartNew();
        while (!ingestion.IsConnected)
        {
            if (waiting.Elapsed > SubscribeDeadline)
            {
                throw new TimeoutException($"ingestion did not connect to the embedded broker and subscribe within {SubscribeDeadline.TotalSeconds:N0} s");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(20), stoppingToken);
        }
        var console = new SimulatorConsole(runner, System.Console.Out, TimeSpan.FromSeconds(2)) { Extra = () => ProgressReporter.Format(ingestion.Snapshot(), json: false) };
        Progress = console;
        using var stopConsole = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var progress = console.RunAsync(stopConsole.Token);
        try
        {
            await runner.RunAsync(demo.Until, stoppingToken);
            if (demo.Until is not null && !stoppingToken.IsCancellationRequested)
            {
                await WaitStoredAsync(stoppingToken);
                logger.LogInformation("Demo reached {Until:u}; everything published is stored", demo.Until);
                lifetime.StopApplication();
            }
        }
        finally
        {
            await stopConsole.CancelAsync();
            await progress;
        }
    }

    /// <summary>The progress console, once the simulation runs (its summary ends the demo's output).</summary>
    public SimulatorConsole? Progress { get; private set; }

    private async Task WaitStoredAsync(CancellationToken ct)
    {
        var acknowledged = -1L;
        var sinceMoved = System.Diagnostics.Stopwatch.StartNew();
        while (ingestion.Metrics.MessagesAcknowledged < runner.Stats.Published)
        {
            if (ingestion.Metrics.MessagesAcknowledged != acknowledged)
            {
                acknowledged = ingestion.Metrics.MessagesAcknowledged;
                sinceMoved.Restart();
            }
            else if (sinceMoved.Elapsed > DrainStall)
            {
                throw new TimeoutException($"ingestion has stored {acknowledged:N0} of {runner.Stats.Published:N0} published messages and made no progress for {DrainStall.TotalSeconds:N0} s");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(50), ct);
        }
    }
}

/// <summary>What <c>demo</c> was asked for.</summary>
internal sealed record DemoSettings(DateTimeOffset Start, double Speed, int Seed, DateTimeOffset? Until);
