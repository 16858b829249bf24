using System.Buffers;
using System.Globalization;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Protocol;
using Telemetry.Contracts.Configuration;
using Telemetry.Ingestion.Pipeline;

namespace Telemetry.Ingestion.Mqtt;

/// <summary>
/// The MQTT side of ingestion: an MQTT 5 client with a persistent session (clean start off, session
/// expiry, stable client id), subscribed at QoS 1 to <c>bins/#</c> and <c>vehicles/+/position</c> (through shared subscriptions
/// when a group is configured) with Retain Handling 2, acknowledging manually once the pipeline has
/// stored a message. Flow is bounded by Receive Maximum and a byte limit, not by blocking the receive
/// handler; packets above the announced Maximum Packet Size are the broker's to drop. Reconnects with
/// backoff and jitter, resubscribes, and notices a connection that is up but silent (keep-alive and
/// its own pings). Credentials the broker refuses on the first connection stop the role with a
/// <see cref="ConfigurationException"/> naming the key; a lost connection is a warning with its
/// reason, and an outage is reported at least once a minute for as long as it lasts.
/// </summary>
/// <param name="settings">Broker, identity, session and limits.</param>
/// <param name="pipeline">Where received messages go.</param>
/// <param name="time">The project clock: stamps each message's receive time (the simulation's clock in <c>demo</c>).</param>
/// <param name="logger">Where connection events are reported.</param>
/// <param name="network">
/// Real time, for what the network and the broker measure: backoff, pings, outage durations and
/// reports. Never the simulation clock (an accelerated clock would turn a 30 s backoff into
/// milliseconds); the system clock unless a test fakes it.
/// </param>
public sealed class MqttIngestionSource(IngestionSettings settings, IngestionPipeline pipeline, TimeProvider time, ILogger logger, TimeProvider? network = null)
{
    private static readonly TimeSpan PingInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    /// <summary>How often an outage is reported while it lasts.</summary>
    public static readonly TimeSpan OutageReportInterval = TimeSpan.FromMinutes(1);

    private readonly TimeProvider _network = network ?? TimeProvider.System;
    private readonly Lock _state = new();
    private TaskCompletionSource _lost = NewSignal();
    private long _generation;
    private int _ownDisconnects;
    private volatile bool _everConnected;
    private volatile bool _stopping;
    private DateTimeOffset? _disconnectedSince;
    private string? _lastDisconnectReason;

    /// <summary>True while connected and subscribed.</summary>
    public bool IsConnected { get; private set; }

    /// <summary>
    /// Since when ingestion has had no working connection (real time): from the start of
    /// <see cref="RunAsync"/> until the first connection, then from each loss until the next; null
    /// while connected and subscribed.
    /// </summary>
    public DateTimeOffset? DisconnectedSince
    {
        get
        {
            lock (_state)
            {
                return _disconnectedSince;
            }
        }
    }

    /// <summary>Why the last connection ended or the last attempt failed; null before any did.</summary>
    public string? LastDisconnectReason
    {
        get
        {
            lock (_state)
            {
                return _lastDisconnectReason;
            }
        }
    }

