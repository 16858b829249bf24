using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Telemetry.Contracts.Devices;

namespace Telemetry.Simulator;

/// <summary>
/// One MQTT connection of the simulator: a real device (one bin, client id = username = bin id,
/// retained online status on connect, retained Last Will) or, for load tests, a connection shared
/// by many bins. Publishes its outbox in order at QoS 1 and keeps every message until the broker
/// acknowledges it: what a dropped connection left unacknowledged is published again after
/// reconnecting.
/// </summary>
/// <remarks>
/// Like a device that is switched on, it connects when the run starts and again as soon as a
/// connection is lost (with backoff while the broker refuses or cannot be reached), not when its
/// next reading is due; only a simulated silence keeps it offline. Every failed attempt and lost
/// connection goes to the <see cref="ConnectionFailureLog"/> with its reason.
/// </remarks>
internal sealed class DeviceConnection : IAsyncDisposable
{
    private readonly string _clientId;
    private readonly IReadOnlyList<string> _binIds;
    private readonly bool _isDevice;

    // A truck's telematics unit: it connects as its vehicle id (client id = username) and publishes positions only.
    private readonly bool _isVehicle;
    private readonly SimulatorConnectionOptions _options;
    private readonly SimulatorStats _stats;
    private readonly SemaphoreSlim _connectGate;
    private readonly ConnectionFailureLog _failures;
    private readonly ILogger _logger;
    private readonly IMqttClient _client;
    private readonly Channel<SimulatedOutput> _outbox;
    private readonly List<SimulatedOutput> _unacknowledged = [];
    private bool _silent;
    private bool _wasConnected;
    private volatile bool _disconnecting;

    // Completed when an established connection drops, so an idle pump reconnects at once.
    private TaskCompletionSource _connectionLost = NewSignal();

    public DeviceConnection(string clientId, IReadOnlyList<string> binIds, bool isDevice,
        SimulatorConnectionOptions options, SimulatorStats stats, SemaphoreSlim connectGate, ConnectionFailureLog failures, ILogger logger, bool isVehicle = false)
    {
        _isVehicle = isVehicle;
        _clientId = clientId;
        _binIds = binIds;
        _isDevice = isDevice;
        _options = options;
        _stats = stats;
        _connectGate = connectGate;
        _failures = failures;
        _logger = logger;
        _client = new MqttClientFactory().CreateMqttClient();
        _client.DisconnectedAsync += OnDisconnectedAsync;
        // A device's memory is finite: when it cannot reach the broker for long, the oldest readings go.
        _outbox = Channel.CreateBounded<SimulatedOutput>(
            new BoundedChannelOptions(Math.Max(1, options.DeviceBuffer)) { FullMode = BoundedChannelFullMode.DropOldest },
            dropped =>
            {
                if (dropped.Kind == SimulatedOutputKind.Message)
                {
                    _stats.AddDropped();
                }
            });
    }

    /// <summary>Set after each successful connect of a device; the runner then queues its retained online status, in sequence.</summary>
    public bool TakeStatusRequest() => Interlocked.Exchange(ref _statusRequested, 0) == 1;

    public bool IsDevice => _isDevice;

    /// <summary>The MQTT client id it connects with.</summary>
    public string ClientId => _clientId;

    public IReadOnlyList<string> BinIds => _binIds;

    private int _statusRequested;

    public void Enqueue(SimulatedOutput output) => _outbox.Writer.TryWrite(output);

    public void Complete() => _outbox.Writer.TryComplete();

