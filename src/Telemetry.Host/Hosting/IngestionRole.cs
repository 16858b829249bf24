using Microsoft.Extensions.Logging;
using Telemetry.Fleet;
using Telemetry.Ingestion;
using Telemetry.Ingestion.Decoding;
using Telemetry.Ingestion.Pipeline;
using Telemetry.Storage;

namespace Telemetry.Host.Hosting;

/// <summary>Starts the ingestion role: opens the store (waiting while it is unreachable), then receives and stores.</summary>
internal static class IngestionRole
{
    public static IngestionService Create(FleetRegistry registry, IngestionSettings settings, DecoderSettings decoder, ITelemetryStore store,
        TimeProvider time, ILoggerFactory loggers) =>
        new(settings, new DeviceMessageDecoder(registry, decoder), store, new IngestionMetrics(), time, loggers);

    public static async Task RunAsync(IngestionService service, ILogger logger, CancellationToken ct)
    {
        var delay = TimeSpan.FromSeconds(1);
        while (true)
        {
            try
            {
                await service.Store.InitializeAsync(ct);
                break;
            }
            catch (StoreUnavailableException ex)
            {
                // The broker holds the readings meanwhile: wait for the store rather than give up.
                logger.LogWarning("Store {Store} not ready: {Error}; retrying in {Delay}", service.Store.Name, ex.Message, delay);
                await Task.Delay(delay, ct);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }
        await service.RunAsync(ct);
    }

    public static string Progress(IngestionService s)
    {
        var (slowestWrite, longestLag) = s.Metrics.TakeExtremes();
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"ingestion {(s.IsConnected ? "connected" : "DISCONNECTED")} | received {s.Metrics.MessagesIn:N0} | readings stored {s.Metrics.ReadingsStored:N0} | " +
            $"dead letters {s.Metrics.DeadLetters:N0} | held {s.Pipeline.Held:N0} (peak {s.Pipeline.PeakHeld:N0}) | write retries {s.Metrics.WriteRetries:N0} | " +
            $"slowest write {slowestWrite.TotalMilliseconds:N0} ms | longest ack lag {longestLag.TotalMilliseconds:N0} ms | " +
            $"heap {GC.GetGCMemoryInfo().HeapSizeBytes / 1048576.0:N0} MB | resident {Environment.WorkingSet / 1048576.0:N0} MB");
    }
}
