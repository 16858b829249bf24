using Microsoft.Extensions.Logging;
using Telemetry.Ingestion.Decoding;
using Telemetry.Ingestion.Mqtt;
using Telemetry.Ingestion.Pipeline;
using Telemetry.Storage;

namespace Telemetry.Ingestion;

/// <summary>The ingestion role: MQTT source and storage pipeline, run together until stopped.</summary>
public sealed class IngestionService
{
    private readonly MqttIngestionSource _source;

    public IngestionService(IngestionSettings settings, DeviceMessageDecoder decoder, ITelemetryStore store, IngestionMetrics metrics, TimeProvider time, ILoggerFactory loggers)
    {
        Settings = settings;
        Store = store;
        Metrics = metrics;
        var writer = new ResilientStoreWriter(store, settings.ClientId, metrics, loggers.CreateLogger<ResilientStoreWriter>());
        Pipeline = new IngestionPipeline(decoder, writer, settings, metrics, time, loggers.CreateLogger<IngestionPipeline>());
        _source = new MqttIngestionSource(settings, Pipeline, time, loggers.CreateLogger<MqttIngestionSource>());
    }

    public IngestionSettings Settings { get; }
    public ITelemetryStore Store { get; }
    public IngestionMetrics Metrics { get; }
    public IngestionPipeline Pipeline { get; }
    public bool IsConnected => _source.IsConnected;

    /// <summary>Initializes the store (retrying while it is unreachable), then receives and stores until cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var pipeline = Pipeline.RunAsync(stop.Token);
        var source = _source.RunAsync(stop.Token);
        var first = await Task.WhenAny(pipeline, source);
        await stop.CancelAsync();
        try
        {
            await Task.WhenAll(pipeline, source);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Normal stop.
        }
        // A part that ended on its own with an error is reported, not hidden.
        if (!ct.IsCancellationRequested && first.IsFaulted)
        {
            await first;
        }
    }
}
