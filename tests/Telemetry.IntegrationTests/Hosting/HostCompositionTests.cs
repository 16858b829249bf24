using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using MQTTnet;
using MQTTnet.Protocol;
using Telemetry.Contracts.Readings;
using Telemetry.Host.Embedded;
using Telemetry.Host.Hosting;
using Telemetry.Ingestion.Hosting;
using Telemetry.Storage;
using Telemetry.Storage.Hosting;
using Xunit.Abstractions;

namespace Telemetry.IntegrationTests.Hosting;

/// <summary>
/// The Generic Host of <c>run</c> and <c>demo</c>, composed as the commands compose it, on the
/// embedded broker (a free port) and SQLite or a store that misbehaves on purpose.
/// </summary>
public sealed class HostCompositionTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("telemetry-host-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (Microsoft.Extensions.Hosting.IHost Host, int Port) Compose(ITelemetryStore? store = null, params string[] settings)
    {
        var port = TestServices.FreePort();
        var builder = TelemetryHost.CreateBuilder([$"--Storage:Sqlite:Path={Path.Combine(_dir, "t.db")}", "--Mqtt:ClientId=host-test", .. settings], web: false);
        builder.Services.PostConfigure<MqttOptions>(o => o.EmbeddedPort = port);
        builder.Services.AddHostedService<EmbeddedBrokerService>();
        builder.AddTelemetryStore();
        if (store is not null)
        {
            builder.Services.Replace(ServiceDescriptor.Singleton(store));
        }
        builder.AddIngestion();
        return (TelemetryHost.Build(builder), port);
    }

    private static async Task PublishFillAsync(int port, int count)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId("JY-001").WithCredentials("JY-001", "x")
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500).Build());
        var start = DateTimeOffset.UtcNow.AddMinutes(-10);
        for (var i = 0; i < count; i++)
        {
            var ts = start.AddMilliseconds(i).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
            var result = await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("bins/JY-001/fill")
                .WithPayload($$"""{"v":1,"ts":"{{ts}}","seq":{{i}},"compartments":[{"id":"paper","fillPct":{{i % 100}}}]}""")
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
            Assert.Equal(MqttClientPublishReasonCode.Success, result.ReasonCode);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan timeout)
    {
        var until = Stopwatch.StartNew();
        while (!condition())
        {
            if (until.Elapsed > timeout)
            {
                throw new TimeoutException($"not {what} within {timeout}");
            }
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task An_unexpected_store_exception_stops_the_host_with_a_non_zero_exit()
    {
        var store = new ThrowingStore(new InvalidOperationException("disk controller on fire"));
        var (host, port) = Compose(store);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var run = TelemetryHost.RunAsync(host, stop.Token);
        var worker = host.Services.GetRequiredService<IngestionWorker>();
        await WaitUntilAsync(() => worker.Service.IsConnected || run.IsCompleted, "connected", TimeSpan.FromSeconds(20));
        await PublishFillAsync(port, 1);
        var code = await run.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(stop.IsCancellationRequested, "the host did not stop by itself");
        Assert.Equal(TelemetryHost.ExitRoleFailed, code);
        Assert.Equal(0, worker.Service.Metrics.MessagesAcknowledged); // nothing acknowledged past the failure
    }

    [Fact]
    public async Task A_store_credential_refused_at_start_exits_2()
    {
        var store = new ThrowingStore(null, initialize: new Telemetry.Contracts.Configuration.ConfigurationException("Storage:InfluxDb:Token", "refused by the server (401)"));
        var (host, _) = Compose(store);
        var code = await TelemetryHost.RunAsync(host, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(TelemetryHost.ExitConfiguration, code);
    }

    [Fact]
    public async Task Stopping_finishes_the_writes_and_acknowledgements_in_flight()
    {
        // Writes take 1.5 s each: a stop while one is in flight must wait for it and acknowledge it.
        var store = new SlowStore(TimeSpan.FromMilliseconds(1500));
        var (host, port) = Compose(store, "--Host:ShutdownTimeout=00:00:20");
        using var stop = new CancellationTokenSource();
        var run = TelemetryHost.RunAsync(host, stop.Token);
        var worker = host.Services.GetRequiredService<IngestionWorker>();
        await WaitUntilAsync(() => worker.Service.IsConnected, "connected", TimeSpan.FromSeconds(20));
        await PublishFillAsync(port, 50);
        await WaitUntilAsync(() => store.WritesStarted > 0, "writing", TimeSpan.FromSeconds(10));
        await stop.CancelAsync();
        Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(30)));
        output.WriteLine($"received {worker.Service.Metrics.MessagesIn}, acknowledged {worker.Service.Metrics.MessagesAcknowledged}, stored {store.Readings}");
        Assert.True(worker.Service.Metrics.MessagesIn > 0);
        Assert.Equal(worker.Service.Metrics.MessagesIn, worker.Service.Metrics.MessagesAcknowledged);
        Assert.Equal(worker.Service.Metrics.MessagesIn, store.Readings);
    }

    [Fact]
    public async Task A_shutdown_timeout_cuts_the_drain_short_without_acknowledging_what_is_not_stored()
    {
        var store = new SlowStore(TimeSpan.FromSeconds(30));
        var (host, port) = Compose(store, "--Host:ShutdownTimeout=00:00:01");
        using var stop = new CancellationTokenSource();
        var run = TelemetryHost.RunAsync(host, stop.Token);
        var worker = host.Services.GetRequiredService<IngestionWorker>();
        await WaitUntilAsync(() => worker.Service.IsConnected, "connected", TimeSpan.FromSeconds(20));
        await PublishFillAsync(port, 5);
        await WaitUntilAsync(() => store.WritesStarted > 0, "writing", TimeSpan.FromSeconds(10));
        var stopping = Stopwatch.StartNew();
        await stop.CancelAsync();
        Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.InRange(stopping.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(10));
        Assert.Equal(0, worker.Service.Metrics.MessagesAcknowledged);
    }

    [Fact]
    public async Task Demo_with_a_duration_ends_by_itself_with_every_published_reading_stored()
    {
        var db = Path.Combine(_dir, "demo.db");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "telemetry.dll"), "demo", "--duration", "3h", "--speed", "3600", "--history", "4h",
                     "--mqtt-port", TestServices.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture), $"--Storage:Sqlite:Path={db}", "--Host:ProgressFormat=json" })
        {
            info.ArgumentList.Add(a);
        }
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        var text = await stdout;
        output.WriteLine(text);
        output.WriteLine(await stderr);
        Assert.Equal(0, process.ExitCode);
        var summary = text.Split('\n').Select(l => l.Trim()).Last(l => l.StartsWith("{\"status\":\"demo\"", StringComparison.Ordinal));
        using var json = System.Text.Json.JsonDocument.Parse(summary);
        var published = json.RootElement.GetProperty("published").GetInt64();
        var stored = json.RootElement.GetProperty("readingsStored").GetInt64();
        Assert.True(published > 1000, $"published {published}");
        Assert.Equal(published, json.RootElement.GetProperty("acknowledged").GetInt64());
        // What the store holds is what ingestion stored: nothing published was left behind.
        await using var connection = new SqliteConnection($"Data Source={db};Mode=ReadOnly");
        await connection.OpenAsync();
        await using var count = connection.CreateCommand();
        count.CommandText = "SELECT (SELECT COUNT(*) FROM fill) + (SELECT COUNT(*) FROM weight) + (SELECT COUNT(*) FROM status)";
        Assert.Equal(stored, (long)(await count.ExecuteScalarAsync())!);
    }

    [Theory]
    [InlineData("--Storage:Backnd=influxdb", "Configuration error: Storage:Backnd: unknown key")]
    [InlineData("--Ingestion:BatchAge=soon", "Configuration error: Ingestion:BatchAge: ")]
    [InlineData("--Mqtt:Server=http://x", "Configuration error: Mqtt:Server: ")]
    [InlineData("--sped", "Configuration error: --sped: ")]
    public async Task A_bad_setting_ends_the_process_with_exit_code_2_and_one_line_naming_it(string token, string line)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "telemetry.dll"));
        info.ArgumentList.Add("run");
        info.ArgumentList.Add(token);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        var errors = (await stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        output.WriteLine(await stdout);
        Assert.Equal(2, process.ExitCode);
        Assert.Single(errors);
        Assert.StartsWith(line, errors[0], StringComparison.Ordinal);
    }

    /// <summary>A store that opens (or not) and then throws the given exception on every write.</summary>
    private sealed class ThrowingStore(Exception? write, Exception? initialize = null) : FakeStoreBase
    {
        public override Task InitializeAsync(CancellationToken ct) => initialize is null ? Task.CompletedTask : Task.FromException(initialize);

        public override Task WriteAsync(IReadOnlyList<Reading> readings, IReadOnlyList<DeadLetter> deadLetters, CancellationToken ct) =>
            Task.FromException(write ?? new InvalidOperationException("not expected"));
    }

    /// <summary>A store whose every write takes <paramref name="delay"/> (and honours cancellation).</summary>
    private sealed class SlowStore(TimeSpan delay) : FakeStoreBase
    {
        private int _started;
        private long _readings;

        public int WritesStarted => Volatile.Read(ref _started);

        public long Readings => Interlocked.Read(ref _readings);

        public override async Task WriteAsync(IReadOnlyList<Reading> readings, IReadOnlyList<DeadLetter> deadLetters, CancellationToken ct)
        {
            Interlocked.Increment(ref _started);
            await Task.Delay(delay, ct);
            Interlocked.Add(ref _readings, readings.Count);
        }
    }

    private abstract class FakeStoreBase : ITelemetryStore
    {
        public string Name => "fake";
        public virtual Task InitializeAsync(CancellationToken ct) => Task.CompletedTask;
        public abstract Task WriteAsync(IReadOnlyList<Reading> readings, IReadOnlyList<DeadLetter> deadLetters, CancellationToken ct);
        public Task<IReadOnlyList<LatestCompartment>> GetLatestAsync(CancellationToken ct) => throw new NotSupportedException();
        public Task<IReadOnlyList<LatestStatus>> GetLatestStatusAsync(CancellationToken ct) => throw new NotSupportedException();
        public Task<IReadOnlyList<HistoryBucket>> GetHistoryAsync(string binId, DateTimeOffset start, DateTimeOffset end, TimeSpan every, TimeSpan origin, CancellationToken ct) => throw new NotSupportedException();
        public Task<IReadOnlyList<DepositTotal>> GetDepositsAsync(DateTimeOffset start, DateTimeOffset end, TimeZoneInfo zone, string? binId, CancellationToken ct) => throw new NotSupportedException();
        public Task<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(DateTimeOffset start, DateTimeOffset end, int limit, DeadLetterFilter filter, CancellationToken ct) => throw new NotSupportedException();
        public Task<IReadOnlyList<DeadLetterCount>> GetDeadLettersByReasonAsync(DateTimeOffset start, DateTimeOffset end, DeadLetterFilter filter, CancellationToken ct) => throw new NotSupportedException();
        public Task<StoredCounts> CountAsync(DateTimeOffset start, DateTimeOffset end, string? binPrefix, CancellationToken ct) => throw new NotSupportedException();
        public Task<int> CountReadingsAsync(string binId, DateTimeOffset time, CancellationToken ct) => throw new NotSupportedException();
        public Task<IReadOnlyList<Reading>> GetReadingsAsync(IReadOnlyCollection<string>? binIds, DateTimeOffset start, DateTimeOffset end, CancellationToken ct) => throw new NotSupportedException();
        public virtual Task WriteEventsAsync(IReadOnlyList<CollectionEvent> collections, IReadOnlyList<DeviceEvent> deviceEvents, CancellationToken ct) => Task.CompletedTask;
        public Task<IReadOnlyList<CollectionEvent>> GetCollectionsAsync(string? binId, DateTimeOffset start, DateTimeOffset end, CancellationToken ct) => throw new NotSupportedException();
        public Task<IReadOnlyList<DeviceEvent>> GetDeviceEventsAsync(string? binId, DateTimeOffset start, DateTimeOffset end, CancellationToken ct) => throw new NotSupportedException();
        public virtual Task WriteAlertEventsAsync(IReadOnlyList<StoredAlertEvent> events, CancellationToken ct) => Task.CompletedTask;
        public Task<IReadOnlyList<StoredAlertEvent>> GetAlertEventsAsync(DateTimeOffset start, DateTimeOffset end, int limit, CancellationToken ct) => throw new NotSupportedException();
        public virtual Task WriteJobEventsAsync(IReadOnlyList<StoredJobEvent> events, CancellationToken ct) => Task.CompletedTask;
        public Task<IReadOnlyList<StoredJobEvent>> GetJobEventsAsync(DateTimeOffset start, DateTimeOffset end, int limit, CancellationToken ct) => throw new NotSupportedException();
        public Task<IReadOnlyList<VehiclePositionReading>> GetLatestVehiclePositionsAsync(CancellationToken ct) => throw new NotSupportedException();
        public virtual Task WriteRoutePlanAsync(StoredRoutePlan plan, CancellationToken ct) => Task.CompletedTask;
        public Task<IReadOnlyList<StoredRoutePlan>> GetRoutePlansAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken ct) => throw new NotSupportedException();
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
