using Telemetry.Contracts.Configuration;

namespace Telemetry.Scheduling.Hosting;

/// <summary>
/// Refuses a second scheduler on the in-memory bus: two processes could not share a lease, and both would act. The first holds
/// an exclusive lock on a file beside its store (the operating system releases it when the process ends, however it ends).
/// </summary>
public sealed class SchedulerLock : IDisposable
{
    private readonly FileStream _file;

    private SchedulerLock(FileStream file) => _file = file;

    public static SchedulerLock Acquire(string path)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            file.SetLength(0);
            using (var w = new StreamWriter(file, leaveOpen: true))
            {
                w.Write(Environment.ProcessId);
            }
            file.Flush();
            return new SchedulerLock(file);
        }
        catch (IOException ex)
        {
            throw new ConfigurationException("Bus:Transport",
                $"another scheduler already runs on the in-memory bus with this store (it holds {path}: {ex.Message}); " +
                "several schedulers need Bus:Transport=rabbitmq, where one acts and the others stand by");
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new ConfigurationException("Scheduling:LockPath", $"cannot write the scheduler's lock file {path}: {ex.Message}");
        }
    }

    public void Dispose() => _file.Dispose();
}
