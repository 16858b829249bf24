using System.Buffers;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Protocol;
using Telemetry.Ingestion.Pipeline;

namespace Telemetry.Ingestion.Mqtt;

/// <summary>
/// The MQTT side of ingestion: an MQTT 5 client with a persistent session (clean start off, session
/// expiry, stable client id), subscribed at QoS 1 to <c>bins/#</c> (through a shared subscription on
/// external brokers) with Retain Handling 2, acknowledging manually once the pipeline has stored a
/// message. Flow is bounded by Receive Maximum, not by blocking the receive handler. Reconnects with
/// backoff and jitter, resubscribes, and notices a connection that is up but silent (keep-alive and
/// its own pings).
/// </summary>
public sealed class MqttIngestionSource(IngestionSettings settings, IngestionPipeline pipeline, TimeProvider time, ILogger logger)
{
    private static readonly TimeSpan PingInterval = TimeSpan.FromSeconds(5);
    private long _generation;

    /// <summary>True while connected and subscribed.</summary>
    public bool IsConnected { get; private set; }

    /// <summary>Since when the broker has been out of reach (real time), or null while connected.</summary>
    public DateTimeOffset? DisconnectedSince { get; private set; }

    /// <summary>Why the last connection ended or failed.</summary>
    public string? LastDisconnectReason { get; private set; }

    public async Task RunAsync(CancellationToken ct)
    {
        var adapters = new GatedChannelAdapterFactory(Math.Clamp(settings.ReceiveMaximum, 1, ushort.MaxValue), pipeline);
        using var client = new MqttClientFactory().CreateMqttClient(adapters);
        client.ApplicationMessageReceivedAsync += async e =>
        {
            e.AutoAcknowledge = false;
            var generation = Interlocked.Read(ref _generation);
            // The handler runs for packets of the connection that read them (MQTTnet drops its queue on disconnect).
            var connection = adapters.Current;
            var message = new InboundMessage(
                e.ApplicationMessage.Topic,
                e.ApplicationMessage.Payload.ToArray(),
                time.GetUtcNow(),
                async token =>
                {
                    try
                    {
                        // An acknowledgement belongs to the connection that delivered the message; after a
                        // reconnect the broker sends the message again and that copy is acknowledged instead.
                        if (Interlocked.Read(ref _generation) == generation && client.IsConnected)
                        {
                            await e.AcknowledgeAsync(token);
                        }
                    }
                    finally
                    {
                        connection?.Settled();
                    }
                });
            await pipeline.EnqueueAsync(message, ct);
        };

        var backoff = TimeSpan.FromMilliseconds(250);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                // While a PUBLISH beyond Receive Maximum is held back nothing is read, pings included: not a dead connection.
                if (!client.IsConnected || (!adapters.IsPaused && !await client.TryPingAsync(ct)))
                {
                    IsConnected = false;
                    Interlocked.Increment(ref _generation);
                    await ConnectAndSubscribeAsync(client, ct);
                    IsConnected = true;
                    backoff = TimeSpan.FromMilliseconds(250);
                }
                await Task.Delay(PingInterval, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
#pragma warning disable CA1031 // Any connection failure is retried; the message says why.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                IsConnected = false;
                logger.LogWarning("MQTT {Broker}: {Error}; reconnecting in {Delay}", settings.Broker, ex.Message, backoff);
                await Task.Delay(backoff + TimeSpan.FromMilliseconds(Random.Shared.Next(0, (int)(backoff.TotalMilliseconds / 2) + 1)), ct);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }

        IsConnected = false;
        if (client.IsConnected)
        {
            // A clean DISCONNECT keeps the session (and what the broker queues for us) until it expires.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build(), timeout.Token);
            }
#pragma warning disable CA1031 // Best effort on the way out.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                logger.LogDebug("MQTT disconnect failed: {Error}", ex.Message);
            }
        }
    }

    private async Task ConnectAndSubscribeAsync(IMqttClient client, CancellationToken ct)
    {
        if (client.IsConnected)
        {
            await client.DisconnectAsync(new MqttClientDisconnectOptions(), ct);
        }
        var options = new MqttClientOptionsBuilder()
            .ForBroker(settings.Broker, settings.ClientId, settings.Username, settings.Password)
            .WithCleanStart(false)
            .WithSessionExpiryInterval((uint)Math.Min(uint.MaxValue, settings.SessionExpiry.TotalSeconds))
            .WithReceiveMaximum((ushort)Math.Clamp(settings.ReceiveMaximum, 1, ushort.MaxValue))
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(15))
            .WithTimeout(TimeSpan.FromSeconds(10));

        var result = await client.ConnectAsync(options.Build(), ct);
        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            throw new InvalidOperationException($"connection refused: {result.ResultCode} {result.ReasonString}");
        }
        // Subscribing again is harmless when the session survived, and needed when it did not.
        var subscribe = new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(f => f
                .WithTopic(settings.SubscriptionTopic)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .WithRetainHandling(MqttRetainHandling.DoNotSendOnSubscribe))
            .Build();
        var subscribed = await client.SubscribeAsync(subscribe, ct);
        foreach (var item in subscribed.Items)
        {
            if (item.ResultCode > MqttClientSubscribeResultCode.GrantedQoS2)
            {
                throw new InvalidOperationException($"subscription to {settings.SubscriptionTopic} refused: {item.ResultCode}");
            }
        }
        logger.LogInformation("MQTT {Broker}: connected as {ClientId} (session {Session}), subscribed to {Topic}",
            settings.Broker, settings.ClientId, result.IsSessionPresent ? "resumed" : "new", settings.SubscriptionTopic);
    }
}
