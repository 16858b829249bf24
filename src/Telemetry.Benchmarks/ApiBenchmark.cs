using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Telemetry.Api.Access;
using Telemetry.Contracts.Configuration;
using Telemetry.Contracts.Readings;
using Telemetry.Fleet;

namespace Telemetry.Benchmarks;

/// <summary>Options of <c>telemetry bench api</c>.</summary>
/// <param name="Rate">Requests per second, sent on schedule.</param>
/// <param name="Seconds">Measured seconds.</param>
/// <param name="WarmupSeconds">Seconds at the same rate before, not counted.</param>
/// <param name="Clients">SSE clients on <c>/api/alerts/stream</c>.</param>
/// <param name="Connections">At most this many HTTP/1.1 connections (keep-alive) to the host.</param>
/// <param name="Timeout">A request not answered (body read) within this time after it was sent is an error.</param>
/// <param name="Url">An existing host; null to start one.</param>
/// <param name="Key">The API key for <paramref name="Url"/>.</param>
/// <param name="SseRounds">Tilt alerts raised for the SSE clients, one bin each.</param>
internal sealed record ApiBenchOptions(int Rate, int Seconds, int WarmupSeconds, int Clients, int Connections, TimeSpan Timeout, Uri? Url, string? Key, int SseRounds = 5);

/// <summary>
/// The open loop's schedule: request <c>i</c> is due <c>i / rate</c> seconds after the start, whatever happened to
/// the requests before it. The first <see cref="WarmupCount"/> requests are the warm-up, the next
/// <see cref="MeasuredCount"/> are measured.
/// </summary>
internal sealed class OpenLoopSchedule
{
    public OpenLoopSchedule(double ratePerSecond, TimeSpan warmup, TimeSpan measured)
    {
        if (!(ratePerSecond > 0) || double.IsInfinity(ratePerSecond))
        {
            throw new ArgumentOutOfRangeException(nameof(ratePerSecond), ratePerSecond, "must be positive");
        }
        if (warmup < TimeSpan.Zero || measured <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(measured), "the warm-up must not be negative and the measured time must be positive");
        }
        RatePerSecond = ratePerSecond;
        WarmupCount = (int)Math.Round(ratePerSecond * warmup.TotalSeconds);
        MeasuredCount = Math.Max(1, (int)Math.Round(ratePerSecond * measured.TotalSeconds));
    }

    public double RatePerSecond { get; }

    public int WarmupCount { get; }

    public int MeasuredCount { get; }

    public int Total => WarmupCount + MeasuredCount;

    /// <summary>When request <paramref name="i"/> is due, after the start.</summary>
    public TimeSpan DueAt(int i) => TimeSpan.FromTicks((long)Math.Round(i * (TimeSpan.TicksPerSecond / RatePerSecond)));

    /// <summary>How many requests are due at <paramref name="elapsed"/> after the start (those with <see cref="DueAt"/> ≤ elapsed), at most <see cref="Total"/>.</summary>
    public int DueBy(TimeSpan elapsed)
    {
        if (elapsed < TimeSpan.Zero)
        {
            return 0;
        }
        var n = (long)Math.Min(Total, Math.Floor(elapsed.Ticks * RatePerSecond / TimeSpan.TicksPerSecond) + 1);
        // The estimate can be one off where DueAt rounds; settle it against DueAt itself.
        while (n < Total && DueAt((int)n) <= elapsed)
        {
            n++;
        }
        while (n > 0 && DueAt((int)n - 1) > elapsed)
        {
            n--;
        }
        return (int)n;
    }

    public bool IsMeasured(int i) => i >= WarmupCount && i < Total;
}

/// <summary>Latency figures over a set of samples.</summary>
internal static class LatencyStats
{
    /// <summary>Nearest-rank percentile (<paramref name="q"/> in [0, 1]) of ascending <paramref name="sorted"/>; NaN when empty.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double q)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        return sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];
    }

    /// <summary>The samples, sorted ascending (a copy).</summary>
    public static double[] Sorted(IEnumerable<double> samples)
    {
        var a = samples.ToArray();
        Array.Sort(a);
        return a;
    }
}

/// <summary>
/// <c>telemetry bench api</c> (CONTRACT §5): <c>GET /api/bins</c> latency in an open loop. Requests go out on a fixed
/// schedule (<see cref="OpenLoopSchedule"/>), not after the previous answer, and each one's latency is counted from
/// the time it was <em>due</em> to its last body byte, so a stall of the host, of the connection pool or of the
/// sender itself shows in the figures instead of slowing the load down. Against <c>--url</c> with <c>--key</c>, or a
/// child <c>telemetry run --roles api</c> on a free loopback port with the configured store, the configured registry's
/// bins (the 55 Jiyang bins by default) and a fresh analyst key. Then the alert stream (<see cref="AlertStreamProbe"/>): the child
/// runs ingestion (on the embedded broker, on a free port) and the scheduler too, so a tilt status published over MQTT raises an
/// alert that reaches the <c>--clients</c> SSE clients; against <c>--url</c> the statuses go to <c>Mqtt:Server</c> for the
/// configured registry's bins (they raise and clear real tilt alerts there).
/// </summary>
internal sealed class ApiBenchmark(IConfiguration config, IReadOnlyList<string> configurationTokens, ApiBenchOptions options)
{
    public const string KeyName = "bench-api";
    public const double GoalP99Ms = 20;
    public const double GoalSseP99Ms = 250;

    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    private static readonly TimeSpan ProgressEvery = TimeSpan.FromSeconds(2);

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Dictionary<string, object> _result = new(StringComparer.Ordinal);
    private volatile Func<string> _status = () => "starting";
    private ApiChild? _child;
    private string _tempDir = "";
    private int _connectionsOpened;
    private MqttEndpoint? _childBroker;
    private IReadOnlyList<string> _sseBins = [];

