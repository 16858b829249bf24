using Telemetry.Ingestion.Mqtt;
using System.Diagnostics;
using Telemetry.Ingestion;
using System.Globalization;
using MQTTnet;
using Telemetry.Contracts.Configuration;

namespace Telemetry.Benchmarks;

/// <summary>
/// The ingestion role as a separate process (<c>telemetry run --roles ingestion</c>), as in
/// production, so its memory can be read on its own: peak resident memory is the kernel's
/// high-water mark <c>VmHWM</c> in <c>/proc/{pid}/status</c>.
/// </summary>
internal sealed class IngestionChild : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Queue<string> _lastLines = new();
    private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly MeasuredProcess _measured;
    private long _storedReadings;
    private long _storedChangedAt = Stopwatch.GetTimestamp();

    private IngestionChild(Process process)
    {
        _process = process;
        _measured = new MeasuredProcess(process);
    }

    public int Pid => _process.Id;

    /// <summary><see cref="Stopwatch"/> timestamp of the line saying it subscribed.</summary>
    public long SubscribedAt { get; private set; }

    /// <summary>Its own count of readings stored, from its progress line (every 2 s).</summary>
    public long StoredReadings => Interlocked.Read(ref _storedReadings);

    /// <summary>How long its own count of stored readings has not moved.</summary>
    public TimeSpan StoredUnchangedFor => Stopwatch.GetElapsedTime(Interlocked.Read(ref _storedChangedAt));

    /// <summary>Its latest progress line.</summary>
    public string? LastProgress { get; private set; }

    public bool HasExited => _process.HasExited;

    /// <summary>Peak resident memory seen so far (VmHWM, kB), kept after the process ends.</summary>
    public long PeakRssKb => _measured.PeakRssKb;

    public static IngestionChild Start(IEnumerable<string> configuration, Action<string> echo)
    {
        var (file, leading) = ChildProcesses.Executable();
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Directory.GetCurrentDirectory(),
        };
        // What deploy/Dockerfile sets for a production process: the runtime reads the gen1 budget cap only from
        // the environment (docs/benchmarks.md, "Memory"). An operator's own value is kept.
        if (Environment.GetEnvironmentVariable("DOTNET_GCGen1MaxBudget") is null)
        {
            start.Environment["DOTNET_GCGen1MaxBudget"] = "0x1000000";
        }
        // Two glibc malloc arenas instead of up to 8 per core: the native memory of the writes (compression,
        // sockets) otherwise spreads over many arenas that keep what they freed (docs/benchmarks.md, "Memory").
        if (Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX") is null)
        {
            start.Environment["MALLOC_ARENA_MAX"] = "2";
        }
        foreach (var a in leading)
        {
            start.ArgumentList.Add(a);
        }
        start.ArgumentList.Add("run");
        start.ArgumentList.Add("--roles");
        start.ArgumentList.Add("ingestion");
        start.ArgumentList.Add("--Host:ProgressInterval=00:00:02");
        // Machine-readable state: one JSON object per line, printed at once when the connection changes.
        start.ArgumentList.Add("--Host:ProgressFormat=json");
        // Within the 15 s the benchmark grants a stopping child, so its drain and DISCONNECT finish.
        start.ArgumentList.Add("--Host:ShutdownTimeout=00:00:10");
        foreach (var a in configuration)
        {
            start.ArgumentList.Add(a);
        }
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var child = new IngestionChild(process);
        process.OutputDataReceived += (_, e) => child.OnLine(e.Data, echo);
        process.ErrorDataReceived += (_, e) => child.OnLine(e.Data, echo);
        process.Exited += (_, _) => child._subscribed.TrySetException(new InvalidOperationException("the ingestion process exited"));
        if (!process.Start())
        {
            throw new InvalidOperationException($"could not start {file}");
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    private void OnLine(string? line, Action<string> echo)
    {
        if (line is null)
        {
            return;
        }
        lock (_lastLines)
        {
            _lastLines.Enqueue(line);
            while (_lastLines.Count > 40)
            {
                _lastLines.Dequeue();
            }
        }
        if (IngestionSnapshot.TryParse(line) is { } status)
        {
            LastProgress = status.ToText();
            if (status.Connected)
            {
                if (SubscribedAt == 0)
                {
                    SubscribedAt = Stopwatch.GetTimestamp();
                }
                _subscribed.TrySetResult();
            }
            if (status.ReadingsStored != Interlocked.Exchange(ref _storedReadings, status.ReadingsStored))
            {
                Interlocked.Exchange(ref _storedChangedAt, Stopwatch.GetTimestamp());
            }
            return;
        }
        if (line.Contains(" warn:", StringComparison.Ordinal) || line.Contains(" fail:", StringComparison.Ordinal) || line.Contains(" crit:", StringComparison.Ordinal))
        {
            echo("  [ingestion] " + line);
        }
    }

    public string LastLines()
    {
        lock (_lastLines)
        {
            return string.Join(Environment.NewLine, _lastLines);
        }
    }

    public async Task WaitSubscribedAsync(TimeSpan timeout, CancellationToken ct)
    {
        try
        {
            await _subscribed.Task.WaitAsync(timeout, ct);
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            throw new InvalidOperationException($"the ingestion process did not subscribe ({ex.Message}); its last output:{Environment.NewLine}{LastLines()}", ex);
        }
    }

    /// <summary>Reads VmHWM (peak resident set) from /proc while the process lives.</summary>
    public void Sample() => _measured.Sample();

    /// <summary>Stops the process as an operator would (SIGTERM), then kills it if it hangs.</summary>
    public Task StopAsync() => _measured.StopAsync();

    public ValueTask DisposeAsync() => _measured.DisposeAsync();

    /// <summary>Removes the ingestion client id's session (and anything queued for it) from the broker: clean start, no expiry.</summary>
    public static async Task RemoveSessionAsync(MqttEndpoint broker, string? username, string? password, string clientId, CancellationToken ct)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        var options = new MqttClientOptionsBuilder()
            .ForBroker(broker, clientId, username, password)
            .WithCleanStart(true)
            .WithSessionExpiryInterval(0)
            .WithTimeout(TimeSpan.FromSeconds(10));
        await client.ConnectAsync(options.Build(), ct);
        await client.DisconnectAsync(new MqttClientDisconnectOptions(), ct);
    }
}
