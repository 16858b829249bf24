using Telemetry.Ingestion.Mqtt;
using System.Diagnostics;
using MQTTnet;
using MQTTnet.Protocol;
using Telemetry.Contracts.Configuration;

namespace Telemetry.Benchmarks;

/// <summary>What one publishing run did: which messages the broker acknowledged, and when.</summary>
internal sealed class PublishOutcome(int count)
{
    private long _acked;
    private long _failed;

    public bool[] Acked { get; } = new bool[count];

    /// <summary><see cref="Stopwatch"/> timestamp of each message's send (0 if never sent).</summary>
    public long[] SentAt { get; } = new long[count];

    public int Attempted { get; set; }

    /// <summary>The message sent last by the paced publisher.</summary>
    public int LastSentIndex { get => Volatile.Read(ref _lastSent); set => Volatile.Write(ref _lastSent, value); }

    private int _lastSent = -1;

    /// <summary>The last acknowledged message among those <paramref name="match"/> selects, or -1.</summary>
    public int LastAckedIndex(Func<int, bool> match)
    {
        for (var i = Acked.Length - 1; i >= 0; i--)
        {
            if (Acked[i] && match(i))
            {
                return i;
            }
        }
        return -1;
    }
    public long FirstSent { get; set; }
    public long LastAcked { get; set; }
    public long AckedCount => Interlocked.Read(ref _acked);
    public long FailedCount => Interlocked.Read(ref _failed);
    public string? FirstError { get; set; }

    public IEnumerable<int> AckedIndices()
    {
        for (var i = 0; i < Acked.Length; i++)
        {
            if (Acked[i])
            {
                yield return i;
            }
        }
    }

    public bool AllAcked(int count) => AckedCount == count;

    internal void Ack(int index)
    {
        Acked[index] = true;
        Interlocked.Increment(ref _acked);
    }

    internal void Fail(string error)
    {
        if (Interlocked.Increment(ref _failed) == 1)
        {
            FirstError = error;
        }
    }
}

/// <summary>
/// The benchmark's publisher: a few MQTT 5 connections shared by the bins (bin i on connection i mod K,
/// so each bin's messages stay in order), QoS 1, each connection with a bounded window of publishes
/// in flight. A message counts as published when the broker acknowledged it (PUBACK).
/// </summary>
internal sealed class BenchPublisher(MqttEndpoint broker, string? username, string? password, string clientIdBase, int connections, int requestedWindow) : IAsyncDisposable
{
    private readonly List<IMqttClient> _clients = [];
    private int _window = requestedWindow;

    public int Connections => connections;

    /// <summary>Publishes in flight per connection: the requested window, lowered to the broker's Receive Maximum.</summary>
    public int Window => _window;

    public async Task ConnectAsync(CancellationToken ct)
    {
        for (var i = 0; i < connections; i++)
        {
            var client = new MqttClientFactory().CreateMqttClient();
            var options = new MqttClientOptionsBuilder()
                .ForBroker(broker, $"{clientIdBase}-{i}", username, password)
                .WithCleanStart(true)
                .WithKeepAlivePeriod(TimeSpan.FromSeconds(30))
                .WithTimeout(TimeSpan.FromSeconds(30));
            var result = await client.ConnectAsync(options.Build(), ct);
            if (result.ResultCode != MqttClientConnectResultCode.Success)
            {
                client.Dispose();
                throw new InvalidOperationException($"publisher connection refused by {broker}: {result.ResultCode} {result.ReasonString}");
            }
            if (result.ReceiveMaximum is > 0 and var max && max < _window)
            {
                _window = max;
            }
            _clients.Add(client);
        }
    }

