using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;
using Telemetry.Contracts.Configuration;
using Telemetry.Ingestion.Mqtt;

namespace Telemetry.Benchmarks;

/// <summary>What the SSE part of <c>bench api</c> measured.</summary>
/// <param name="Clients">SSE clients asked for.</param>
/// <param name="Connected">Clients that got the stream's first line (<c>: alerts</c>).</param>
/// <param name="Rounds">Tilt alerts raised (one bin each).</param>
/// <param name="LatenciesMs">Publish acknowledgement → a client's receipt of the <c>raised</c> event, every client and round, ascending.</param>
/// <param name="Missed">(round, client) pairs without the event within the wait, clients that never connected counted in every round.</param>
/// <param name="ClearMissed">The same for the <c>cleared</c> events (not timed).</param>
/// <param name="ConnectSeconds">From the first connection attempt until every client had its first line.</param>
/// <param name="Detail">Why clients failed, if any did.</param>
internal sealed record SseOutcome(int Clients, int Connected, int Rounds, double[] LatenciesMs, long Missed, long ClearMissed, double ConnectSeconds, string Detail)
{
    public double P50Ms => LatencyStats.Percentile(LatenciesMs, 0.5);

    public double P99Ms => LatencyStats.Percentile(LatenciesMs, 0.99);

    public double MaxMs => LatenciesMs.Length > 0 ? LatenciesMs[^1] : double.NaN;
}

