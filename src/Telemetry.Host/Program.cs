using System.CommandLine;
using System.Runtime.InteropServices;
using Telemetry.Host.Commands;
using Telemetry.Host.Hosting;

var root = new RootCommand("Telemetry: fill and weight readings from smart recycling bins — ingestion, scheduling, routing and dashboards.")
{
    DemoCommand.Create(),
    SimulateCommand.Create(),
    RunCommand.Create(),
    HealthCommand.Create(),
    KeysCommand.Create(),
    new Command("bench", "Benchmarks.") { BenchIngestCommand.Create(), BenchPredictCommand.Create(), BenchApiCommand.Create(), BenchScheduleCommand.Create(), BenchRouteCommand.Create(), BenchLoopCommand.Create() },
};

// Ctrl+C and SIGTERM (docker stop, systemd) both stop a command cleanly: its token is cancelled and it
// finishes its own shutdown (the host drains within Host:ShutdownTimeout; the simulator flushes).
using var stop = new CancellationTokenSource();
void OnSignal(PosixSignalContext context)
{
    context.Cancel = true;
    stop.Cancel();
}
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

try
{
    var invocation = new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
    return await root.Parse(args).InvokeAsync(invocation, stop.Token);
}
catch (Exception ex) when (TelemetryHost.ConfigurationProblem(ex) is { } line)
{
    // A wrong setting: one line naming the key, exit code 2.
    await Console.Error.WriteLineAsync(line);
    return TelemetryHost.ExitConfiguration;
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    return 0;
}
