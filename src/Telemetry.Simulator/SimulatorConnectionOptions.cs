using Telemetry.Contracts.Configuration;

namespace Telemetry.Simulator;

/// <summary>How the simulated devices reach the broker.</summary>
public sealed record SimulatorConnectionOptions
{
    public required MqttEndpoint Broker { get; init; }

    /// <summary>
    /// 0: one connection per bin, client id = username = bin id, with its Last Will (real devices).
    /// N &gt; 0: the bins share N connections (load tests); no per-bin Last Will or silence then.
    /// </summary>
    public int Connections { get; init; }

    /// <summary>Device password, with <c>{id}</c> replaced by the bin id (brokers with per-device passwords). None when null.</summary>
    public string? DevicePasswordFormat { get; init; }

    /// <summary>Credentials of shared connections.</summary>
    public string? Username { get; init; }
    public string? Password { get; init; }

    /// <summary>
    /// Unacknowledged publishes per connection. A device sends one at a time, so its messages reach
    /// the broker in seq order even across reconnects; shared connections use at least 256.
    /// </summary>
    public int MaxInFlight { get; init; } = 1;

    /// <summary>Messages a device keeps while it cannot reach the broker; beyond it the oldest are dropped (counted).</summary>
    public int DeviceBuffer { get; init; } = 20_000;

    /// <summary>Messages produced but not yet acknowledged, fleet-wide; the simulation waits above it.</summary>
    public int MaxPending { get; init; } = 200_000;

    /// <summary>
    /// Treat PUBACK reason 16 (no matching subscribers) as not delivered and publish again a second
    /// later, as careful firmware does: a broker that restarted without restoring a shared
    /// subscription (Mosquitto 2.0) acknowledges with 16 what nobody will ever receive.
    /// </summary>
    public bool RetryUnrouted { get; init; }

    /// <summary>Called (from a connection's thread) for each message the broker acknowledged: tests and benchmarks know exactly what was delivered.</summary>
    public Action<SimulatedOutput>? OnAcknowledged { get; init; }

    /// <summary>Connection attempts at once (a burst of thousands of handshakes chokes a broker).</summary>
    public int ConnectConcurrency { get; init; } = 64;

    /// <summary>
    /// How often repeated connection failures with one reason are summarized in the log (the first
    /// is logged at once): 10,000 devices refused for one wrong password make one line per interval.
    /// </summary>
    public TimeSpan FailureSummaryInterval { get; init; } = TimeSpan.FromSeconds(10);
}
