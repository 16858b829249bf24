using System.Diagnostics;
using System.Globalization;

namespace Telemetry.Benchmarks;

/// <summary>What the benchmarks' child processes (<c>telemetry run --roles …</c>) share: how to start this same build, and their peak memory.</summary>
internal static class ChildProcesses
{
    /// <summary>How to run this same build: the dotnet host with telemetry.dll, or the apphost itself.</summary>
    public static (string File, string[] Leading) Executable()
    {
        var self = Environment.ProcessPath ?? "dotnet";
        var dll = Path.Combine(AppContext.BaseDirectory, "telemetry.dll");
        if (Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return (self, [dll]);
        }
        return File.Exists(self) && Path.GetFileNameWithoutExtension(self) == "telemetry" ? (self, []) : ("dotnet", [dll]);
    }

    /// <summary>
    /// The process's peak resident memory so far, in kB: the kernel's high-water mark <c>VmHWM</c> from
    /// <c>/proc/{pid}/status</c>; null when it cannot be read (the process ended, or not Linux).
    /// </summary>
    public static long? PeakRssKb(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    return long.Parse(line.AsSpan(6).Trim().ToString().Split(' ')[0], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            // The process ended between the check and the read, or /proc is not there.
        }
        return null;
    }
}

/// <summary>
/// A child process of the benchmark: its peak resident memory (VmHWM, sampled while it lives and kept after it ends),
/// a stop as an operator would do it (SIGTERM, then a kill if it hangs), and a kill on dispose.
/// </summary>
internal sealed class MeasuredProcess(Process process) : IAsyncDisposable
{
    private long _peakRssKb;

    public Process Process => process;

    /// <summary>Peak resident memory seen so far (VmHWM, kB), kept after the process ends.</summary>
    public long PeakRssKb
    {
        get
        {
            Sample();
            return Interlocked.Read(ref _peakRssKb);
        }
    }

    /// <summary>Reads VmHWM (peak resident set) from /proc while the process lives.</summary>
    public void Sample()
    {
        try
        {
            if (process.HasExited)
            {
                return;
            }
            if (ChildProcesses.PeakRssKb(process.Id) is { } kb && kb > Interlocked.Read(ref _peakRssKb))
            {
                Interlocked.Exchange(ref _peakRssKb, kb);
            }
        }
        catch (InvalidOperationException)
        {
            // The process object has no process (it ended and was released).
        }
    }

    /// <summary>SIGTERM (the host stops cleanly: ingestion disconnects keeping its session), then a kill after 15 s.</summary>
    public async Task StopAsync()
    {
        Sample();
        if (process.HasExited)
        {
            return;
        }
        try
        {
            using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false });
            if (kill is not null)
            {
                await kill.WaitForExitAsync();
            }
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            Kill();
        }
    }

    private void Kill()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // Gave up waiting; it was killed.
        }
        process.Dispose();
    }
}

