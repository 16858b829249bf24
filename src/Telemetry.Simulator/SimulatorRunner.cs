using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Telemetry.Simulator;

/// <summary>
/// Drives a <see cref="FleetSimulation"/> on a clock and publishes what it produces through MQTT
/// connections. When the broker cannot keep up, the simulation waits (at most
/// <see cref="SimulatorConnectionOptions.MaxPending"/> messages are held) and falls behind the
/// clock; <see cref="Lag"/> says by how much.
/// </summary>
public sealed class SimulatorRunner : IAsyncDisposable
{
    private readonly FleetSimulation _simulation;
    private readonly TimeProvider _clock;
    private readonly SimulatorConnectionOptions _options;
    private readonly ILogger _logger;
    private readonly DeviceConnection[] _connections;
    private readonly Dictionary<string, DeviceConnection> _byBin;
    private readonly SemaphoreSlim _connectGate;
    private readonly ConnectionFailureLog _failures;

    private readonly ISimulatedTrucks? _trucks;

    /// <param name="simulation">The fleet.</param>
    /// <param name="clock">Simulated time.</param>
    /// <param name="options">How devices connect.</param>
    /// <param name="logger">Where connection problems are told.</param>
    /// <param name="trucks">
    /// Trucks that empty bins (the demo's, driving planned routes): advanced with the fleet, each publishing its positions over a
    /// connection of its own (client id = username = vehicle id).
    /// </param>
    public SimulatorRunner(FleetSimulation simulation, TimeProvider clock, SimulatorConnectionOptions options, ILogger? logger = null, ISimulatedTrucks? trucks = null)
    {
        _trucks = trucks;
        _simulation = simulation;
        _clock = clock;
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        _connectGate = new SemaphoreSlim(Math.Max(1, options.ConnectConcurrency));
        // Real time: how often a person reading the console sees a summary, whatever the simulated speed.
        _failures = new ConnectionFailureLog(_logger, TimeProvider.System, options.FailureSummaryInterval);
        var binIds = simulation.Registry.Bins.Select(b => b.Id).ToArray();
        _byBin = new Dictionary<string, DeviceConnection>(StringComparer.Ordinal);
        if (options.Connections <= 0)
        {
            _connections = binIds.Select(id => new DeviceConnection(id, [id], isDevice: true, options, Stats, _connectGate, _failures, _logger)).ToArray();
            for (var i = 0; i < binIds.Length; i++)
            {
                _byBin[binIds[i]] = _connections[i];
            }
        }
        else
        {
            var n = Math.Min(options.Connections, binIds.Length);
            var groups = binIds.Select((id, i) => (id, i)).GroupBy(x => x.i % n, x => x.id).ToArray();
            _connections = groups.Select(g => new DeviceConnection(
                $"telemetry-sim-{g.Key.ToString("D4", CultureInfo.InvariantCulture)}", g.ToArray(), isDevice: false,
                options with { MaxInFlight = Math.Max(options.MaxInFlight, 256), DeviceBuffer = options.MaxPending }, Stats, _connectGate, _failures, _logger)).ToArray();
            foreach (var (g, c) in groups.Zip(_connections))
            {
                foreach (var id in g)
                {
                    _byBin[id] = c;
                }
            }
        }
        if (trucks is not null)
        {
            var vehicles = simulation.Registry.Vehicles.Select(v => new DeviceConnection(v.Id, [v.Id], isDevice: false, options, Stats, _connectGate, _failures, _logger, isVehicle: true)).ToArray();
            foreach (var v in vehicles)
            {
                _byBin[v.ClientId] = v;
            }
            _connections = [.. _connections, .. vehicles];
        }
    }

    public SimulatorStats Stats { get; } = new();

    public int ConnectionCount => _connections.Length;

    /// <summary>Simulated time the fleet has reached.</summary>
    public DateTimeOffset SimulatedNow => _simulation.Now;

    /// <summary>How far the simulation is behind its clock (zero when it keeps up).</summary>
    public TimeSpan Lag
    {
        get
        {
            var lag = _clock.GetUtcNow() - _simulation.Now;
            return lag > TimeSpan.Zero ? lag : TimeSpan.Zero;
        }
    }

    /// <summary>
    /// Runs until <paramref name="ct"/> is cancelled or, with <paramref name="until"/>, until the
    /// simulation reaches that time and the broker has acknowledged everything produced.
    /// </summary>
    public async Task RunAsync(DateTimeOffset? until, CancellationToken ct)
    {
        using var pumpsStop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var pumps = _connections.Select(c => Task.Run(() => c.PumpAsync(pumpsStop.Token), CancellationToken.None)).ToArray();
        try
        {
            await GenerateAsync(until, ct);
            foreach (var c in _connections)
            {
                c.Complete();
            }
            await Task.WhenAll(pumps).WaitAsync(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopping: the pumps end with the token.
        }
        finally
        {
            await pumpsStop.CancelAsync();
            try
            {
                await Task.WhenAll(pumps);
            }
            catch (OperationCanceledException)
            {
                // Expected on stop.
            }
            _failures.Flush(all: true);
        }
    }

    private async Task GenerateAsync(DateTimeOffset? until, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            QueueOnlineStatuses();
            _failures.Flush();
            var now = _clock.GetUtcNow();
            var target = until is { } u && u < now ? u : now;
            if (Stats.Pending >= _options.MaxPending)
            {
                await Task.Delay(5, ct);
                continue;
            }
            // Produce in slices so a backlog does not flood the outboxes in one go.
            var slice = _simulation.Now + TimeSpan.FromMinutes(1);
            var sliceEnd = target < slice ? target : slice;
            // The trucks first: a bin they empty in this slice reports its new level in it.
            _trucks?.Advance(sliceEnd, _simulation, Dispatch);
            _simulation.RunUntil(sliceEnd, Dispatch);
            if (until is { } end && _simulation.Now >= end)
            {
                return;
            }
            if (_simulation.Now >= now)
            {
                var next = _simulation.NextEventAt ?? now + TimeSpan.FromSeconds(1);
                var wait = _clock is AcceleratedClock accelerated ? accelerated.ToReal(next - now) : next - now;
                await Task.Delay(wait < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1)
                    : wait > TimeSpan.FromMilliseconds(50) ? TimeSpan.FromMilliseconds(50) : wait, ct);
            }
        }
    }

    private void QueueOnlineStatuses()
    {
        foreach (var c in _connections)
        {
            if (c.IsDevice && c.TakeStatusRequest())
            {
                var binId = c.BinIds[0];
                var at = _clock.GetUtcNow();
                Stats.AddProduced();
                c.Enqueue(new SimulatedOutput(SimulatedOutputKind.Message, at, binId, Contracts.Devices.DeviceTopics.Status(binId),
                    _simulation.OnlineStatus(binId, at), Retain: true));
            }
        }
    }

    private void Dispatch(SimulatedOutput output)
    {
        if (output.Kind == SimulatedOutputKind.Message)
        {
            Stats.AddProduced();
        }
        _byBin[output.BinId].Enqueue(output);
    }

    /// <summary>Messages produced but never acknowledged (meaningful after <see cref="RunAsync"/> returns).</summary>
    public int Unacknowledged => _connections.Sum(c => c.Unacknowledged);

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_connections.Select(c => c.DisposeAsync().AsTask()));
        _connectGate.Dispose();
    }
}
