using System.Threading.Channels;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Telemetry.Api.Endpoints;

/// <summary>What the api's Server-Sent Events streams (<c>/api/bins/stream</c>, <c>/api/alerts/stream</c>) share.</summary>
internal static class EventStream
{
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Starts an event stream: its headers, and a token that ends when the client goes or the host stops (open streams must not
    /// hold up a shutdown). Dispose the returned source when the stream ends.
    /// </summary>
    public static CancellationTokenSource Begin(HttpContext context, CancellationToken ct)
    {
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        return CancellationTokenSource.CreateLinkedTokenSource(ct, context.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping);
    }

    /// <summary>
    /// Until the client goes or the host stops: each time <paramref name="reader"/> has items, <paramref name="drain"/> writes
    /// them; a comment every 15 s keeps proxies from closing the connection.
    /// </summary>
    public static async Task PumpAsync<T>(HttpResponse response, ChannelReader<T> reader, Func<CancellationToken, Task> drain, CancellationToken ct)
    {
        using var heartbeat = new PeriodicTimer(KeepAlive);
        var tick = heartbeat.WaitForNextTickAsync(ct).AsTask();
        Task<bool>? pending = null;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                // One wait at a time: a heartbeat leaves the read's wait pending for the next round.
                var read = pending ??= reader.WaitToReadAsync(ct).AsTask();
                var done = await Task.WhenAny(read, tick);
                if (done == tick)
                {
                    await tick;
                    await response.WriteAsync(": keep-alive\n\n", ct);
                    await response.Body.FlushAsync(ct);
                    tick = heartbeat.WaitForNextTickAsync(ct).AsTask();
                    continue;
                }
                pending = null;
                if (!await read)
                {
                    return;
                }
                await drain(ct);
                await response.Body.FlushAsync(ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away, or the host stops.
        }
    }
}