    public async Task<int> RunAsync(CancellationToken ct)
    {
        if (options.Url is not null && string.IsNullOrEmpty(options.Key))
        {
            throw new ConfigurationException("--key", "--url needs the API key to send (any role may read /api/bins)");
        }
        using var progressStop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var progress = ProgressAsync(progressStop.Token);
        string? error = null;
        try
        {
            await RunCoreAsync(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            error = "cancelled";
        }
#pragma warning disable CA1031 // Any failure ends the benchmark with a message and a non-zero exit, after cleaning up.
        catch (Exception ex) when (ex is not ConfigurationException)
#pragma warning restore CA1031
        {
            error = ex.Message;
        }
        finally
        {
            await progressStop.CancelAsync();
            await progress;
            await CleanupAsync();
        }

        var exit = 0;
        if (error is not null)
        {
            Console.WriteLine($"FAILED: {error}");
            _result["error"] = error;
            exit = 1;
        }
        else if ((_result.TryGetValue("errors", out var e) && (long)e > 0) || (_result.TryGetValue("sseErrors", out var se) && (long)se > 0))
        {
            exit = 1;
        }
        _result["elapsedSec"] = Math.Round(_clock.Elapsed.TotalSeconds, 1);
        Console.WriteLine(Json());
        return exit;
    }

    private async Task RunCoreAsync(CancellationToken ct)
    {
        _result["loadAverage1m"] = LoadAverage();
        // One socket per SSE client here and in the child (which inherits the limit): the default 1,024 open files are too few.
        if (OpenFileLimit.Raise((ulong)Math.Max(4096, (options.Clients * 2) + 2048)) is { } files)
        {
            _result["openFileLimit"] = (long)files.After;
            Console.WriteLine(Invariant($"bench api: open-file limit {files.Before:N0} → {files.After:N0} (hard limit {files.Hard:N0}; the api process inherits it)"));
        }
        Uri baseUri;
        string key;
        if (options.Url is { } url)
        {
            baseUri = url;
            key = options.Key!;
            _result["target"] = url.ToString();
            Console.WriteLine(Invariant($"bench api: GET /api/bins on {url} at {options.Rate:N0}/s for {options.Seconds} s after a {options.WarmupSeconds} s warm-up; at most {options.Connections} connections; timeout {options.Timeout.TotalMilliseconds:N0} ms"));
        }
        else
        {
            (baseUri, key) = await StartChildAsync(ct);
        }

        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = options.Connections,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectTimeout = options.Timeout,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            UseProxy = false,
            AllowAutoRedirect = false,
            // The default connect, counted: how many connections the pool needed to keep the schedule.
            ConnectCallback = async (context, token) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(context.DnsEndPoint, token);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
                Interlocked.Increment(ref _connectionsOpened);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        using var http = new HttpClient(handler, disposeHandler: true)
        {
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var bins = new Uri(baseUri, "/api/bins");
        await FirstRequestAsync(http, bins, ct);

        var schedule = new OpenLoopSchedule(options.Rate, TimeSpan.FromSeconds(options.WarmupSeconds), TimeSpan.FromSeconds(options.Seconds));
        var load = new OpenLoop(http, bins, schedule, options.Timeout);
        _status = () => load.Progress(_child);
        var metricsBefore = await HostMetrics.ScrapeAsync(http, baseUri, ct);
        using var self = Process.GetCurrentProcess();
        var cpuBefore = self.TotalProcessorTime;
        var wallBefore = Stopwatch.GetTimestamp();
        var outcome = await load.RunAsync(ct);
        var wall = Stopwatch.GetElapsedTime(wallBefore).TotalSeconds;
        self.Refresh();
        _result["benchCpuPct"] = Math.Round((self.TotalProcessorTime - cpuBefore).TotalSeconds / wall * 100, 1);
        if (metricsBefore is not null && await HostMetrics.ScrapeAsync(http, baseUri, ct) is { } metricsAfter)
        {
            // The host's own counters over the run (warm-up included), where its /metrics answers this key or address.
            // OpenTelemetry's names for the runtime's System.Runtime meter (docs/api.md, "Metrics").
            _result["apiCpuPct"] = Math.Round(metricsAfter.Delta(metricsBefore, "dotnet_process_cpu_time_seconds_total") / wall * 100, 1);
            _result["apiGcPauseMs"] = Math.Round(metricsAfter.Delta(metricsBefore, "dotnet_gc_pause_time_seconds_total") * 1000, 1);
            _result["apiServerP99UpToMs"] = metricsAfter.ServerQuantileUpToMs(metricsBefore, 0.99);
            _result["apiAllocatedKbPerRequest"] = Math.Round(metricsAfter.Delta(metricsBefore, "dotnet_gc_heap_total_allocated_bytes_total") / 1024 / schedule.Total, 1);
            _result["apiGen2Collections"] = Math.Round(metricsAfter.Delta(metricsBefore, "dotnet_gc_collections_total", "gc_heap_generation=\"gen2\""));
        }
        var sse = await AlertStreamAsync(http, baseUri, key, ct);
        _status = () => "stopping";
        if (_child is not null)
        {
            _child.Sample();
            if (_child.HasExited)
            {
                throw new InvalidOperationException($"the api process exited during the run; its last output:{Environment.NewLine}{_child.LastLines()}");
            }
            await _child.StopAsync();
            _result["peakRssMb"] = Math.Round(_child.PeakRssKb / 1024.0, 1);
        }
        Record(outcome);
        Record(sse);
        Summary(outcome);
        Summary(sse);
    }

    /// <summary>The alert stream: the scheduler acting, then <see cref="AlertStreamProbe"/>.</summary>
    private async Task<SseOutcome> AlertStreamAsync(HttpClient http, Uri baseUri, string key, CancellationToken ct)
    {
        MqttEndpoint broker;
        string? username = null;
        string? password = null;
        IReadOnlyList<string> bins;
        if (_childBroker is { } own)
        {
            broker = own;
            bins = _sseBins;
            await WaitSchedulerActingAsync(http, baseUri, ct);
        }
        else
        {
            var mqtt = BenchSettings.Mqtt(config);
            broker = mqtt.Endpoint();
            username = mqtt.Username;
            password = mqtt.Password;
            bins = [.. BenchSettings.LoadRegistry(config).Bins.Select(b => b.Id)];
        }
        Console.WriteLine(Invariant($"SSE: {options.Clients:N0} clients on /api/alerts/stream; {options.SseRounds} tilt alerts raised and cleared by statuses published to {broker}"));
        var probe = new AlertStreamProbe(baseUri, key, broker, username, password, bins, options.Clients, options.SseRounds, "bench-api-" + (_tempDir.Length > 0 ? Path.GetFileName(_tempDir) : "url"), Console.WriteLine);
        _status = () => probe.Progress;
        return await probe.RunAsync(ct);
    }

    /// <summary>Until the child's scheduler acts (<c>/readyz</c>: <c>checks.scheduler.data.active</c>): before, it derives alerts but publishes none.</summary>
    private static async Task WaitSchedulerActingAsync(HttpClient http, Uri baseUri, CancellationToken ct)
    {
        var deadline = Stopwatch.GetTimestamp() + (30 * Stopwatch.Frequency);
        var last = "no answer";
        while (Stopwatch.GetTimestamp() < deadline)
        {
            using var response = await http.GetAsync(new Uri(baseUri, "/readyz"), ct);
            last = await response.Content.ReadAsStringAsync(ct);
            using var doc = JsonDocument.Parse(last);
            if (doc.RootElement.TryGetProperty("checks", out var checks) && checks.TryGetProperty("scheduler", out var scheduler)
                && scheduler.TryGetProperty("data", out var data) && data.TryGetProperty("active", out var active) && active.ValueKind == JsonValueKind.True)
            {
                return;
            }
            await Task.Delay(200, ct);
        }
        throw new InvalidOperationException($"the api process's scheduler did not act within 30 s (/readyz: {last})");
    }

    /// <summary>The host to measure: a child api process on a free loopback port, its registry's bins renamed for this run and given one reading each.</summary>
    private async Task<(Uri BaseUri, string Key)> StartChildAsync(CancellationToken ct)
    {
        var registry = BenchSettings.LoadRegistry(config);
        var run = "A" + RandomNumberGenerator.GetString(Alphabet, 6);
        var renamed = Rename(registry, run + "-");
        string backend;
        var store = BenchSettings.CreateStore(config);
        await using (store)
        {
            await store.InitializeAsync(ct);
            backend = store.Name;
            // A realistic body: every bin with its status and every compartment with a fill and a weight, as a fleet
            // that reports has. Under this run's own bin ids, so no real bin's state changes.
            // Whole seconds, so the body has the same length every run.
            var at = DateTimeOffset.FromUnixTimeSeconds(TimeProvider.System.GetUtcNow().ToUnixTimeSeconds() - 300);
            await store.WriteAsync(SeedReadings(renamed, at), [], ct);
        }
        _result["backend"] = backend;
        _tempDir = Path.Combine(Path.GetTempPath(), $"telemetry-bench-api-{run}");
        Directory.CreateDirectory(_tempDir);
        var registryPath = Path.Combine(_tempDir, "registry.json");
        await File.WriteAllTextAsync(registryPath, FleetRegistryLoader.Serialize(renamed), ct);

        var key = ApiKeys.NewKey();
        var port = FreeLoopbackPort();
        var baseUri = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
        Console.WriteLine(Invariant($"bench api: run {run}; store {backend}; {renamed.Bins.Count} bins ({registry.District}, renamed {run}-…); api process (with ingestion on an embedded broker and the scheduler) on {baseUri}; GET /api/bins at {options.Rate:N0}/s for {options.Seconds} s after a {options.WarmupSeconds} s warm-up; at most {options.Connections} connections; timeout {options.Timeout.TotalMilliseconds:N0} ms"));
        _status = () => "starting the api process";
        var mqttPort = FreeLoopbackPort();
        _childBroker = new MqttEndpoint(false, "127.0.0.1", mqttPort, false);
        _sseBins = [.. renamed.Bins.Select(b => b.Id)];
        _child = ApiChild.Start(
            "ingestion,scheduler,api",
            [.. configurationTokens,
                "--Mqtt:Server=embedded",
                $"--mqtt-port={mqttPort.ToString(CultureInfo.InvariantCulture)}",
                $"--Urls=http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
                $"--{BenchSettings.FleetRegistryKey}={registryPath}",
                $"--Api:Keys:{KeyName}:Role=analyst",
                $"--Api:Keys:{KeyName}:Sha256={ApiKeys.Hash(key)}"],
            Console.WriteLine);
        using var probe = new HttpClient();
        var started = Stopwatch.GetTimestamp();
        await _child.WaitReadyAsync(probe, baseUri, TimeSpan.FromSeconds(90), ct);
        Console.WriteLine(Invariant($"api process {_child.Pid} ready (/readyz 200) after {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s; resident peak so far {_child.PeakRssKb / 1024.0:N1} MB"));
        return (baseUri, key);
    }

    /// <summary>One request before the clock starts: the key works and the body is what it should be.</summary>
    private async Task FirstRequestAsync(HttpClient http, Uri bins, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        using var response = await http.GetAsync(bins, timeout.Token);
        var body = await response.Content.ReadAsByteArrayAsync(timeout.Token);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException(Invariant($"GET {bins} answered HTTP {(int)response.StatusCode}: {Encoding.UTF8.GetString(body.AsSpan(0, Math.Min(body.Length, 300)))}"));
        }
        using var doc = JsonDocument.Parse(body);
        var count = doc.RootElement.ValueKind == JsonValueKind.Array ? doc.RootElement.GetArrayLength() : -1;
        _result["bins"] = count;
        _result["bodyBytes"] = body.Length;
        Console.WriteLine(Invariant($"GET /api/bins: HTTP {(int)response.StatusCode}, {body.Length:N0} bytes, {count} bins"));
    }

    private void Record(OpenLoop.Outcome o)
    {
        _result["rps"] = options.Rate;
        _result["requests"] = (long)o.Requests;
        _result["errors"] = o.Errors;
        _result["p50Ms"] = Math.Round(o.P50Ms, 2);
        _result["p99Ms"] = Math.Round(o.P99Ms, 2);
        _result["sendRatePerSec"] = Math.Round(o.SendRatePerSec, 1);
        _result["p999Ms"] = Math.Round(o.P999Ms, 2);
        _result["maxMs"] = Math.Round(o.MaxMs, 2);
        _result["meanMs"] = Math.Round(o.MeanMs, 2);
        _result["timeouts"] = o.Timeouts;
        _result["warmupRequests"] = o.WarmupRequests;
        _result["warmupErrors"] = o.WarmupErrors;
        _result["p99FromSendMs"] = Math.Round(o.P99FromSendMs, 2);
        _result["sendLagP99Ms"] = Math.Round(o.SendLagP99Ms, 2);
        _result["sendLagMaxMs"] = Math.Round(o.SendLagMaxMs, 2);
        _result["benchGcPauseMs"] = Math.Round(o.GcPauseMs, 1);
        _result["connectionsOpened"] = Volatile.Read(ref _connectionsOpened);
    }

    private void Summary(OpenLoop.Outcome o)
    {
        var goal = o.Errors == 0 && o.P99Ms < GoalP99Ms;
        Console.WriteLine();
        Console.WriteLine(Invariant($"Summary (GET /api/bins{(_result.TryGetValue("backend", out var b) ? $", api process on {b}" : $" on {options.Url}")}): {o.Requests:N0} requests at {options.Rate:N0}/s asked, {o.SendRatePerSec:N0}/s sent (open loop; {o.WarmupRequests:N0} warm-up requests in {options.WarmupSeconds} s before, not counted)"));
        Console.WriteLine(Invariant($"  latency from the scheduled send to the last byte: p50 {o.P50Ms:N2} ms, p99 {o.P99Ms:N2} ms, p99.9 {o.P999Ms:N2} ms, max {o.MaxMs:N2} ms; the sender was late by at most {o.SendLagMaxMs:N2} ms (p99 {o.SendLagP99Ms:N2} ms), included; p99 from the actual send {o.P99FromSendMs:N2} ms"));
        Console.WriteLine(Invariant($"  errors {o.Errors:N0} (timeouts after {options.Timeout.TotalMilliseconds:N0} ms: {o.Timeouts:N0}{o.ErrorDetail}); {Volatile.Read(ref _connectionsOpened)} connection(s) opened; this process paused {o.GcPauseMs:N1} ms in garbage collections ({o.Gen2Collections} of gen2) during the run"));
        Console.WriteLine(Invariant($"  CPU over the run: this process {(double)_result["benchCpuPct"]:N0} % of a core{(_result.TryGetValue("apiCpuPct", out var cpu) ? Invariant($"; the api process {(double)cpu:N0} % of a core, {(double)_result["apiGcPauseMs"]:N1} ms paused in garbage collections ({(double)_result["apiGen2Collections"]:N0} of gen2), {(double)_result["apiAllocatedKbPerRequest"]:N1} kB allocated per request; by its own request-duration histogram, 99 % of its answers took at most {(double)_result["apiServerP99UpToMs"]:N0} ms (bucket bound)") : "")}; load average at the start {(double)_result["loadAverage1m"]:N2} ({Environment.ProcessorCount} cores)"));
        Console.WriteLine(Invariant($"  goal p99 < {GoalP99Ms:0} ms with 0 errors: {(goal ? "met" : "NOT met")}"));
        if (o.SendRatePerSec < options.Rate * 0.95)
        {
            Console.WriteLine(Invariant($"  the sender reached only {o.SendRatePerSec:N0} of {options.Rate:N0} requests/s: this machine could not keep the schedule (the lateness is in the latencies)"));
        }
        if (_result.TryGetValue("peakRssMb", out var rss))
        {
            Console.WriteLine(Invariant($"  api process peak resident memory (VmHWM): {(double)rss:N1} MB"));
        }
    }

    private void Record(SseOutcome o)
    {
        _result["sseP50Ms"] = Math.Round(o.P50Ms, 1);
        _result["sseP99Ms"] = Math.Round(o.P99Ms, 1);
        _result["sseMaxMs"] = Math.Round(o.MaxMs, 1);
        _result["sseConnected"] = o.Connected;
        _result["sseRounds"] = o.Rounds;
        _result["sseSamples"] = o.LatenciesMs.Length;
        _result["sseMissed"] = o.Missed;
        _result["sseClearMissed"] = o.ClearMissed;
        _result["sseConnectSec"] = Math.Round(o.ConnectSeconds, 1);
        // A client that missed an event, or never connected, is an error of the stream.
        _result["sseErrors"] = o.Missed + o.ClearMissed;
    }

    private static void Summary(SseOutcome o)
    {
        var goal = o.Missed == 0 && o.ClearMissed == 0 && o.P99Ms < GoalSseP99Ms;
        Console.WriteLine(Invariant($"  SSE (/api/alerts/stream): {o.Connected:N0} of {o.Clients:N0} clients connected in {o.ConnectSeconds:0.0} s; {o.Rounds} tilt alerts, each from the broker's acknowledgement of the status to a client's receipt of its raised event: p50 {o.P50Ms:N1} ms, p99 {o.P99Ms:N1} ms, max {o.MaxMs:N1} ms over {o.LatenciesMs.Length:N0} receipts"));
        Console.WriteLine(Invariant($"    errors {o.Missed + o.ClearMissed:N0}: raised events missed {o.Missed:N0}, cleared events missed {o.ClearMissed:N0} (a client that never connected misses every event){(o.Detail.Length > 0 ? "; " + o.Detail : "")}"));
        Console.WriteLine(Invariant($"    goal p99 < {GoalSseP99Ms:0} ms with no event missed: {(goal ? "met" : "NOT met")}"));
    }

    private async Task CleanupAsync()
    {
        if (_child is not null)
        {
            await _child.DisposeAsync();
            _child = null;
        }
        if (_tempDir.Length > 0 && Directory.Exists(_tempDir))
        {
            Directory.Delete(_tempDir, recursive: true);
        }
    }

    private async Task ProgressAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(ProgressEvery);
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                Console.WriteLine(Invariant($"[{_clock.Elapsed.TotalSeconds,5:0}s] {_status()}"));
            }
        }
        catch (OperationCanceledException)
        {
            // Done.
        }
    }

    private string Json()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("bench", "api");
            w.WriteNumber("rps", options.Rate);
            string[] order = ["requests", "errors", "p50Ms", "p99Ms"];
            foreach (var key in order)
            {
                Write(w, key, _result.GetValueOrDefault(key));
            }
            w.WriteNumber("sseClients", options.Clients);
            Write(w, "sseP99Ms", _result.GetValueOrDefault("sseP99Ms"));
            Write(w, "peakRssMb", _result.GetValueOrDefault("peakRssMb"));
            Write(w, "sendRatePerSec", _result.GetValueOrDefault("sendRatePerSec"));
            w.WriteNumber("seconds", options.Seconds);
            w.WriteNumber("warmupSeconds", options.WarmupSeconds);
            w.WriteNumber("connections", options.Connections);
            w.WriteNumber("timeoutMs", options.Timeout.TotalMilliseconds);
            string[] written = [.. order, "rps", "peakRssMb", "sendRatePerSec", "sseP99Ms"];
            foreach (var (key, v) in _result.Where(kv => !written.Contains(kv.Key)).OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                Write(w, key, v);
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void Write(Utf8JsonWriter w, string key, object? v)
    {
        switch (v)
        {
            case null: w.WriteNull(key); break;
            case long l: w.WriteNumber(key, l); break;
            case int i: w.WriteNumber(key, i); break;
            case double d when double.IsFinite(d): w.WriteNumber(key, d); break;
            case double: w.WriteNull(key); break;
            default: w.WriteString(key, Convert.ToString(v, CultureInfo.InvariantCulture)); break;
        }
    }

    private static FleetRegistry Rename(FleetRegistry registry, string prefix) =>
        new(registry.District, registry.City, registry.TimeZone, registry.Bounds, registry.Communities, registry.Facilities,
            [.. registry.Bins.Select(b => b with { Id = prefix + b.Id })], registry.Vehicles);

    /// <summary>A status per bin and a fill and weight reading per compartment, at <paramref name="at"/>; the same values every run.</summary>
    internal static List<Reading> SeedReadings(FleetRegistry registry, DateTimeOffset at)
    {
        var readings = new List<Reading>();
        var i = 0;
        foreach (var bin in registry.Bins)
        {
            readings.Add(new StatusReading(bin.Id, bin.Community, at, 1, true, true, 40 + (i * 7 % 60), 18 + (i % 9), false, false));
            foreach (var c in bin.Compartments)
            {
                var pct = (i * 37 % 95) + 0.5;
                readings.Add(new FillReading(bin.Id, bin.Community, c.Id, c.Stream.Name(), at, 1, pct));
                readings.Add(new WeightReading(bin.Id, bin.Community, c.Id, c.Stream.Name(), at, 1, Math.Round(c.MaxKg * pct / 100, 1), null));
                i++;
            }
        }
        return readings;
    }

    private static int FreeLoopbackPort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static double LoadAverage()
    {
        try
        {
            var text = File.ReadAllText("/proc/loadavg");
            return double.Parse(text.Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return double.NaN;
        }
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>The host's Prometheus counters (<c>/metrics</c>: open from loopback, else for admins), by series.</summary>
    private sealed class HostMetrics(Dictionary<string, double> values)
    {
        public static async Task<HostMetrics?> ScrapeAsync(HttpClient http, Uri baseUri, CancellationToken ct)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                using var response = await http.GetAsync(new Uri(baseUri, "/metrics"), timeout.Token);
                if (!response.IsSuccessStatusCode)
                {
                    return null;
                }
                var values = new Dictionary<string, double>(StringComparer.Ordinal);
                foreach (var line in (await response.Content.ReadAsStringAsync(timeout.Token)).Split('\n'))
                {
                    var space = line.LastIndexOf(' ');
                    if (line.Length == 0 || line[0] == '#' || space <= 0)
                    {
                        continue;
                    }
                    if (double.TryParse(line.AsSpan(space + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
                    {
                        values[line[..space]] = v;
                    }
                }
                return new HostMetrics(values);
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException && !ct.IsCancellationRequested)
            {
                return null;
            }
        }

        /// <summary>
        /// From the host's own request-duration histogram (ASP.NET Core's <c>http.server.request.duration</c>, exported by
        /// OpenTelemetry): the upper bound, in ms, of the bucket that holds quantile <paramref name="q"/> of the
        /// successful <c>GET /api/bins</c> requests between <paramref name="before"/> and now; NaN without any.
        /// </summary>
        public double ServerQuantileUpToMs(HostMetrics before, double q)
        {
            const string prefix = "http_server_request_duration_seconds_bucket{";
            var buckets = new List<(double Le, double Count)>();
            foreach (var (series, value) in values)
            {
                if (!series.StartsWith(prefix, StringComparison.Ordinal) || !series.Contains("http_route=\"/api/bins\"", StringComparison.Ordinal)
                    || !series.Contains("http_response_status_code=\"200\"", StringComparison.Ordinal) || !series.Contains("http_request_method=\"GET\"", StringComparison.Ordinal))
                {
                    continue;
                }
                var at = series.IndexOf("le=\"", StringComparison.Ordinal);
                if (at < 0)
                {
                    continue;
                }
                var text = series[(at + 4)..series.IndexOf('"', at + 4)];
                var le = text == "+Inf" ? double.PositiveInfinity : double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
                buckets.Add((le, value - before.Values.GetValueOrDefault(series)));
            }
            buckets.Sort((a, b) => a.Le.CompareTo(b.Le));
            if (buckets.Count == 0 || buckets[^1].Count <= 0)
            {
                return double.NaN;
            }
            var target = q * buckets[^1].Count;
            return buckets.First(b => b.Count >= target).Le * 1000;
        }

        /// <summary>The change of a metric since <paramref name="before"/>, summed over its series (those whose labels contain <paramref name="label"/>, when given); NaN when it is not there.</summary>
        public double Delta(HostMetrics before, string name, string? label = null)
        {
            var found = false;
            var sum = 0.0;
            foreach (var (series, now) in values)
            {
                if ((series == name || series.StartsWith(name + "{", StringComparison.Ordinal)) && (label is null || series.Contains(label, StringComparison.Ordinal)))
                {
                    found = true;
                    sum += now - before.Values.GetValueOrDefault(series);
                }
            }
            return found ? sum : double.NaN;
        }

        private Dictionary<string, double> Values => values;
    }

    /// <summary>
    /// The load: a dedicated thread wakes about every millisecond and sends every request that is due; each request
    /// runs on its own (the pool of at most <c>--connections</c> connections queues those that find none free), and
    /// its latency is counted from its due time to its last body byte, or to the error.
    /// </summary>
    private sealed class OpenLoop(HttpClient http, Uri uri, OpenLoopSchedule schedule, TimeSpan timeout)
    {
        private const byte Ok = 1;
        private const byte Failed = 2;
        private const byte TimedOut = 3;

        private readonly double[] _latencyMs = new double[schedule.Total];
        private readonly double[] _sendLagMs = new double[schedule.Total];
        private readonly byte[] _outcome = new byte[schedule.Total];
        private readonly ConcurrentDictionary<string, int> _errorKinds = new(StringComparer.Ordinal);
        private readonly object _intervalGate = new();
        private readonly TaskCompletionSource _sent = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private List<double> _interval = [];
        private long _start;
        private int _fired;
        private int _completed;
        private int _errors;
        private int _lastReportedFired;
        private long _lastReportAt;
        private CancellationToken _ct;
        private TimeSpan _gcPauseAtStart;
        private int _gen2AtStart;

        public sealed record Outcome(
            int Requests, long Errors, long Timeouts, string ErrorDetail, double P50Ms, double P99Ms, double P999Ms, double MaxMs, double MeanMs,
            double SendRatePerSec, double SendLagP99Ms, double SendLagMaxMs, int WarmupRequests, long WarmupErrors, double GcPauseMs, int Gen2Collections, double P99FromSendMs);

        public async Task<Outcome> RunAsync(CancellationToken ct)
        {
            _ct = ct;
            _start = Stopwatch.GetTimestamp() + (Stopwatch.Frequency / 50);
            _lastReportAt = _start;
            _gcPauseAtStart = GC.GetTotalPauseDuration();
            _gen2AtStart = GC.CollectionCount(2);
            var sender = new Thread(Dispatch) { IsBackground = true, Name = "bench-api-sender" };
            sender.Start();
            // Not a pool thread blocked in Join: the pool's threads are the ones that read the answers.
            await _sent.Task;
            // Every request ends within the timeout after it was sent; a little more for the last answers to arrive.
            var deadline = Stopwatch.GetTimestamp() + (long)((timeout.TotalSeconds + 5) * Stopwatch.Frequency);
            while (Volatile.Read(ref _completed) < Volatile.Read(ref _fired))
            {
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    throw new InvalidOperationException(Invariant($"{_fired - _completed} request(s) still open {timeout.TotalSeconds + 5:0} s after the last was sent"));
                }
                await Task.Delay(10, CancellationToken.None);
            }
            ct.ThrowIfCancellationRequested();
            return Compute();
        }

        private void Dispatch()
        {
            try
            {
                DispatchAll();
            }
            finally
            {
                _sent.TrySetResult();
            }
        }

        private void DispatchAll()
        {
            var next = 0;
            var total = schedule.Total;
            while (next < total && !_ct.IsCancellationRequested)
            {
                var due = schedule.DueBy(Stopwatch.GetElapsedTime(_start));
                while (next < due)
                {
                    Fire(next++);
                }
                if (next < total && schedule.DueAt(next) > Stopwatch.GetElapsedTime(_start))
                {
                    // About 1 ms on Linux: the sender sleeps rather than spins, leaving the cores to the host. A request
                    // due within the sleep goes out a little late, and that lateness is part of its latency.
                    Thread.Sleep(1);
                }
            }
        }

        private void Fire(int i)
        {
            Interlocked.Increment(ref _fired);
            _ = SendAsync(i);
        }

        private async Task SendAsync(int i)
        {
            var dueAt = schedule.DueAt(i);
            var sentAt = Stopwatch.GetElapsedTime(_start);
            _sendLagMs[i] = (sentAt - dueAt).TotalMilliseconds;
            var outcome = Failed;
            byte[]? buffer = null;
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(_ct);
            cts.CancelAfter(timeout);
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, uri);
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
                buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
                await using (var body = await response.Content.ReadAsStreamAsync(cts.Token))
                {
                    while (await body.ReadAsync(buffer, cts.Token) > 0)
                    {
                        // Read to the end, as a client does; the bytes are not kept.
                    }
                }
                if (response.IsSuccessStatusCode)
                {
                    outcome = Ok;
                }
                else
                {
                    _errorKinds.AddOrUpdate(Invariant($"HTTP {(int)response.StatusCode}"), 1, (_, n) => n + 1);
                }
            }
            catch (OperationCanceledException) when (!_ct.IsCancellationRequested)
            {
                outcome = TimedOut;
            }
            catch (OperationCanceledException)
            {
                _errorKinds.AddOrUpdate("cancelled", 1, (_, n) => n + 1);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException)
            {
                _errorKinds.AddOrUpdate(ex.GetBaseException().Message, 1, (_, n) => n + 1);
            }
            finally
            {
                if (buffer is not null)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
            var latency = (Stopwatch.GetElapsedTime(_start) - dueAt).TotalMilliseconds;
            _latencyMs[i] = latency;
            _outcome[i] = outcome;
            if (outcome != Ok)
            {
                Interlocked.Increment(ref _errors);
            }
            lock (_intervalGate)
            {
                _interval.Add(latency);
            }
            Interlocked.Increment(ref _completed);
        }

        /// <summary>The progress line: what was sent and answered since the last one.</summary>
        public string Progress(ApiChild? child)
        {
            var now = Stopwatch.GetTimestamp();
            if (now < _start)
            {
                return "about to start";
            }
            var fired = Volatile.Read(ref _fired);
            var completed = Volatile.Read(ref _completed);
            var seconds = Stopwatch.GetElapsedTime(_lastReportAt, now).TotalSeconds;
            var rate = seconds > 0 ? (fired - _lastReportedFired) / seconds : 0;
            _lastReportedFired = fired;
            _lastReportAt = now;
            List<double> interval;
            lock (_intervalGate)
            {
                interval = _interval;
                _interval = new List<double>(interval.Count);
            }
            var sorted = LatencyStats.Sorted(interval);
            var phase = fired <= schedule.WarmupCount ? "warm-up" : "measuring";
            var rss = child is null ? "" : Invariant($"; api resident peak {child.PeakRssKb / 1024.0:N0} MB");
            return Invariant($"{phase}: sent {fired:N0}/{schedule.Total:N0} ({rate:N0}/s), answered {completed:N0}, in flight {fired - completed:N0}, errors {Volatile.Read(ref _errors):N0}; answers since the last line: {sorted.Length:N0}, p50 {LatencyStats.Percentile(sorted, 0.5):N2} ms, p99 {LatencyStats.Percentile(sorted, 0.99):N2} ms, max {(sorted.Length > 0 ? sorted[^1] : double.NaN):N2} ms{rss}");
        }

        private Outcome Compute()
        {
            var first = schedule.WarmupCount;
            var total = schedule.Total;
            var measured = Enumerable.Range(first, total - first);
            var latencies = LatencyStats.Sorted(measured.Select(i => _latencyMs[i]));
            var lags = LatencyStats.Sorted(measured.Select(i => _sendLagMs[i]));
            // From the actual send instead: what the host and the connection pool took, without the sender's own lateness.
            var fromSend = LatencyStats.Sorted(measured.Select(i => _latencyMs[i] - Math.Max(0, _sendLagMs[i])));
            long errors = measured.Count(i => _outcome[i] != Ok);
            long timeouts = measured.Count(i => _outcome[i] == TimedOut);
            long warmupErrors = Enumerable.Range(0, first).Count(i => _outcome[i] != Ok);
            // Sent per second: from the first measured request's send to the last one's.
            var firstSent = schedule.DueAt(first).TotalMilliseconds + _sendLagMs[first];
            var lastSent = schedule.DueAt(total - 1).TotalMilliseconds + _sendLagMs[total - 1];
            var sendRate = total - first > 1 && lastSent > firstSent ? (total - first - 1) / ((lastSent - firstSent) / 1000) : double.NaN;
            var detail = _errorKinds.IsEmpty ? "" : "; " + string.Join(", ", _errorKinds.OrderByDescending(kv => kv.Value).Take(5).Select(kv => Invariant($"{kv.Key} ×{kv.Value:N0}")));
            return new Outcome(
                total - first, errors, timeouts, detail,
                LatencyStats.Percentile(latencies, 0.50), LatencyStats.Percentile(latencies, 0.99), LatencyStats.Percentile(latencies, 0.999),
                latencies.Length > 0 ? latencies[^1] : double.NaN, latencies.Length > 0 ? latencies.Average() : double.NaN,
                sendRate, LatencyStats.Percentile(lags, 0.99), lags.Length > 0 ? lags[^1] : double.NaN,
                first, warmupErrors, (GC.GetTotalPauseDuration() - _gcPauseAtStart).TotalMilliseconds, GC.CollectionCount(2) - _gen2AtStart, LatencyStats.Percentile(fromSend, 0.99));
        }
    }
}
