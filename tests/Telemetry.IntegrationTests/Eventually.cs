using System.Diagnostics;
using Telemetry.IntegrationTests.Ingestion;

namespace Telemetry.IntegrationTests;

/// <summary>Waits on a condition with a deadline, watching the child processes the condition depends on.</summary>
internal static class Eventually
{
    /// <summary>
    /// Polls <paramref name="condition"/> every <paramref name="poll"/> until it holds. Throws at once when a watched process
    /// exits (naming it, with its output), and <see cref="TimeoutException"/> after <paramref name="timeout"/> with every watched
    /// process's output.
    /// </summary>
    public static async Task UntilAsync(
        Func<Task<bool>> condition, string what, TimeSpan timeout, TimeSpan poll, params (string Name, IngestionProcess? Process)[] watched)
    {
        var until = Stopwatch.StartNew();
        while (!await condition())
        {
            foreach (var (name, process) in watched)
            {
                if (process is { HasExited: true })
                {
                    throw new InvalidOperationException($"{name} exited with {process.ExitCode} before {what}:\n{process.Output}");
                }
            }
            if (until.Elapsed > timeout)
            {
                throw new TimeoutException($"not within {timeout}: {what}{string.Concat(watched.Where(w => w.Process is not null).Select(w => $"\n{w.Name}:\n{w.Process!.Output}"))}");
            }
            await Task.Delay(poll);
        }
    }
}
