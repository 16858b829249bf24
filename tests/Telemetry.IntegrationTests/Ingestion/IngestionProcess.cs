using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Telemetry.Ingestion;

namespace Telemetry.IntegrationTests.Ingestion;

/// <summary>
/// <c>telemetry run --roles ingestion</c> as a real child process, so a test can kill it (SIGKILL)
/// or stop it (SIGTERM) like an operator or a crash would.
/// </summary>
internal sealed partial class IngestionProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly ConcurrentQueue<IngestionSnapshot> _statuses = new();

    private IngestionProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }
            _output.Enqueue(e.Data);
            if (IngestionSnapshot.TryParse(e.Data) is { } status)
            {
                _statuses.Enqueue(status);
            }
        };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { _output.Enqueue("ERR " + e.Data); } };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Output => string.Join('\n', _output);

    /// <summary>Every status line the process printed (<c>Host:ProgressFormat=json</c>), oldest first.</summary>
    public IReadOnlyList<IngestionSnapshot> Statuses => [.. _statuses];

    public int ExitCode => _process.ExitCode;

    public static async Task<IngestionProcess> StartAsync(IReadOnlyDictionary<string, string> settings, bool waitConnected = true, string roles = "ingestion")
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
        info.ArgumentList.Add(roles);
        foreach (var (key, value) in settings)
        {
            info.ArgumentList.Add($"--{key}={value}");
        }
        info.ArgumentList.Add("--Host:ProgressFormat=json");
        info.ArgumentList.Add("--Host:ProgressInterval=00:00:01");
        info.Environment["Logging__LogLevel__Default"] = "Information";
        var p = new IngestionProcess(Process.Start(info) ?? throw new InvalidOperationException("could not start telemetry"));
        if (waitConnected)
        {
            await p.WaitForStatusAsync(s => s.Connected, "connected and subscribed", TimeSpan.FromSeconds(60));
        }
        return p;
    }

    /// <summary>Waits for a status line that satisfies <paramref name="condition"/>; returns it.</summary>
    public async Task<IngestionSnapshot> WaitForStatusAsync(Func<IngestionSnapshot, bool> condition, string what, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_statuses.LastOrDefault(condition) is { } status)
            {
                return status;
            }
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"ingestion exited with {_process.ExitCode} before it was {what}:\n{Output}");
            }
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"ingestion was not {what} within {timeout}:\n{Output}");
            }
            await Task.Delay(50);
        }
    }

    /// <summary>Waits for the process to exit by itself; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"ingestion did not exit within {timeout}:\n{Output}");
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
        return _statuses.LastOrDefault()?.Received ?? 0;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await KillAsync();
        }
        _process.Dispose();
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int signal);
}
