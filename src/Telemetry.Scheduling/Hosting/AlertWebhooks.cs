using System.Net.Http.Json;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Telemetry.Contracts.Messages;
using Telemetry.Scheduling.Alerts;

namespace Telemetry.Scheduling.Hosting;

/// <summary>
/// POSTs critical alert events to every URL of <c>Alerts:Webhooks</c> as JSON (<c>{"event":"raised","at":…,"alert":{…}}</c>, the
/// alert as <c>/api/alerts</c> shows it), in order, each URL on its own; a failure (an error status, a timeout, no answer) is
/// retried <c>Alerts:WebhookAttempts</c> times with growing pauses, then logged as an error and dropped (the alert itself is
/// stored and on the dashboard). Its own loop: a slow gateway never holds up the scheduler.
/// </summary>
public sealed class AlertWebhooks : BackgroundService
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly Channel<AlertEvent> _queue = Channel.CreateBounded<AlertEvent>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest });
    private readonly AlertSettings _settings;
    private readonly ILogger<AlertWebhooks> _logger;
    private readonly HttpClient _http;
    private readonly ResiliencePipeline _retry;

    public AlertWebhooks(IOptions<AlertSettings> settings, ILogger<AlertWebhooks> logger, HttpMessageHandler? handler = null)
    {
        _settings = settings.Value;
        _logger = logger;
        _http = new HttpClient(handler ?? new SocketsHttpHandler(), disposeHandler: true) { Timeout = TimeSpan.FromSeconds(10) };
        _retry = new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<HttpRequestException>().Handle<TaskCanceledException>().Handle<WebhookRefusedException>(),
            MaxRetryAttempts = Math.Max(0, _settings.WebhookAttempts - 1),
            BackoffType = DelayBackoffType.Exponential,
            Delay = TimeSpan.FromSeconds(1),
            MaxDelay = TimeSpan.FromSeconds(30),
            UseJitter = true,
        }).Build();
    }

    /// <summary>Calls made and failed (after every try), for tests and metrics.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    public long Failed => Interlocked.Read(ref _failed);

    private long _delivered;
    private long _failed;

    public void Send(AlertEvent e)
    {
        if (_settings.Webhooks.Count > 0)
        {
            _queue.Writer.TryWrite(e);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var e in _queue.Reader.ReadAllAsync(stoppingToken))
        {
            var body = new { @event = e.Type, at = e.At, alert = e.Alert.Info() };
            foreach (var (name, url) in _settings.Webhooks)
            {
                try
                {
                    await _retry.ExecuteAsync(async ct =>
                    {
                        using var response = await _http.PostAsJsonAsync(url, body, Json, ct);
                        if (!response.IsSuccessStatusCode)
                        {
                            throw new WebhookRefusedException($"HTTP {(int)response.StatusCode}");
                        }
                    }, stoppingToken);
                    Interlocked.Increment(ref _delivered);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException && !stoppingToken.IsCancellationRequested)
                {
                    Interlocked.Increment(ref _failed);
                    _logger.LogError("Alerts:Webhooks:{Name}: {Url} did not take the {Type} event of alert {Id} after {Attempts} tries ({Error})",
                        name, url, e.Type, e.Alert.Id, _settings.WebhookAttempts, ex.Message);
                }
            }
        }
    }

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }

    private sealed class WebhookRefusedException(string message) : Exception(message);
}