    /// <summary>Publishes messages [0, count) as fast as the windows allow; stops early when <paramref name="stop"/> says so.</summary>
    public async Task PublishAllAsync(PublishOutcome outcome, MessagePool pool, string prefix, Func<bool>? stop, CancellationToken ct)
    {
        var count = outcome.Acked.Length;
        var window = _window;
        var attempted = 0;
        outcome.FirstSent = Stopwatch.GetTimestamp();
        var tasks = new Task[_clients.Count];
        for (var c = 0; c < _clients.Count; c++)
        {
            var connection = c;
            tasks[c] = Task.Run(async () =>
            {
                using var gate = new SemaphoreSlim(window, window);
                var client = _clients[connection];
                for (var i = 0; i < count; i++)
                {
                    var m = pool.Messages[i];
                    if (m.Bin % _clients.Count != connection)
                    {
                        continue;
                    }
                    if (stop?.Invoke() == true || ct.IsCancellationRequested)
                    {
                        break;
                    }
                    await gate.WaitAsync(ct);
                    Interlocked.Increment(ref attempted);
                    _ = PublishOneAsync(client, gate, outcome, i, MessagePool.Topic(prefix, m), m.Payload, ct);
                }
                for (var w = 0; w < window; w++)
                {
                    await gate.WaitAsync(ct);
                }
            }, ct);
        }
        await Task.WhenAll(tasks);
        outcome.Attempted = attempted;
    }

    /// <summary>
    /// Publishes messages [0, count) on the first connection at <paramref name="perSecond"/>, recording
    /// each message's send time (when the publish was handed to the client).
    /// </summary>
    public async Task PublishPacedAsync(PublishOutcome outcome, MessagePool pool, string prefix, double perSecond, CancellationToken ct)
    {
        var count = outcome.Acked.Length;
        var window = _window;
        var client = _clients[0];
        using var gate = new SemaphoreSlim(window, window);
        var start = Stopwatch.GetTimestamp();
        outcome.FirstSent = start;
        for (var i = 0; i < count; i++)
        {
            var due = start + (long)(i / perSecond * Stopwatch.Frequency);
            // Sleeps while ahead of schedule (timer resolution about 1 ms: messages leave in small bursts, on average on time).
            while (Stopwatch.GetTimestamp() < due)
            {
                await Task.Delay(1, ct);
            }
            await gate.WaitAsync(ct);
            outcome.SentAt[i] = Stopwatch.GetTimestamp();
            outcome.LastSentIndex = i;
            _ = PublishOneAsync(client, gate, outcome, i, MessagePool.Topic(prefix, pool.Messages[i]), pool.Messages[i].Payload, ct);
        }
        for (var w = 0; w < window; w++)
        {
            await gate.WaitAsync(ct);
        }
        outcome.Attempted = count;
    }

    private static async Task PublishOneAsync(IMqttClient client, SemaphoreSlim gate, PublishOutcome outcome, int index, string topic, byte[] payload, CancellationToken ct)
    {
        try
        {
            if (outcome.SentAt[index] == 0)
            {
                outcome.SentAt[index] = Stopwatch.GetTimestamp();
            }
            var message = new MqttApplicationMessageBuilder()
                .WithTopic(topic)
                .WithPayload(payload)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .Build();
            var result = await client.PublishAsync(message, ct);
            // "No matching subscribers" is still the broker's acknowledgement; such a message is then lost, and counted so.
            if (result.ReasonCode is MqttClientPublishReasonCode.Success or MqttClientPublishReasonCode.NoMatchingSubscribers)
            {
                outcome.Ack(index);
                outcome.LastAcked = Stopwatch.GetTimestamp();
            }
            else
            {
                outcome.Fail($"broker refused {topic}: {result.ReasonCode}");
            }
        }
#pragma warning disable CA1031 // A failed publish is counted and reported, not thrown from a fire-and-forget task.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            outcome.Fail($"{topic}: {ex.GetType().Name}: {ex.Message}");
        }
        finally
        {
            gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            try
            {
                if (client.IsConnected)
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                    await client.DisconnectAsync(new MqttClientDisconnectOptions(), timeout.Token);
                }
            }
#pragma warning disable CA1031 // Best effort on the way out.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
            client.Dispose();
        }
        _clients.Clear();
    }
}
