using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Telemetry.IntegrationTests.Browser;

/// <summary>
/// <c>telemetry demo</c> as a real child process: the embedded MQTT broker and the dashboard on free loopback ports,
/// SQLite at a given path, the keys it prints read from its console. Disposing stops it (SIGTERM, then kill).
/// </summary>
internal sealed partial class DemoProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly ConcurrentDictionary<string, string> _keys = new(StringComparer.Ordinal);

    private DemoProcess(Process process, Uri baseAddress, int mqttPort)
    {
        _process = process;
        BaseAddress = baseAddress;
        MqttPort = mqttPort;
        _process.OutputDataReceived += (_, e) => OnLine(e.Data, "");
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data, "ERR ");
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public Uri BaseAddress { get; }

    public int MqttPort { get; }

    public string Output => string.Join('\n', _output);

    /// <summary>The key the demo printed for <paramref name="role"/>.</summary>
    public string Key(string role) => _keys.TryGetValue(role, out var key) ? key : throw new InvalidOperationException($"the demo printed no {role} key:\n{Output}");

    public static async Task<DemoProcess> StartAsync(IEnumerable<string> arguments, TimeSpan timeout)
    {
        var port = TestServices.FreePort();
        var mqttPort = TestServices.FreePort();
        var baseAddress = new Uri($"http://127.0.0.1:{port}");
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "telemetry.dll"));
        info.ArgumentList.Add("demo");
        info.ArgumentList.Add("--mqtt-port");
        info.ArgumentList.Add(mqttPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        info.ArgumentList.Add($"--Urls={baseAddress.GetLeftPart(UriPartial.Authority)}");
        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("Api__", StringComparison.OrdinalIgnoreCase) || k.Equals("ASPNETCORE_URLS", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            info.Environment.Remove(name);
        }
        var demo = new DemoProcess(Process.Start(info) ?? throw new InvalidOperationException("could not start telemetry demo"), baseAddress, mqttPort);
        try
        {
            await demo.WaitReadyAsync(timeout);
        }
        catch
        {
            await demo.DisposeAsync();
            throw;
        }
        return demo;
    }

    private void OnLine(string? line, string prefix)
    {
        if (line is null)
        {
            return;
        }
        _output.Enqueue(prefix + line);
        if (KeyLine().Match(line) is { Success: true } m)
        {
            _keys[m.Groups[1].Value] = m.Groups[2].Value;
        }
    }

    // Ready when /readyz answers 200 and the three keys it prints have been read.
    private Task WaitReadyAsync(TimeSpan timeout) =>
        Api.ApiProcess.WaitReadyAsync(BaseAddress, _process, "the demo", () => Output, () => _keys.Count == 3 ? null : $"{_keys.Count} of 3 keys read", timeout);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // SIGTERM: the demo stops as on Ctrl+C (the browser pages are closed first, so no stream holds it up).
            _ = Kill(_process.Id, 15);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        _process.Dispose();
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    [GeneratedRegex(@"^\s+(analyst|dispatcher|admin)\s+(\S{20,})\s*$")]
    private static partial Regex KeyLine();
}
