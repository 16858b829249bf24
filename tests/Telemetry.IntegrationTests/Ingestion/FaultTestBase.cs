using System.Collections.Concurrent;
using Telemetry.Contracts.Readings;
using Telemetry.Fleet;
using Telemetry.Ingestion.Decoding;
using Telemetry.Simulator;
using Telemetry.Storage;
using Telemetry.Storage.InfluxDb;
using Xunit.Abstractions;

namespace Telemetry.IntegrationTests.Ingestion;

/// <summary>Fault tests stop and start the shared services: they run alone, after the others.</summary>
[CollectionDefinition("faults", DisableParallelization = true)]
public sealed class FaultCollection;

/// <summary>
/// Real ingestion processes between real Mosquitto and influxd, fed by the simulator. Each test has
/// its own database and shared-subscription group, and counts exactly what the broker acknowledged
/// to the simulator against what the store holds.
/// </summary>
public abstract class FaultTestBase(ITestOutputHelper output) : IAsyncLifetime
{
    protected static readonly FleetRegistry Registry = FleetRegistryLoader.LoadDefault();
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..8];
    private readonly List<IngestionProcess> _processes = [];

    protected ITestOutputHelper Output { get; } = output;
    protected string Database => "t_" + _suffix;
    protected string Group => "g" + _suffix;
    protected InfluxDbStore Store { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Store = new InfluxDbStore(new InfluxDbStoreOptions { Url = TestServices.InfluxUrl, ApiVersion = 1, Bucket = Database, CreateDatabase = true });
        await Store.InitializeAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        foreach (var p in _processes)
        {
            await p.DisposeAsync();
        }
        await Store.DisposeAsync();
    }

    private protected async Task<IngestionProcess> StartIngestionAsync(string name, bool shared = true, IReadOnlyDictionary<string, string>? extra = null)
    {
        var settings = new Dictionary<string, string>
        {
            ["Mqtt:Server"] = TestServices.Mosquitto.ToString(),
            ["Mqtt:ClientId"] = $"{name}-{_suffix}",
            ["Mqtt:SharedGroup"] = shared ? Group : "",
            ["Ingestion:SessionExpiry"] = "00:10:00",
            ["Storage:Backend"] = "influxdb",
            ["Storage:InfluxDb:Url"] = TestServices.InfluxUrl.ToString(),
            ["Storage:InfluxDb:ApiVersion"] = "1",
            ["Storage:InfluxDb:Bucket"] = Database,
        };
        foreach (var (k, v) in extra ?? new Dictionary<string, string>())
        {
            settings[k] = v;
        }
        var p = await IngestionProcess.StartAsync(settings);
        _processes.Add(p);
        return p;
    }

    /// <summary>A steady stream from the 55 simulated devices; collects every message the broker acknowledged.</summary>
    protected sealed class Stream : IAsyncDisposable
    {
        private readonly ConcurrentQueue<SimulatedOutput> _acknowledged = new();
        private readonly SimulatorRunner _runner;
        private readonly CancellationTokenSource _stop = new(TimeSpan.FromMinutes(4));

        public Stream(TimeSpan simulated, double speed, bool retryUnrouted = false)
        {
            var start = TimeProvider.System.GetUtcNow() - simulated;
            var clock = new AcceleratedClock(TimeProvider.System, start, speed, catchUp: true);
            var simulation = new FleetSimulation(Registry, 17, start, new SimulationOptions { Faults = false });
            _runner = new SimulatorRunner(simulation, clock, new SimulatorConnectionOptions
            {
                Broker = TestServices.Mosquitto,
                OnAcknowledged = _acknowledged.Enqueue,
                RetryUnrouted = retryUnrouted,
            });
            Running = _runner.RunAsync(start + simulated, _stop.Token);
        }

        public Task Running { get; }

        public SimulatorStats Stats => _runner.Stats;

        /// <summary>Distinct fill and weight reading identities in what the broker acknowledged.</summary>
        public (int Fill, int Weight) Expected()
        {
            var decoder = new DeviceMessageDecoder(Registry, new DecoderSettings());
            var fill = new HashSet<(string, string, DateTimeOffset)>();
            var weight = new HashSet<(string, string, DateTimeOffset)>();
            foreach (var m in _acknowledged)
            {
                foreach (var r in decoder.Decode(m.Topic!, m.Payload!, m.At).Readings)
                {
                    _ = r switch
                    {
                        FillReading f => fill.Add((f.BinId, f.Compartment, f.Time)),
                        WeightReading w => weight.Add((w.BinId, w.Compartment, w.Time)),
                        _ => false,
                    };
                }
            }
            return (fill.Count, weight.Count);
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            try
            {
                await Running;
            }
            catch (OperationCanceledException)
            {
                // Stopped.
            }
            await _runner.DisposeAsync();
            _stop.Dispose();
        }
    }

    /// <summary>Waits for a condition, polling; fails the test with <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    protected static async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"not {what} within {timeout}");
            }
            await Task.Delay(50);
        }
    }

    /// <summary>Waits until the store holds exactly the expected readings (or the timeout), and returns what it holds.</summary>
    protected async Task<StoredCounts> WaitForStoredAsync((int Fill, int Weight) expected, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        StoredCounts counts;
        var from = TimeProvider.System.GetUtcNow().AddDays(-1);
        while (true)
        {
            counts = await Store.CountAsync(from, TimeProvider.System.GetUtcNow().AddHours(1), null, CancellationToken.None);
            if ((counts.Fill >= expected.Fill && counts.Weight >= expected.Weight) || DateTime.UtcNow > until)
            {
                break;
            }
            await Task.Delay(250);
        }
        Output.WriteLine($"expected fill {expected.Fill}, weight {expected.Weight}; stored {counts}");
        return counts;
    }
}
