using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Telemetry.IntegrationTests.Ingestion;

/// <summary>
/// <c>telemetry run --roles ingestion</c> as a real child process, so a test can kill it (SIGKILL)
/// or stop it (SIGTERM) like an operator or a crash would.
/// </summary>
internal sealed partial class IngestionProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private IngestionProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) { _output.Enqueue(e.Data); } };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { _output.Enqueue("ERR " + e.Data); } };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Output => string.Join('\n', _output);

    public static async Task<IngestionProcess> StartAsync(IReadOnlyDictionary<string, string> settings)
    {
        var p = Launch(settings);
        await p.WaitForOutputAsync("subscribed to", TimeSpan.FromSeconds(60));
        return p;
    }

    /// <summary>Starts the process without waiting for it to subscribe (for settings it should refuse).</summary>
    public static IngestionProcess Launch(IReadOnlyDictionary<string, string> settings)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "telemetry.dll");
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        info.ArgumentList.Add(dll);
        info.ArgumentList.Add("run");
        info.ArgumentList.Add("--roles");
        info.ArgumentList.Add("ingestion");
        foreach (var (key, value) in settings)
        {
            info.ArgumentList.Add($"--{key}={value}");
        }
        info.Environment["Logging__LogLevel__Default"] = "Information";
        return new IngestionProcess(Process.Start(info) ?? throw new InvalidOperationException("could not start telemetry"));
    }

    /// <summary>Waits for the process to end on its own and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"ingestion still running after {timeout}:\n{Output}");
        }
        _process.WaitForExit(); // drains the redirected output
        return _process.ExitCode;
    }

    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (!_output.Any(l => l.Contains(text, StringComparison.Ordinal)))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"ingestion exited with {_process.ExitCode} before '{text}':\n{Output}");
            }
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"ingestion did not print '{text}' within {timeout}:\n{Output}");
            }
            await Task.Delay(50);
        }
    }

    /// <summary>SIGKILL: no shutdown code runs, nothing is flushed or acknowledged.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, then wait for a clean exit; returns the messages it reported received.</summary>
    public async Task<long> StopAsync()
    {
        if (!_process.HasExited)
        {
            _ = SysKill(_process.Id, 15);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _process.WaitForExitAsync(timeout.Token);
        }
        _process.WaitForExit(); // drains the redirected output
        var last = _output.LastOrDefault(l => l.Contains("| received ", StringComparison.Ordinal)) ?? "";
        var m = ReceivedPattern().Match(last);
        return m.Success ? long.Parse(m.Groups[1].Value.Replace(",", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await KillAsync();
        }
        _process.Dispose();
    }

    [GeneratedRegex(@"\| received ([0-9,]+)")]
    private static partial Regex ReceivedPattern();

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int signal);
}
