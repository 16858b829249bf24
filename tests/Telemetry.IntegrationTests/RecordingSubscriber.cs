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

    // Completed (and replaced) whenever a message arrives, so waits re-check their condition then, not on a timer.
    private TaskCompletionSource _arrived = NewSignal();

    private RecordingSubscriber(TimeProvider clock) => _clock = clock;

    public ConcurrentQueue<(string Topic, byte[] Payload, DateTimeOffset ReceivedAt, bool Retained)> Messages { get; } = new();

    /// <param name="retained">Also receive the retained messages on subscribing (by default only what is published from now on).</param>
    public static async Task<RecordingSubscriber> StartAsync(MqttEndpoint broker, TimeProvider clock, string? username = null, string? password = null, bool retained = false)
    {
        var s = new RecordingSubscriber(clock);
        s._client.ApplicationMessageReceivedAsync += e =>
        {
            s.Messages.Enqueue((e.ApplicationMessage.Topic, e.ApplicationMessage.Payload.ToArray(), s._clock.GetUtcNow(), e.ApplicationMessage.Retain));
            Interlocked.Exchange(ref s._arrived, NewSignal()).TrySetResult();
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
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await s._client.ConnectAsync(options.Build(), timeout.Token);
        var subscribe = new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(f => f.WithTopic("bins/#").WithAtLeastOnceQoS()
                .WithRetainHandling(retained ? MqttRetainHandling.SendAtSubscribe : MqttRetainHandling.DoNotSendOnSubscribe))
            .Build();
        await s._client.SubscribeAsync(subscribe, timeout.Token);
        return s;
    }

    /// <summary>Waits until <paramref name="condition"/> holds for the messages received so far; false if it does not within <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitUntilAsync(Func<IReadOnlyCollection<(string Topic, byte[] Payload, DateTimeOffset ReceivedAt, bool Retained)>, bool> condition, TimeSpan timeout)
    {
        using var stop = new CancellationTokenSource();
        var deadline = Task.Delay(timeout, stop.Token);
        try
        {
            while (true)
            {
                // Taken before the check: a message arriving during it completes this signal, so none is missed.
                var arrived = Volatile.Read(ref _arrived).Task;
                if (condition(Messages))
                {
                    return true;
                }
                if (deadline.IsCompleted)
                {
                    return false;
                }
                await Task.WhenAny(arrived, deadline);
            }
        }
        finally
        {
            await stop.CancelAsync();
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

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
