using System.Net;
using Telemetry.Contracts.Readings;
using Telemetry.Fleet;
using Telemetry.Storage;

namespace Telemetry.IntegrationTests.Api;

/// <summary>
/// One store filled with <see cref="ApiSeed"/>'s readings straight through the storage backend, and one real api
/// process reading it, shared by the tests of a class. Each test asks about its own bins and periods, so the
/// tests do not depend on each other.
/// </summary>
public abstract class ApiFixture : IAsyncLifetime
{
    private int _nextSource;

    internal ApiProcess Api { get; private set; } = null!;

    internal ApiTestKeys Keys => Api.Keys!;

    public FleetRegistry Registry { get; } = FleetRegistryLoader.LoadDefault();

    /// <summary>When the seeded dead letters were received (near the real time: the default period is the last 7 days).</summary>
    public DateTimeOffset DeadLettersAt { get; private set; }

    /// <summary>A store of this backend for the seed, and the settings that point the api at the same data.</summary>
    protected abstract ITelemetryStore CreateStore();

    protected abstract IReadOnlyDictionary<string, string> StorageSettings { get; }

    public async Task InitializeAsync()
    {
        DeadLettersAt = new DateTimeOffset(DateTimeOffset.UtcNow.Ticks / TimeSpan.TicksPerMillisecond * TimeSpan.TicksPerMillisecond, TimeSpan.Zero).AddMinutes(-2);
        await using (var store = CreateStore())
        {
            await store.InitializeAsync(CancellationToken.None);
            await store.WriteAsync(ApiSeed.Readings(Registry), ApiSeed.DeadLetters(DeadLettersAt), CancellationToken.None);
            // Written after the newer one: the latest is by reading time, not by write order.
            await store.WriteAsync([ApiSeed.Fill(Registry, ApiSeed.StateBin, "paper", ApiSeed.StateAt.AddDays(-1), 99)], [], CancellationToken.None);
        }
        Api = await ApiProcess.StartAsync(StorageSettings);
    }

    public virtual async Task DisposeAsync()
    {
        if (Api is not null)
        {
            await Api.DisposeAsync();
        }
    }

    /// <summary>
    /// A loopback source address of its own (127.0.0.2 and up) for a test that sends wrong keys: the api counts
    /// failed authentications per address, and the other tests' 127.0.0.1 must never be blocked.
    /// </summary>
    internal IPAddress NextSourceAddress()
    {
        var n = Interlocked.Increment(ref _nextSource);
        return new IPAddress([127, 0, (byte)(n / 250), (byte)(2 + n % 250)]);
    }
}

public sealed class SqliteApiFixture : ApiFixture
{
    private readonly SqliteTestStore _store = new("telemetry-api-");

    protected override ITelemetryStore CreateStore() => _store.Create();

    protected override IReadOnlyDictionary<string, string> StorageSettings => _store.Settings;

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _store.RemoveAsync();
    }
}

public sealed class InfluxDbApiFixture : ApiFixture
{
    private readonly InfluxDbTestStore _store = new("api_");

    protected override ITelemetryStore CreateStore() => _store.Create();

    protected override IReadOnlyDictionary<string, string> StorageSettings => _store.Settings;

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _store.RemoveAsync();
    }
}

/// <summary>
/// The readings the api tests ask about, chosen so every sum is exact in binary floating point (multiples of
/// 1/8): both backends must give exactly these kg and rates.
/// </summary>
internal static class ApiSeed
{
    // /api/bins: the latest fill of JY-010's compartments.
    public const string StateBin = "JY-010";
    public static readonly DateTimeOffset StateAt = new(2026, 11, 1, 1, 0, 0, TimeSpan.Zero);

