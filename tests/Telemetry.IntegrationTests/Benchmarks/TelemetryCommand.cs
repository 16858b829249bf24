using System.Diagnostics;
using System.Text.Json;
using Xunit.Abstractions;

namespace Telemetry.IntegrationTests.Benchmarks;

/// <summary>What a <c>telemetry</c> command run as a child process printed, and how it ended.</summary>
internal sealed record CommandResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>The JSON object on the last line of the output (the benchmarks' result).</summary>
    public JsonElement LastJson()
    {
        using var json = JsonDocument.Parse(Stdout.TrimEnd().Split('\n')[^1]);
        return json.RootElement.Clone();
    }
}

/// <summary>Runs the built <c>telemetry</c> as an operator does (<c>dotnet telemetry.dll …</c>), its output in the test's log.</summary>
internal static class TelemetryCommand
{
    /// <summary>Runs it with <paramref name="args"/>; killed (with its children) and the test failed past <paramref name="timeout"/>.</summary>
    public static async Task<CommandResult> RunAsync(ITestOutputHelper output, TimeSpan timeout, IEnumerable<string> args, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "telemetry.dll"));
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        var text = await stdout;
        var error = await stderr;
        output.WriteLine(text);
        output.WriteLine(error);
        return new CommandResult(process.ExitCode, text, error);
    }
}
