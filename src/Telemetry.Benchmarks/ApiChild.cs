using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Telemetry.Benchmarks;

/// <summary>
/// The api role as a separate process (<c>telemetry run --roles …</c>: the api, and for the alert stream ingestion and the
/// scheduler with the embedded broker), as in production, so the benchmark's own
/// work (the load generator) and the server's are apart and the server's memory can be read on its own (VmHWM).
/// </summary>
internal sealed class ApiChild : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Queue<string> _lastLines = new();
    private readonly MeasuredProcess _measured;
    private volatile bool _ready;

    private ApiChild(Process process)
    {
        _process = process;
        _measured = new MeasuredProcess(process);
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Whether <c>/readyz</c> has answered 200.</summary>
    public bool Ready => _ready;

    /// <summary>Peak resident memory seen so far (VmHWM, kB), kept after the process ends.</summary>
    public long PeakRssKb => _measured.PeakRssKb;

    /// <summary>Starts <c>telemetry run --roles <paramref name="roles"/></c> of this same build with <paramref name="configuration"/> (options and <c>--Key=value</c> tokens; later ones win).</summary>
    public static ApiChild Start(string roles, IEnumerable<string> configuration, Action<string> echo)
    {
        var (file, leading) = ChildProcesses.Executable();
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Directory.GetCurrentDirectory(),
        };
        foreach (var a in leading)
        {
            start.ArgumentList.Add(a);
        }
        start.ArgumentList.Add("run");
        start.ArgumentList.Add("--roles");
        start.ArgumentList.Add(roles);
        // Within the 15 s the benchmark grants a stopping child.
        start.ArgumentList.Add("--Host:ShutdownTimeout=00:00:10");
        foreach (var a in configuration)
        {
            start.ArgumentList.Add(a);
        }
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var child = new ApiChild(process);
        process.OutputDataReceived += (_, e) => child.OnLine(e.Data, echo);
        process.ErrorDataReceived += (_, e) => child.OnLine(e.Data, echo);
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
        // Until it is ready, its health checks say so on every poll of /readyz: that is what is being waited for.
        if (!Ready && line.Contains("DefaultHealthCheckService", StringComparison.Ordinal))
        {
            return;
        }
        if (line.Contains(" warn:", StringComparison.Ordinal) || line.Contains(" fail:", StringComparison.Ordinal) || line.Contains(" crit:", StringComparison.Ordinal))
        {
            echo("  [api] " + line);
        }
    }

    public string LastLines()
    {
        lock (_lastLines)
        {
            return string.Join(Environment.NewLine, _lastLines);
        }
    }

    /// <summary>Polls <c>/readyz</c> until it answers 200 (the fleet's state is loaded and the store answers).</summary>
    public async Task WaitReadyAsync(HttpClient http, Uri baseUri, TimeSpan timeout, CancellationToken ct)
    {
        var ready = new Uri(baseUri, "/readyz");
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var last = "no answer yet";
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"the api process exited with code {_process.ExitCode.ToString(CultureInfo.InvariantCulture)}; its last output:{Environment.NewLine}{LastLines()}");
            }
            try
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
                attempt.CancelAfter(TimeSpan.FromSeconds(2));
                using var response = await http.GetAsync(ready, attempt.Token);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    _ready = true;
                    return;
                }
                last = $"HTTP {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}";
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                last = "no answer within 2 s";
            }
            await Task.Delay(200, ct);
        }
        throw new InvalidOperationException($"the api process was not ready within {timeout.TotalSeconds:0} s (/readyz: {last}); its last output:{Environment.NewLine}{LastLines()}");
    }

    /// <summary>Reads VmHWM (peak resident set) from /proc while the process lives.</summary>
    public void Sample() => _measured.Sample();

    /// <summary>Stops the process as an operator would (SIGTERM), then kills it if it hangs.</summary>
    public Task StopAsync() => _measured.StopAsync();

    public ValueTask DisposeAsync() => _measured.DisposeAsync();
}