    // Diversion: deposits in [DiversionFrom, DiversionTo), all on the local day 2026-10-10, in c01 (JY-001) and c02
    // (JY-002, JY-003); one just before, one at the (exclusive) end, a collection without a deposit.
    public static readonly DateTimeOffset DiversionFrom = new(2026, 10, 10, 0, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset DiversionTo = new(2026, 10, 11, 0, 0, 0, TimeSpan.Zero);

    // Local midnight in Asia/Shanghai (UTC+8) between 2026-11-20 and 2026-11-21 is 2026-11-20T16:00:00Z.
    public const string MidnightBin = "JY-020";
    public static readonly DateTimeOffset LocalMidnight = new(2026, 11, 20, 16, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset LastMillisecondBefore = LocalMidnight.AddMilliseconds(-1);

    public static IReadOnlyList<Reading> Readings(FleetRegistry registry)
    {
        var r = new List<Reading>();
        var seq = 0L;
        Reading Deposit(string bin, string compartment, DateTimeOffset t, double kg, double? net = null) =>
            Weight(registry, bin, compartment, t, net ?? kg, kg, ++seq);

        var d = DiversionFrom.AddHours(2);
        r.Add(Deposit("JY-001", "paper", d, 1.5));
        r.Add(Deposit("JY-001", "plastic", d.AddMinutes(1), 0.25));
        r.Add(Deposit("JY-001", "kitchen", d.AddMinutes(2), 2.0));
        r.Add(Deposit("JY-001", "residual", d.AddMinutes(3), 1.0));
        r.Add(Deposit("JY-001", "hazardous", d.AddMinutes(4), 0.125));
        r.Add(Weight(registry, "JY-001", "paper", d.AddHours(3), 0, null, ++seq)); // a collection: no deposit
        r.Add(Deposit("JY-002", "glass", d.AddHours(1), 0.5));
        r.Add(Deposit("JY-002", "residual", d.AddHours(1).AddMinutes(1), 3.0));
        r.Add(Deposit("JY-002", "kitchen", d.AddHours(1).AddMinutes(2), 0.75));
        r.Add(Deposit("JY-003", "metal", d.AddHours(2), 0.375));
        r.Add(Deposit("JY-003", "residual", d.AddHours(2).AddMinutes(1), 0.625));
        r.Add(Deposit("JY-003", "paper", DiversionFrom.AddMilliseconds(-1), 50)); // before the period
        r.Add(Deposit("JY-002", "residual", DiversionTo, 100)); // at its end, which is not part of it

        r.Add(Deposit(MidnightBin, "kitchen", LastMillisecondBefore, 1.0));
        r.Add(Deposit(MidnightBin, "kitchen", LocalMidnight, 2.0, net: 3.0));
        r.Add(Deposit(MidnightBin, "residual", LocalMidnight, 2.0));
        r.Add(Fill(registry, MidnightBin, "paper", LastMillisecondBefore, 30));
        r.Add(Fill(registry, MidnightBin, "paper", LocalMidnight, 70));

        r.Add(Fill(registry, StateBin, "paper", StateAt.AddHours(-1), 40));
        r.Add(Fill(registry, StateBin, "paper", StateAt, 55.5));
        r.Add(Fill(registry, StateBin, "plastic", StateAt.AddMinutes(-30), 12.25));
        r.Add(Weight(registry, StateBin, "paper", StateAt, 7.5, null, ++seq));
        var community = registry.FindBin(StateBin)!.Community;
        r.Add(new StatusReading(StateBin, community, StateAt, ++seq, true, true, 87.5, 21.5, false, false));
        return r;
    }

    public static IReadOnlyList<DeadLetter> DeadLetters(DateTimeOffset at) =>
    [
        new(at.AddSeconds(-30), "malformed-json", "JY-005", "ingest-test", "bins/JY-005/fill", "{not json", "not JSON"),
        new(at.AddSeconds(-20), "unknown-bin", "unknown", "ingest-test", "bins/JY-999/fill", "{}", "bin 'JY-999' is not in the registry"),
        new(at, "malformed-json", "JY-006", "ingest-test", "bins/JY-006/weight", "[", "not JSON"),
    ];

    public static FillReading Fill(FleetRegistry registry, string bin, string compartment, DateTimeOffset t, double pct)
    {
        var b = registry.FindBin(bin)!;
        return new FillReading(bin, b.Community, compartment, b.FindCompartment(compartment)!.Stream.Name(), t, 1, pct);
    }

    private static WeightReading Weight(FleetRegistry registry, string bin, string compartment, DateTimeOffset t, double net, double? deposit, long seq)
    {
        var b = registry.FindBin(bin)!;
        return new WeightReading(bin, b.Community, compartment, b.FindCompartment(compartment)!.Stream.Name(), t, seq, net, deposit);
    }
}
