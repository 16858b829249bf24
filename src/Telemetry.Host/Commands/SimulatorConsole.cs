using System.Diagnostics;
using System.Globalization;
using Telemetry.Simulator;

namespace Telemetry.Host.Commands;

/// <summary>Prints a simulator's progress: simulated time, messages acknowledged and the rate, connections, backlog.</summary>
internal sealed class SimulatorConsole(SimulatorRunner runner, TextWriter output, TimeSpan interval)
{
    private readonly Stopwatch _elapsed = Stopwatch.StartNew();

    /// <summary>A second line printed with each progress line (the demo's ingestion).</summary>
    public Func<string>? Extra { get; init; }

    public async Task RunAsync(CancellationToken ct)
    {
        var last = 0L;
        var lastAt = TimeSpan.Zero;
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                var now = _elapsed.Elapsed;
                var published = runner.Stats.Published;
                var rate = (published - last) / Math.Max(0.001, (now - lastAt).TotalSeconds);
                last = published;
                lastAt = now;
                await output.WriteLineAsync(Line(rate));
                if (Extra is not null)
                {
                    await output.WriteLineAsync("           " + Extra());
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    public string Line(double ratePerSecond)
    {
        var s = runner.Stats;
        var lag = runner.Lag;
        var lagText = lag > TimeSpan.FromSeconds(5) ? $" | behind clock {lag.TotalMinutes:0.0} min" : "";
        var failuresText = s.ConnectFailures > 0 ? $" | connect failures {s.ConnectFailures:N0}" : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"[{_elapsed.Elapsed:hh\\:mm\\:ss}] sim {runner.SimulatedNow.UtcDateTime:yyyy-MM-dd HH:mm}Z | published {s.Published:N0} ({ratePerSecond:N0}/s) | " +
            $"pending {s.Pending:N0} | connected {s.ConnectedClients:N0}/{runner.ConnectionCount:N0}{failuresText} | reconnects {s.Reconnects:N0} | " +
            $"republished {s.Republished:N0} | refused {s.Refused:N0} | dropped {s.Dropped:N0}{lagText}");
    }

    public string Summary()
    {
        var s = runner.Stats;
        var seconds = _elapsed.Elapsed.TotalSeconds;
        return string.Create(CultureInfo.InvariantCulture,
            $"published {s.Published:N0} messages in {seconds:0.0} s ({s.Published / Math.Max(0.001, seconds):N0}/s); " +
            $"refused {s.Refused:N0}, dropped {s.Dropped:N0}, republished {s.Republished:N0}, reconnects {s.Reconnects:N0}, " +
            $"failed connection attempts {s.ConnectFailures:N0}, still unacknowledged {runner.Unacknowledged:N0}");
    }
}
