namespace Telemetry.Storage;

/// <summary>Which store errors a reader retries.</summary>
public static class StoreRetry
{
    /// <summary>
    /// Whatever the store throws is retried (the caller keeps serving from memory and reports it on /readyz), except a wrong
    /// setting (a refused credential: the process stops naming the key), running out of memory, and the stop itself.
    /// </summary>
    public static bool Retryable(Exception ex, CancellationToken stopping) =>
        !stopping.IsCancellationRequested && ex is not (Telemetry.Contracts.Configuration.ConfigurationException or OutOfMemoryException);
}