/// <summary>
/// The SSE part of <c>bench api</c> (CONTRACT §5): <c>--clients</c> clients on <c>/api/alerts/stream</c> (one HTTP/1.1 connection
/// each), then, round by round, a bin's status with <c>tilt</c> true published over MQTT (QoS 1), as its device would, and the time
/// from the broker's acknowledgement to each client's receipt of the <c>raised</c> tilt event of that bin: through ingestion, the
/// store, the fill signal, the scheduler (which stores the alert, then publishes it on the bus) and the api's projection. Each
/// round ends with <c>tilt</c> false (the alert clears) once every client has the event or the wait is over.
/// </summary>
internal sealed class AlertStreamProbe(
    Uri baseUri, string key, MqttEndpoint broker, string? username, string? password, IReadOnlyList<string> bins, int clients, int rounds, string clientIdPrefix, Action<string> log)
{
    private static readonly TimeSpan EventWait = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan ConnectWait = TimeSpan.FromSeconds(90);

    private readonly long[] _raisedAt = new long[rounds * clients];
    private readonly long[] _clearedAt = new long[rounds * clients];
    private readonly Dictionary<string, int> _roundOf = bins.Take(rounds).Select((b, i) => (b, i)).ToDictionary(x => x.b, x => x.i, StringComparer.Ordinal);
    private readonly TaskCompletionSource _allConnected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<string, int> _failures = new(StringComparer.Ordinal);
    private int _connected;
    private int _raisedCount;
    private int _clearedCount;

    public string Progress => Invariant($"SSE: {Volatile.Read(ref _connected):N0}/{clients:N0} clients connected; raised events received {Volatile.Read(ref _raisedCount):N0}, cleared {Volatile.Read(ref _clearedCount):N0}");

    public async Task<SseOutcome> RunAsync(CancellationToken ct)
    {
        if (bins.Count < rounds)
        {
            throw new InvalidOperationException(Invariant($"the SSE rounds need {rounds} bins; the registry has {bins.Count}"));
        }
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = int.MaxValue,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            ConnectTimeout = TimeSpan.FromSeconds(20),
            UseCookies = false,
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
        };
        using var http = new HttpClient(handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var stream = new Uri(baseUri, "/api/alerts/stream");
        // At most 64 connections being set up at once: a burst of a thousand overflows the server's listen backlog (SYN retries of a second or more).
        using var opening = new SemaphoreSlim(64);
        var started = Stopwatch.GetTimestamp();
        var tasks = Enumerable.Range(0, clients).Select(i => Task.Run(() => ClientAsync(http, stream, i, opening, stop.Token), CancellationToken.None)).ToArray();
        var connectDeadline = Task.Delay(ConnectWait, ct);
        var all = Task.WhenAll(tasks);
        await Task.WhenAny(_allConnected.Task, connectDeadline, all);
        ct.ThrowIfCancellationRequested();
        var connectSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var connected = Volatile.Read(ref _connected);
        log(Invariant($"SSE: {connected:N0}/{clients:N0} clients on {stream} had the stream's first line after {connectSeconds:0.0} s{(connected < clients ? "; " + Detail() : "")}"));

        var ackAt = new long[rounds];
        var clearAckAt = new long[rounds];
        var mqtt = new MqttClientFactory().CreateMqttClient();
        try
        {
            var options = new MqttClientOptionsBuilder()
                .ForBroker(broker, $"{clientIdPrefix}-sse", username, password)
                .WithCleanStart(true)
                .WithTimeout(TimeSpan.FromSeconds(10))
                .Build();
            var result = await mqtt.ConnectAsync(options, ct);
            if (result.ResultCode != MqttClientConnectResultCode.Success)
            {
                throw new InvalidOperationException($"the SSE part's MQTT connection was refused by {broker}: {result.ResultCode} {result.ReasonString}");
            }
            // Above any seq the store holds for these bins: a lower one would be a reboot (a device event written beside the alert).
            var seq = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();
            for (var r = 0; r < rounds; r++)
            {
                var bin = bins[r];
                ackAt[r] = await PublishTiltAsync(mqtt, bin, true, seq++, ct);
                await WaitAsync(_raisedAt, r, connected, ct);
                clearAckAt[r] = await PublishTiltAsync(mqtt, bin, false, seq++, ct);
                await WaitAsync(_clearedAt, r, connected, ct);
            }
            await mqtt.DisconnectAsync(new MqttClientDisconnectOptions(), CancellationToken.None);
        }
        finally
        {
            mqtt.Dispose();
            await stop.CancelAsync();
            try
            {
                await all.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
            }
            catch (TimeoutException)
            {
                log("SSE: some clients did not close within 10 s");
            }
        }

        var latencies = new List<double>(rounds * clients);
        long missed = 0;
        long clearMissed = 0;
        for (var r = 0; r < rounds; r++)
        {
            for (var c = 0; c < clients; c++)
            {
                var at = _raisedAt[(r * clients) + c];
                if (at == 0)
                {
                    missed++;
                }
                else
                {
                    latencies.Add(Math.Max(0, Stopwatch.GetElapsedTime(ackAt[r], at).TotalMilliseconds));
                }
                if (_clearedAt[(r * clients) + c] == 0)
                {
                    clearMissed++;
                }
            }
        }
        return new SseOutcome(clients, connected, rounds, LatencyStats.Sorted(latencies), missed, clearMissed, connectSeconds, Detail());
    }

    /// <summary>A device's status: <c>{"v":1,"ts":…,"seq":…,"tilt":…}</c> on <c>bins/{bin}/status</c>, QoS 1; returns when the broker acknowledged it.</summary>
    private static async Task<long> PublishTiltAsync(IMqttClient mqtt, string bin, bool tilt, long seq, CancellationToken ct)
    {
        var ts = DateTimeOffset.FromUnixTimeMilliseconds(TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds()).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        var payload = Encoding.UTF8.GetBytes(Invariant($"{{\"v\":1,\"ts\":\"{ts}\",\"seq\":{seq},\"tilt\":{(tilt ? "true" : "false")}}}"));
        var message = new MqttApplicationMessageBuilder()
            .WithTopic($"bins/{bin}/status")
            .WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build();
        var result = await mqtt.PublishAsync(message, ct);
        var acked = Stopwatch.GetTimestamp();
        if (result.ReasonCode is not (MqttClientPublishReasonCode.Success or MqttClientPublishReasonCode.NoMatchingSubscribers))
        {
            throw new InvalidOperationException($"the broker refused the status of {bin}: {result.ReasonCode} {result.ReasonString}");
        }
        // A later status of the same bin must be later by the device's clock too (an older one raises and clears nothing).
        await Task.Delay(2, ct);
        return acked;
    }

    /// <summary>Waits until every connected client has its event of round <paramref name="round"/>, or <see cref="EventWait"/>.</summary>
    private async Task WaitAsync(long[] receipts, int round, int connected, CancellationToken ct)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(EventWait.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            var have = 0;
            for (var c = 0; c < clients; c++)
            {
                if (Volatile.Read(ref receipts[(round * clients) + c]) != 0)
                {
                    have++;
                }
            }
            if (have >= connected)
            {
                return;
            }
            await Task.Delay(5, ct);
        }
    }

    private async Task ClientAsync(HttpClient http, Uri stream, int index, SemaphoreSlim opening, CancellationToken ct)
    {
        var held = false;
        try
        {
            await opening.WaitAsync(ct);
            held = true;
            using var request = new HttpRequestMessage(HttpMethod.Get, stream) { Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            if (!response.IsSuccessStatusCode)
            {
                Fail(Invariant($"HTTP {(int)response.StatusCode}"));
                return;
            }
            await using var body = await response.Content.ReadAsStreamAsync(ct);
            using var reader = new StreamReader(body, Encoding.UTF8);
            string? type = null;
            string? data = null;
            while (await reader.ReadLineAsync(ct) is { } line)
            {
                var now = Stopwatch.GetTimestamp();
                if (line.Length == 0)
                {
                    if (type is not null && data is not null)
                    {
                        Dispatch(index, type, data, now);
                    }
                    type = data = null;
                }
                else if (line[0] == ':')
                {
                    if (held && line.StartsWith(": alerts", StringComparison.Ordinal))
                    {
                        opening.Release();
                        held = false;
                        if (Interlocked.Increment(ref _connected) == clients)
                        {
                            _allConnected.TrySetResult();
                        }
                    }
                }
                else if (line.StartsWith("event:", StringComparison.Ordinal))
                {
                    type = line[6..].Trim();
                }
                else if (line.StartsWith("data:", StringComparison.Ordinal))
                {
                    data = data is null ? line[5..].TrimStart() : data + "\n" + line[5..].TrimStart();
                }
            }
            if (!ct.IsCancellationRequested)
            {
                Fail("the server ended the stream");
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The probe is done.
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            Fail(ex.GetBaseException().Message);
        }
        finally
        {
            if (held)
            {
                opening.Release();
            }
        }
    }

    private void Dispatch(int client, string type, string data, long at)
    {
        if (type is not ("raised" or "cleared"))
        {
            return;
        }
        using var doc = JsonDocument.Parse(data);
        var root = doc.RootElement;
        if (root.TryGetProperty("kind", out var kind) && kind.ValueEquals("tilt")
            && root.TryGetProperty("bin", out var bin) && bin.GetString() is { } id && _roundOf.TryGetValue(id, out var round))
        {
            var receipts = type == "raised" ? _raisedAt : _clearedAt;
            if (Interlocked.CompareExchange(ref receipts[(round * clients) + client], at, 0) == 0)
            {
                if (type == "raised")
                {
                    Interlocked.Increment(ref _raisedCount);
                }
                else
                {
                    Interlocked.Increment(ref _clearedCount);
                }
            }
        }
    }

    private void Fail(string why)
    {
        lock (_failures)
        {
            _failures[why] = _failures.GetValueOrDefault(why) + 1;
        }
    }

    private string Detail()
    {
        lock (_failures)
        {
            return _failures.Count == 0 ? "" : string.Join(", ", _failures.OrderByDescending(kv => kv.Value).Take(5).Select(kv => Invariant($"{kv.Key} ×{kv.Value:N0}")));
        }
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The process's open-file limit (many SSE clients, one socket each; the child api process inherits it).</summary>
internal static partial class OpenFileLimit
{
    private const int RlimitNofile = 7;

    /// <summary>Raises the soft limit to <paramref name="wanted"/> (at most the hard limit); returns (before, after, hard), or null where it cannot be read.</summary>
    public static (ulong Before, ulong After, ulong Hard)? Raise(ulong wanted)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }
        if (getrlimit(RlimitNofile, out var limit) != 0)
        {
            return null;
        }
        var before = limit.Current;
        var target = Math.Min(wanted, limit.Maximum);
        if (target > limit.Current)
        {
            var raised = new RLimit { Current = target, Maximum = limit.Maximum };
            if (setrlimit(RlimitNofile, ref raised) != 0)
            {
                return (before, before, limit.Maximum);
            }
            return (before, target, limit.Maximum);
        }
        return (before, before, limit.Maximum);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getrlimit(int resource, out RLimit limit);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setrlimit(int resource, ref RLimit limit);
}
