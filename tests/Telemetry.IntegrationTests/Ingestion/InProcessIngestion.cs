using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Telemetry.Fleet;
using Telemetry.Ingestion;
using Telemetry.Ingestion.Decoding;
using Telemetry.Ingestion.Mqtt;
using Telemetry.Ingestion.Pipeline;
using Telemetry.Storage;

namespace Telemetry.IntegrationTests.Ingestion;

/// <summary>
/// The ingestion's MQTT source and pipeline in the test process, for settings the command line
/// does not offer (a smaller Maximum Packet Size) and for counters a child process does not show.
/// </summary>
internal sealed class InProcessIngestion : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _pipeline;
    private readonly Task _source;

    public InProcessIngestion(IngestionSettings settings, ITelemetryStore store, FleetRegistry registry)
    {
        Metrics = new IngestionMetrics();
        var writer = new ResilientStoreWriter(store, settings.ClientId, Metrics, NullLogger.Instance);
        Pipeline = new IngestionPipeline(new DeviceMessageDecoder(registry, new DecoderSettings()), writer, settings, Metrics, TimeProvider.System, NullLogger.Instance);
        Source = new MqttIngestionSource(settings, Pipeline, TimeProvider.System, Log);
        _pipeline = Pipeline.RunAsync(_stop.Token);
        _source = Source.RunAsync(_stop.Token);
    }

    public IngestionMetrics Metrics { get; }
    public IngestionPipeline Pipeline { get; }
    public MqttIngestionSource Source { get; }
    public LogRecorder Log { get; } = new();

    /// <summary>True while neither part has ended (on its own, an error).</summary>
    public bool IsRunning => !_pipeline.IsCompleted && !_source.IsCompleted;

    public async Task WaitConnectedAsync()
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (!Source.IsConnected)
        {
            if (_source.IsCompleted)
            {
                await _source; // its error, if it failed
                throw new InvalidOperationException("the MQTT source stopped before it connected");
            }
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"not connected within 30 s:\n{string.Join('\n', Log.Entries.Select(e => e.Message))}");
            }
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var part in new[] { _pipeline, _source })
        {
            try
            {
                await part;
            }
            catch (OperationCanceledException)
            {
                // Stopped.
            }
        }
        _stop.Dispose();
        Metrics.Dispose();
    }

    /// <summary>Keeps every log entry, so a test can assert what an operator would have been told.</summary>
    internal sealed class LogRecorder : ILogger
    {
        public ConcurrentQueue<(LogLevel Level, string Message)> Entries { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            Entries.Enqueue((logLevel, formatter(state, exception)));
        }
    }
}
