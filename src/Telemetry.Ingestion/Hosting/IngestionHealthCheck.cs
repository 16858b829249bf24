using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Telemetry.Ingestion.Hosting;

/// <summary>
/// Ingestion's readiness: connected to the broker, the store open and taking writes (age of the last
/// successful write), and the messages held against the limit. Unhealthy while the broker or the
/// store is lost, degraded while the pipeline is near its hold limit.
/// </summary>
/// <remarks>Ages are measured on <paramref name="time"/>, the real clock the broker's and the store's loss times are taken on.</remarks>
public sealed class IngestionHealthCheck(IngestionService service, TimeProvider? time = null) : IHealthCheck
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        var held = service.Pipeline.Held;
        var limit = service.Pipeline.HoldLimit;
        var lastWrite = service.Metrics.LastStoredAt;
        var data = new Dictionary<string, object>
        {
            ["connected"] = service.IsConnected,
            ["storeReady"] = service.IsStoreReady,
            ["held"] = held,
            ["holdLimit"] = limit,
            ["heldBytes"] = service.Pipeline.HeldBytes,
            ["holdByteLimit"] = service.Pipeline.HoldByteLimit,
            ["received"] = service.Metrics.MessagesIn,
            ["acknowledged"] = service.Metrics.MessagesAcknowledged,
            ["lastWriteAgeSeconds"] = lastWrite is { } t ? Math.Round((now - t).TotalSeconds, 1) : -1,
        };
        if (service.Source.DisconnectedSince is { } since)
        {
            data["brokerLostSeconds"] = Math.Round((now - since).TotalSeconds, 1);
        }
        if (service.Writer.UnavailableSince is { } down)
        {
            data["storeLostSeconds"] = Math.Round((now - down).TotalSeconds, 1);
        }
        HealthCheckResult result;
        if (!service.IsStoreReady)
        {
            result = HealthCheckResult.Unhealthy($"store {service.Store.Name} not open yet", data: data);
        }
        else if (service.Writer.UnavailableSince is not null)
        {
            result = HealthCheckResult.Unhealthy($"store {service.Store.Name} unavailable: {service.Writer.LastError}", data: data);
        }
        else if (!service.IsConnected)
        {
            result = HealthCheckResult.Unhealthy($"not connected to the broker {service.Settings.Broker}: {service.Source.LastDisconnectReason ?? "connecting"}", data: data);
        }
        else if (held >= limit * 0.9 || service.Pipeline.HeldBytes >= service.Pipeline.HoldByteLimit * 0.9)
        {
            result = HealthCheckResult.Degraded($"{held} messages ({service.Pipeline.HeldBytes:N0} bytes) held of {limit} ({service.Pipeline.HoldByteLimit:N0} bytes): the store is not keeping up", data: data);
        }
        else
        {
            result = HealthCheckResult.Healthy($"connected to {service.Settings.Broker}, storing into {service.Store.Name}", data);
        }
        return Task.FromResult(result);
    }
}
