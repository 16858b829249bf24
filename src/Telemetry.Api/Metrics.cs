using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;

namespace Telemetry.Api;

/// <summary>
/// <c>/metrics</c> in the Prometheus text format through OpenTelemetry's exporter: the project's meters
/// (<c>Telemetry.*</c>: the ingestion's counters and histograms, dead letters by reason), ASP.NET Core's HTTP server
/// and Kestrel meters, and the runtime's. Every process that serves HTTP has it: the api role, and a process with
/// <c>Health:Url</c>.
/// </summary>
public static class TelemetryMetrics
{
    public const string Path = "/metrics";

    public static IHostApplicationBuilder AddTelemetryMetrics(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOpenTelemetry().WithMetrics(m => m
            .AddMeter("Telemetry.*", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Authentication", "System.Runtime")
            // Milliseconds: the ingestion's write and acknowledgement latencies run from about 1 ms to seconds.
            .AddView("telemetry.ingestion.write_latency", new ExplicitBucketHistogramConfiguration { Boundaries = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] })
            .AddView("telemetry.ingestion.ack_lag", new ExplicitBucketHistogramConfiguration { Boundaries = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000] })
            .AddView("telemetry.ingestion.batch_size", new ExplicitBucketHistogramConfiguration { Boundaries = [1, 10, 100, 500, 1000, 2000, 5000, 10000] })
            .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
        return builder;
    }
}