    public async Task RunAsync(CancellationToken ct)
    {
        var receiveMaximum = Math.Clamp(settings.ReceiveMaximum, 1, ushort.MaxValue);
        var adapters = new GatedChannelAdapterFactory(receiveMaximum, settings.ConnectionByteLimit, pipeline);
        using var client = new MqttClientFactory().CreateMqttClient(adapters);
        client.ApplicationMessageReceivedAsync += async e =>
        {
            e.AutoAcknowledge = false;
            var generation = Interlocked.Read(ref _generation);
            // The handler runs for packets of the connection that read them (MQTTnet drops its queue on disconnect).
            var connection = adapters.Current;
            var topic = e.ApplicationMessage.Topic;
            var payload = e.ApplicationMessage.Payload.ToArray();
            // Only QoS 1/2 packets are counted by the connection (QoS 0 ones are never acknowledged).
            var counted = e.ApplicationMessage.QualityOfServiceLevel > MqttQualityOfServiceLevel.AtMostOnce;
            var size = InboundMessage.SizeOf(topic, payload.Length);
            var message = new InboundMessage(
                topic,
                payload,
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
                        if (counted)
                        {
                            connection?.Settled(size);
                        }
                    }
                });
            await pipeline.EnqueueAsync(message, ct);
        };
        client.DisconnectedAsync += e =>
        {
            OnDisconnected(e);
            return Task.CompletedTask;
        };

        lock (_state)
        {
            _disconnectedSince = _network.GetUtcNow();
        }
        using var reporting = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var reporter = ReportOutagesAsync(reporting.Token);
        try
        {
            await KeepConnectedAsync(client, adapters, ct);
        }
        finally
        {
            _stopping = true;
            IsConnected = false;
            await reporting.CancelAsync();
            await reporter;
        }

        if (client.IsConnected)
        {
            // A clean DISCONNECT keeps the session (and what the broker queues for us) until it expires.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5), _network);
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

    private async Task KeepConnectedAsync(IMqttClient client, GatedChannelAdapterFactory adapters, CancellationToken ct)
    {
        var backoff = FirstBackoff;
        string? lastError = null;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                // While a PUBLISH is held back for want of room nothing is read, pings included: not a dead connection.
                if (client.IsConnected && !adapters.IsPaused && !await PingAsync(client, ct))
                {
                    if (ct.IsCancellationRequested)
                    {
                        break;
                    }
                    var reason = $"no answer to a ping within {PingTimeout.TotalSeconds:N0} s";
                    Lost(reason);
                    logger.LogWarning("MQTT {Broker}: connection lost ({Reason}); {Held} message(s) held; reconnecting", settings.Broker, reason, pipeline.Held);
                    // Our own DISCONNECT of a connection that no longer answers: not a second loss to report.
                    Interlocked.Increment(ref _ownDisconnects);
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5), _network);
                    await client.DisconnectAsync(new MqttClientDisconnectOptions(), timeout.Token);
                }
                if (!client.IsConnected)
                {
                    IsConnected = false;
                    MarkDisconnected();
                    Interlocked.Increment(ref _generation);
                    await ConnectAndSubscribeAsync(client, ct);
                    MarkConnected();
                    backoff = FirstBackoff;
                    lastError = null;
                }
                await WaitForLossAsync(PingInterval, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
#pragma warning disable CA1031 // Any connection failure but a refused configuration is retried; the message says why.
            catch (Exception ex) when (ex is not ConfigurationException)
#pragma warning restore CA1031
            {
                IsConnected = false;
                MarkDisconnected();
                var error = ex is MqttRefusedException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}";
                lock (_state)
                {
                    _lastDisconnectReason = error;
                }
                var delay = backoff + TimeSpan.FromMilliseconds(Random.Shared.Next(0, (int)(backoff.TotalMilliseconds / 2) + 1));
                // The first failure of an outage, and each new kind of failure, is a warning; the same
                // failure again is reported once a minute by ReportOutagesAsync instead of at every attempt.
                var level = error == lastError ? LogLevel.Debug : ex is MqttRefusedException ? LogLevel.Error : LogLevel.Warning;
                logger.Log(level, "MQTT {Broker}: {Error}; {Held} message(s) held; reconnecting in {Delay:N1} s", settings.Broker, error, pipeline.Held, delay.TotalSeconds);
                lastError = error;
                try
                {
                    await Task.Delay(delay, _network, ct);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    break;
                }
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }
    }

    private async Task<bool> PingAsync(IMqttClient client, CancellationToken ct)
    {
        using var timeout = new CancellationTokenSource(PingTimeout, _network);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        return await client.TryPingAsync(linked.Token);
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Waits <paramref name="interval"/>, or less when MQTTnet reports the connection lost.</summary>
    private async Task WaitForLossAsync(TimeSpan interval, CancellationToken ct)
    {
        var lost = Volatile.Read(ref _lost);
        if (lost.Task.IsCompleted)
        {
            // A loss signalled since the last wait: look at the connection now. (A loss signalled
            // between this read and the swap is not missed: the connection already reads as down.)
            Interlocked.CompareExchange(ref _lost, NewSignal(), lost);
            return;
        }
        try
        {
            await lost.Task.WaitAsync(interval, _network, ct);
        }
        catch (TimeoutException)
        {
            // The interval passed without a loss: time for the next ping.
        }
    }

    private void OnDisconnected(MqttClientDisconnectedEventArgs e)
    {
        // Failed attempts are reported by the loop that made them; our own DISCONNECT (stopping, or
        // dropping a connection that stopped answering) is no loss.
        if (!e.ClientWasConnected || _stopping)
        {
            return;
        }
        if (e.Reason == MqttClientDisconnectReason.NormalDisconnection && e.Exception is null && TryTakeOwnDisconnect())
        {
            return;
        }
        var reason = Describe(e);
        Lost(reason);
        logger.LogWarning("MQTT {Broker}: connection lost ({Reason}); {Held} message(s) held; reconnecting", settings.Broker, reason, pipeline.Held);
        Volatile.Read(ref _lost).TrySetResult();
    }

    private bool TryTakeOwnDisconnect()
    {
        var seen = Volatile.Read(ref _ownDisconnects);
        while (seen > 0)
        {
            var was = Interlocked.CompareExchange(ref _ownDisconnects, seen - 1, seen);
            if (was == seen)
            {
                return true;
            }
            seen = was;
        }
        return false;
    }

    /// <summary>
    /// Records why the connection ended. The time it ended is the loop's to record: this may run
    /// (on MQTTnet's event thread) after the loop has already connected again.
    /// </summary>
    private void Lost(string reason)
    {
        lock (_state)
        {
            _lastDisconnectReason = reason;
        }
    }

    private static string Describe(MqttClientDisconnectedEventArgs e)
    {
        // A DISCONNECT from the broker carries a reason code (e.g. SessionTakenOver); a dropped
        // socket only an exception.
        var parts = new List<string>();
        if (e.Reason != MqttClientDisconnectReason.NormalDisconnection || e.Exception is null)
        {
            parts.Add(e.Reason.ToString());
        }
        if (!string.IsNullOrEmpty(e.ReasonString))
        {
            parts.Add(e.ReasonString);
        }
        if (e.Exception is { } ex)
        {
            parts.Add(ex.InnerException is { } inner ? $"{ex.Message}: {inner.Message}" : ex.Message);
        }
        return string.Join(": ", parts);
    }

    private void MarkDisconnected()
    {
        lock (_state)
        {
            _disconnectedSince ??= _network.GetUtcNow();
        }
    }

    private void MarkConnected()
    {
        DateTimeOffset? since;
        lock (_state)
        {
            since = _disconnectedSince;
            _disconnectedSince = null;
        }
        IsConnected = true;
        var again = _everConnected;
        _everConnected = true;
        if (again && since is { } from)
        {
            logger.LogInformation("MQTT {Broker}: connected again after {Seconds:N1} s without a connection", settings.Broker, (_network.GetUtcNow() - from).TotalSeconds);
        }
    }

    /// <summary>While there is no connection, says so once a minute: since when, why, and what is held meanwhile.</summary>
    private async Task ReportOutagesAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(OutageReportInterval, _network);
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                DateTimeOffset? since;
                string? reason;
                lock (_state)
                {
                    since = _disconnectedSince;
                    reason = _lastDisconnectReason;
                }
                if (since is { } from)
                {
                    logger.LogWarning(
                        "MQTT {Broker}: no connection for {Seconds:N0} s ({Reason}); {Held} message(s) of {Bytes:N0} bytes held, the broker keeps the rest; still retrying",
                        settings.Broker, (_network.GetUtcNow() - from).TotalSeconds, reason ?? "not connected yet", pipeline.Held, pipeline.HeldBytes);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private async Task ConnectAndSubscribeAsync(IMqttClient client, CancellationToken ct)
    {
        var options = new MqttClientOptionsBuilder()
            .ForBroker(settings.Broker, settings.ClientId, settings.Username, settings.Password)
            .WithCleanStart(false)
            .WithSessionExpiryInterval((uint)Math.Min(uint.MaxValue, settings.SessionExpiry.TotalSeconds))
            .WithReceiveMaximum((ushort)Math.Clamp(settings.ReceiveMaximum, 1, ushort.MaxValue))
            // The broker drops what is larger instead of sending it (CONTRACT §2). Never below the
            // minimum, whatever is configured: that would drop valid messages.
            .WithMaximumPacketSize((uint)Math.Clamp(settings.MaximumPacketSize, IngestionSettings.MinimumPacketSize, IngestionSettings.LargestPacketSize))
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(15))
            .WithTimeout(TimeSpan.FromSeconds(10));

        var built = options.Build();
        var result = await client.ConnectAsync(built, ct);
        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            var refused = $"connection refused: {result.ResultCode}{(string.IsNullOrEmpty(result.ReasonString) ? "" : $" ({result.ReasonString})")}";
            ThrowIfMisconfigured(result.ResultCode, refused);
            throw new MqttRefusedException(refused);
        }
        // Subscribing again is harmless when the session survived, and needed when it did not.
        var builder = new MqttClientSubscribeOptionsBuilder();
        foreach (var filter in settings.SubscriptionTopics)
        {
            builder.WithTopicFilter(f => f
                .WithTopic(filter)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .WithRetainHandling(MqttRetainHandling.DoNotSendOnSubscribe));
        }
        var subscribed = await client.SubscribeAsync(builder.Build(), ct);
        foreach (var item in subscribed.Items)
        {
            if (item.ResultCode > MqttClientSubscribeResultCode.GrantedQoS2)
            {
                var filter = item.TopicFilter?.Topic ?? string.Join(", ", settings.SubscriptionTopics);
                if (!_everConnected && item.ResultCode == MqttClientSubscribeResultCode.NotAuthorized)
                {
                    // The credentials were good (CONNACK said so); it is the user the ACL does not know as a reader.
                    throw new ConfigurationException("Mqtt:Username", $"the broker does not let {UserText} subscribe to {filter} (NotAuthorized): its ACL must grant read access to bins/# and vehicles/#");
                }
                if (!_everConnected && item.ResultCode == MqttClientSubscribeResultCode.SharedSubscriptionsNotSupported)
                {
                    throw new ConfigurationException("Mqtt:SharedGroup", $"the broker does not support shared subscriptions ({filter}): leave the group empty");
                }
                throw new MqttRefusedException($"subscription to {filter} refused: {item.ResultCode}");
            }
        }
        logger.LogInformation("MQTT {Broker}: connected as {ClientId} (session {Session}, Maximum Packet Size {MaxPacket:N0} bytes), subscribed to {Topic}",
            settings.Broker, settings.ClientId, result.IsSessionPresent ? "resumed" : "new", built.MaximumPacketSize, string.Join(" and ", settings.SubscriptionTopics));
    }

    private string UserKey => string.IsNullOrEmpty(settings.Username) ? "Mqtt:Username" : "Mqtt:Password";

    private string UserText => string.IsNullOrEmpty(settings.Username) ? "a client without Mqtt:Username" : $"user '{settings.Username}'";

    /// <summary>
    /// A broker that refuses our credentials before we ever got in will refuse them for good: stop with
    /// the key to fix rather than retry forever. Once we have been in, the same answer may be a
    /// passing state of the broker (a password file being rewritten), so it is retried and logged.
    /// </summary>
    private void ThrowIfMisconfigured(MqttClientConnectResultCode code, string refused)
    {
        if (_everConnected)
        {
            return;
        }
        switch (code)
        {
            case MqttClientConnectResultCode.BadUserNameOrPassword:
            case MqttClientConnectResultCode.NotAuthorized:
                throw new ConfigurationException(UserKey, string.IsNullOrEmpty(settings.Username)
                    ? $"the broker {settings.Broker} refused a connection without credentials ({refused}): set Mqtt:Username and Mqtt:Password"
                    : $"the broker {settings.Broker} refused user '{settings.Username}' ({refused}): wrong password, or the user is unknown");
            case MqttClientConnectResultCode.ClientIdentifierNotValid:
                throw new ConfigurationException("Mqtt:ClientId", $"the broker {settings.Broker} refused client id '{settings.ClientId}' ({refused})");
        }
    }

    /// <summary>The broker answered, and said no (retried with backoff).</summary>
    private sealed class MqttRefusedException(string message) : Exception(message);
}
