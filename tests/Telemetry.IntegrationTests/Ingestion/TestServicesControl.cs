using System.Diagnostics;

namespace Telemetry.IntegrationTests.Ingestion;

/// <summary>Stops and starts the test services (scripts/services.sh), for fault tests.</summary>
internal static class TestServicesControl
{
    public static Task StopAsync(string service) => RunAsync("stop-one", service);

    public static Task StartAsync(string service) => RunAsync("start-one", service);

    private static async Task RunAsync(string verb, string service)
    {
        var script = Environment.GetEnvironmentVariable("TELEMETRY_TEST_SERVICES_SCRIPT")
            ?? throw new InvalidOperationException("TELEMETRY_TEST_SERVICES_SCRIPT is not set: run the tests through scripts/test.sh");
        var dir = Environment.GetEnvironmentVariable("TELEMETRY_TEST_SERVICES_DIR")
            ?? throw new InvalidOperationException("TELEMETRY_TEST_SERVICES_DIR is not set: run the tests through scripts/test.sh");
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { script, verb, dir, service })
        {
            info.ArgumentList.Add(a);
        }
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"services.sh {verb} {service} failed ({p.ExitCode}): {await stdout}{await stderr}");
        }
    }
}