    /// <summary>
    /// Connects, then publishes until the outbox is completed and drained, or <paramref name="ct"/>
    /// is cancelled.
    /// </summary>
    public async Task PumpAsync(CancellationToken ct)
    {
        var backoff = MinBackoff;
        var batch = new List<SimulatedOutput>(_options.MaxInFlight);
        Task<bool>? outputWaiting = null;
        while (!ct.IsCancellationRequested)
        {
            if (_silent)
            {
                // Offline: keep what is queued until the device comes back (or the run ends: then flush).
                if (!await _outbox.Reader.WaitToReadAsync(ct))
                {
                    _silent = false;
                    continue;
                }
                while (_silent && _outbox.Reader.TryRead(out var queued))
                {
                    if (queued.Kind == SimulatedOutputKind.Message)
                    {
                        _unacknowledged.Add(queued);
                    }
                    else
                    {
                        await HandleControlAsync(queued, ct);
                    }
                }
                continue;
            }

            if (_unacknowledged.Count == 0 && _outbox.Reader.Completion.IsCompleted)
            {
                return;
            }

            if (!_client.IsConnected)
            {
                if (!await TryConnectAsync(ct))
                {
                    await Task.Delay(backoff, ct);
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
                    continue;
                }
                backoff = MinBackoff;
            }

            if (_unacknowledged.Count == 0)
            {
                // Idle and connected: wait for output, or for the connection to drop (then reconnect
                // now, as a device does, rather than at the next reading). The wait for output is kept
                // across such wake-ups, so no waiter is left behind on the channel.
                outputWaiting ??= _outbox.Reader.WaitToReadAsync(ct).AsTask();
                if (!outputWaiting.IsCompleted)
                {
                    var lost = Volatile.Read(ref _connectionLost);
                    if (_client.IsConnected)
                    {
                        await Task.WhenAny(outputWaiting, lost.Task);
                    }
                    if (!outputWaiting.IsCompleted)
                    {
                        if (lost.Task.IsCompleted)
                        {
                            // Spent: the next idle wait needs a fresh signal (a stale one would return at once).
                            Interlocked.CompareExchange(ref _connectionLost, NewSignal(), lost);
                        }
                        continue;
                    }
                }
                var more = await outputWaiting;
                outputWaiting = null;
                if (!more)
                {
                    continue;
                }
            }

            batch.Clear();
            batch.AddRange(_unacknowledged);
            _unacknowledged.Clear();
            SimulatedOutput? control = null;
            while (batch.Count < _options.MaxInFlight && _outbox.Reader.TryRead(out var next))
            {
                if (next.Kind != SimulatedOutputKind.Message)
                {
                    control = next;
                    break;
                }
                batch.Add(next);
            }

            if (batch.Count > 0)
            {
                await PublishBatchAsync(batch, ct);
            }
            if (control is not null)
            {
                await HandleControlAsync(control, ct);
            }
        }
    }

