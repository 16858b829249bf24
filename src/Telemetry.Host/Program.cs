using Telemetry.Contracts.Configuration;
using System.CommandLine;
using System.Runtime.InteropServices;
using Telemetry.Host.Commands;
using Telemetry.Host.Hosting;

var root = new RootCommand("Telemetry: fill and weight readings from smart recycling bins — ingestion, scheduling, routing and dashboards.")
{
    DemoCommand.Create(),
    SimulateCommand.Create(),
    RunCommand.Create(),
    new Command("bench", "Benchmarks.") { BenchIngestCommand.Create() },
};

// Ctrl+C and SIGTERM (docker stop, systemd) both stop a command cleanly: its token is cancelled
// and it finishes its own shutdown (flush, disconnect with Last Will) instead of being cut off.
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
catch (ConfigurationException ex)
{
    await Console.Error.WriteLineAsync(ex.Message);
    return 2;
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    return 0;
}
