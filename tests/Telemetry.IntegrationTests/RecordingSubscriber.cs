using System.Buffers;
using System.Collections.Concurrent;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Telemetry.Contracts.Configuration;

namespace Telemetry.IntegrationTests;

/// <summary>A test subscriber that records every message on bins/# with the given clock's time of receipt.</summary>
internal sealed class RecordingSubscriber : IAsyncDisposable
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private readonly TimeProvider _clock;

    private RecordingSubscriber(TimeProvider clock) => _clock = clock;

    public ConcurrentQueue<(string Topic, byte[] Payload, DateTimeOffset ReceivedAt, bool Retained)> Messages { get; } = new();

    public static async Task<RecordingSubscriber> StartAsync(MqttEndpoint broker, TimeProvider clock, string? username = null, string? password = null)
    {
        var s = new RecordingSubscriber(clock);
        s._client.ApplicationMessageReceivedAsync += e =>
        {
            s.Messages.Enqueue((e.ApplicationMessage.Topic, e.ApplicationMessage.Payload.ToArray(), s._clock.GetUtcNow(), e.ApplicationMessage.Retain));
            return Task.CompletedTask;
        };
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer(broker.Host, broker.Port)
            .WithClientId("test-subscriber-" + Guid.NewGuid().ToString("N")[..8])
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(true);
        if (username is not null)
        {
            options = options.WithCredentials(username, password);
        }
        await s._client.ConnectAsync(options.Build());
        var subscribe = new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(f => f.WithTopic("bins/#").WithAtLeastOnceQoS().WithRetainHandling(MqttRetainHandling.DoNotSendOnSubscribe))
            .Build();
        await s._client.SubscribeAsync(subscribe);
        return s;
    }

    public async Task WaitForAsync(Func<int, bool> enough, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (!enough(Messages.Count) && DateTime.UtcNow < until)
        {
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_client.IsConnected)
        {
            await _client.DisconnectAsync();
        }
        _client.Dispose();
    }
}