    private static readonly TimeSpan MinBackoff = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task PublishBatchAsync(List<SimulatedOutput> batch, CancellationToken ct)
    {
        var tasks = new Task<MqttClientPublishResult>[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            tasks[i] = PublishAsync(batch[i].Topic!, batch[i].Payload!, batch[i].Retain, ct);
        }
        var failed = 0;
        var unrouted = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            try
            {
                var result = await tasks[i];
                if (result.ReasonCode == MqttClientPublishReasonCode.NoMatchingSubscribers && _options.RetryUnrouted)
                {
                    _unacknowledged.Add(batch[i]);
                    unrouted++;
                    failed++;
                }
                else if (result.ReasonCode is MqttClientPublishReasonCode.Success or MqttClientPublishReasonCode.NoMatchingSubscribers)
                {
                    _stats.AddPublished();
                    _options.OnAcknowledged?.Invoke(batch[i]);
                }
                else
                {
                    _stats.AddRefused();
                    _logger.LogWarning("{Client}: broker refused {Topic}: {Reason}", _clientId, batch[i].Topic, result.ReasonCode);
                }
            }
#pragma warning disable CA1031 // Any failure means "not acknowledged": the message is kept and sent again.
            catch (Exception)
#pragma warning restore CA1031
            {
                // Not acknowledged (connection lost, or stopping): keep it, in order, for after the reconnect.
                _unacknowledged.Add(batch[i]);
                failed++;
            }
        }
        if (failed > 0)
        {
            _stats.AddRepublished(failed);
        }
        ct.ThrowIfCancellationRequested();
        if (unrouted > 0)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), ct);
        }
    }

    private async Task HandleControlAsync(SimulatedOutput control, CancellationToken ct)
    {
        if (!_isDevice)
        {
            return;
        }
        if (control.Kind == SimulatedOutputKind.WentSilent)
        {
            _silent = true;
            _stats.AddSilence();
            await DisconnectAsync(withWill: true, ct);
        }
        else if (control.Kind == SimulatedOutputKind.CameBack)
        {
            _silent = false;
        }
    }

    private async Task<bool> TryConnectAsync(CancellationToken ct)
    {
        // Set by our own disconnect (a simulated silence, the end of the run) until the next connect:
        // MQTTnet may raise DisconnectedAsync after DisconnectAsync returns.
        _disconnecting = false;
        await _connectGate.WaitAsync(ct);
        string? failure = null;
        try
        {
            var builder = new MqttClientOptionsBuilder()
                .WithTcpServer(_options.Broker.Host, _options.Broker.Port)
                .WithClientId(_clientId)
                .WithProtocolVersion(MqttProtocolVersion.V500)
                .WithCleanStart(true)
                .WithKeepAlivePeriod(TimeSpan.FromSeconds(30))
                .WithTimeout(ConnectTimeout);
            if (_options.Broker.Tls)
            {
                builder = builder.WithTlsOptions(o => o.UseTls());
            }
            if (_isDevice)
            {
                var binId = _binIds[0];
                var password = _options.DevicePasswordFormat?.Replace("{id}", binId, StringComparison.Ordinal);
                builder = builder
                    .WithCredentials(binId, password)
                    .WithWillTopic(DeviceTopics.Status(binId))
                    .WithWillPayload(FleetSimulation.LastWill.ToArray())
                    .WithWillRetain(true)
                    .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
            }
            else if (_isVehicle)
            {
                builder = builder.WithCredentials(_clientId, _options.DevicePasswordFormat?.Replace("{id}", _clientId, StringComparison.Ordinal));
            }
            else if (_options.Username is not null)
            {
                builder = builder.WithCredentials(_options.Username, _options.Password);
            }

            var result = await _client.ConnectAsync(builder.Build(), ct);
            if (result.ResultCode != MqttClientConnectResultCode.Success)
            {
                failure = $"connection refused: {result.ResultCode}{(string.IsNullOrEmpty(result.ReasonString) ? "" : $" ({result.ReasonString})")}";
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // Every way a connect can fail (socket, TLS, timeout, protocol) is reported with its reason and retried.
            failure = ex is OperationCanceledException or MqttCommunicationTimedOutException
                ? $"no answer from {_options.Broker} within {ConnectTimeout.TotalSeconds:0} s"
                : $"cannot connect to {_options.Broker}: {ex.GetBaseException().Message}";
        }
        finally
        {
            _connectGate.Release();
        }
        if (failure is not null)
        {
            _stats.AddConnectFailure();
            _failures.Failed(_clientId, failure);
            return false;
        }

        _stats.AddConnected(1);
        if (_wasConnected)
        {
            _stats.AddReconnect();
        }
        _wasConnected = true;

        // Every device announces itself with a retained online status on connecting. The runner
        // queues it behind what is already waiting, so seq keeps increasing on the wire.
        if (_isDevice)
        {
            Interlocked.Exchange(ref _statusRequested, 1);
        }
        return true;
    }

    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(15);

    private Task OnDisconnectedAsync(MqttClientDisconnectedEventArgs e)
    {
        if (!e.ClientWasConnected)
        {
            // A failed connect attempt: TryConnectAsync reports it.
            return Task.CompletedTask;
        }
        _stats.AddConnected(-1);
        if (!_disconnecting)
        {
            var detail = e.Exception is { } ex ? $": {ex.GetBaseException().Message}" : !string.IsNullOrEmpty(e.ReasonString) ? $" ({e.ReasonString})" : "";
            _failures.Failed(_clientId, $"connection lost: {e.Reason}{detail}");
        }
        Volatile.Read(ref _connectionLost).TrySetResult();
        return Task.CompletedTask;
    }

    // async so that MQTTnet's synchronous "not connected" throw (the connection dropped after the
    // pump last looked) becomes this publish's failure, kept and sent again, not the whole pump's.
    private async Task<MqttClientPublishResult> PublishAsync(string topic, byte[] payload, bool retain, CancellationToken ct)
    {
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithRetainFlag(retain)
            .Build();
        return await _client.PublishAsync(message, ct);
    }

    private async Task DisconnectAsync(bool withWill, CancellationToken ct)
    {
        if (!_client.IsConnected)
        {
            return;
        }
        _disconnecting = true;
        try
        {
            var options = new MqttClientDisconnectOptionsBuilder()
                .WithReason(withWill ? MqttClientDisconnectOptionsReason.DisconnectWithWillMessage : MqttClientDisconnectOptionsReason.NormalDisconnection)
                .Build();
            await _client.DisconnectAsync(options, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _logger.LogDebug("{Client}: disconnect failed: {Error}", _clientId, ex.Message);
        }
    }

    /// <summary>Messages still waiting for an acknowledgement (after a stop).</summary>
    public int Unacknowledged => _unacknowledged.Count + _outbox.Reader.Count;

    /// <summary>Leaves like a device being switched off: its Last Will marks it offline.</summary>
    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await DisconnectAsync(withWill: _isDevice, timeout.Token);
        _client.Dispose();
    }
}
