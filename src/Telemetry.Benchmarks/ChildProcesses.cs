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
