using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Telemetry.Ingestion;

namespace Telemetry.Host.Hosting;

/// <summary>
/// Prints the ingestion role's state every <c>Host:ProgressInterval</c> (real time), and once more on
/// stop: a line for people (<c>Host:ProgressFormat=text</c>) or one JSON object per line for programs
/// (<c>json</c>: <c>{"status":"ingestion",...}</c>; the benchmark and the tests read these).
/// </summary>
internal sealed class ProgressReporter(IngestionService ingestion, IOptions<HostSettings> settings) : BackgroundService
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(settings.Value.ProgressInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await Console.Out.WriteLineAsync(Line());
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

    public static string Format(IngestionSnapshot s, bool json)
    {
        if (json)
        {
            var node = JsonSerializer.SerializeToNode(s, Json)!.AsObject();
            node.Insert(0, "status", "ingestion");
            return node.ToJsonString();
        }
        return string.Create(CultureInfo.InvariantCulture,
            $"ingestion {(s.Connected ? "connected" : "DISCONNECTED")}{(s.StoreReady ? "" : " (store not open)")} | received {s.Received:N0} | readings stored {s.ReadingsStored:N0} | " +
            $"dead letters {s.DeadLetters:N0} | held {s.Held:N0} (peak {s.PeakHeld:N0}) | write retries {s.WriteRetries:N0} | " +
            $"slowest write {s.SlowestWriteMs:N0} ms | longest ack lag {s.LongestAckLagMs:N0} ms | heap {s.HeapMb:N0} MB | resident {s.ResidentMb:N0} MB");
    }
}
