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
            service.Settings.Broker, service.Settings.ClientId, string.Join(" and ", service.Settings.SubscriptionTopics), service.Store.Name);
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
        // base.StopAsync returns when the token is cancelled, not when the role has finished: give the
        // aborted drain a moment to disconnect before the host disposes the store and the client under it.
        if (ExecuteTask is { IsCompleted: false } running)
        {
            try
            {
                await running.WaitAsync(AbortGrace, CancellationToken.None);
            }
            catch (TimeoutException)
            {
                logger.LogWarning("Ingestion did not finish within {Grace} of the shutdown timeout; stopping anyway", AbortGrace);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Its failure is reported by the host from ExecuteTask; here it only ends the wait.
                logger.LogDebug("Ingestion ended with {Error} while stopping", ex.Message);
            }
        }
    }

    /// <summary>How long an aborted drain may take to cancel and disconnect.</summary>
    private static readonly TimeSpan AbortGrace = TimeSpan.FromSeconds(5);

    public override void Dispose()
    {
        _abort.Dispose();
        base.Dispose();
    }
}
