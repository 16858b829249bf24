using Telemetry.Ingestion.Mqtt;
using System.Diagnostics;
using System.Threading.Channels;
using MQTTnet;
using MQTTnet.Protocol;
using Telemetry.Contracts.Configuration;

namespace Telemetry.Benchmarks;

/// <summary>
/// The bare MQTT stage: a subscriber with the ingestion's QoS (1), subscription form (shared on an
/// external broker) and Receive Maximum that does nothing but count and acknowledge — the
/// acknowledgement handed to a channel, the fastest form measured here (INFRA). Clean start and no
/// session expiry, so it leaves nothing behind on the broker.
/// </summary>
internal sealed class BareSubscriber(MqttEndpoint broker, string? username, string? password, string clientId, string topicFilter, string countTopicPrefix, int receiveMaximum) : IAsyncDisposable
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private readonly Channel<MqttApplicationMessageReceivedEventArgs> _acks = Channel.CreateUnbounded<MqttApplicationMessageReceivedEventArgs>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private Task? _ackLoop;
    private long _count;
    private long _last;

    public long Count => Interlocked.Read(ref _count);

    /// <summary><see cref="Stopwatch"/> timestamp of the last counted message.</summary>
    public long LastReceived => Interlocked.Read(ref _last);

    public async Task StartAsync(CancellationToken ct)
    {
        _client.ApplicationMessageReceivedAsync += e =>
        {
            e.AutoAcknowledge = false;
            _acks.Writer.TryWrite(e);
            return Task.CompletedTask;
        };
        _ackLoop = Task.Run(AckLoopAsync, CancellationToken.None);
        var options = new MqttClientOptionsBuilder()
            .ForBroker(broker, clientId, username, password)
            .WithCleanStart(true)
            .WithSessionExpiryInterval(0)
            .WithReceiveMaximum((ushort)Math.Clamp(receiveMaximum, 1, ushort.MaxValue))
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(30))
            .WithTimeout(TimeSpan.FromSeconds(30));
        var result = await _client.ConnectAsync(options.Build(), ct);
        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            throw new InvalidOperationException($"bare subscriber refused by {broker}: {result.ResultCode} {result.ReasonString}");
        }
        var subscribed = await _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(f => f.WithTopic(topicFilter).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce))
            .Build(), ct);
        if (subscribed.Items.Any(i => i.ResultCode > MqttClientSubscribeResultCode.GrantedQoS2))
        {
            throw new InvalidOperationException($"bare subscriber: subscription to {topicFilter} refused");
        }
    }

    private async Task AckLoopAsync()
    {
        try
        {
            await foreach (var e in _acks.Reader.ReadAllAsync(_stop.Token))
            {
                await e.AcknowledgeAsync(_stop.Token);
                if (e.ApplicationMessage.Topic.StartsWith(countTopicPrefix, StringComparison.Ordinal))
                {
                    Interlocked.Exchange(ref _last, Stopwatch.GetTimestamp());
                    Interlocked.Increment(ref _count);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_client.IsConnected)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _client.DisconnectAsync(new MqttClientDisconnectOptions(), timeout.Token);
            }
        }
#pragma warning disable CA1031 // Best effort on the way out.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
        await _stop.CancelAsync();
        _acks.Writer.TryComplete();
        if (_ackLoop is not null)
        {
            await _ackLoop;
        }
        _client.Dispose();
        _stop.Dispose();
    }
}
