using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Telemetry.Ingestion.Hosting;

/// <summary>
/// The ingestion role as a hosted service: opens the store, then receives and stores until the host
/// stops. On stop it finishes the writes and acknowledgements in flight until the host's shutdown
/// timeout (<c>Host:ShutdownTimeout</c>) runs out. A failure escapes: the host stops, and the process
/// exits non-zero naming the role and the reason.
/// </summary>
public sealed class IngestionWorker(IngestionService service, ILogger<IngestionWorker> logger) : BackgroundService
{
    private readonly CancellationTokenSource _abort = new();

    public IngestionService Service => service;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        logger.LogInformation("Ingestion: broker {Broker} as {ClientId} on {Topic}; store {Store}",
            service.Settings.Broker, service.Settings.ClientId, service.Settings.SubscriptionTopic, service.Store.Name);
        try
        {
            await service.InitializeStoreAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }
        await service.RunAsync(stoppingToken, _abort.Token);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // The host cancels this token when Host:ShutdownTimeout runs out: the drain stops there.
        await using var registration = cancellationToken.Register(_abort.Cancel);
        await base.StopAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _abort.Dispose();
        base.Dispose();
    }
}
