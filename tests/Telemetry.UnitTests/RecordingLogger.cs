using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Telemetry.UnitTests;

/// <summary>Keeps every log entry, so a test can assert what an operator would have been told.</summary>
internal sealed class RecordingLogger : ILogger
{
    public ConcurrentQueue<(LogLevel Level, string Message)> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        Entries.Enqueue((logLevel, formatter(state, exception)));
    }

    public IReadOnlyList<string> Warnings(string containing) =>
        [.. Entries.Where(e => e.Level == LogLevel.Warning && e.Message.Contains(containing, StringComparison.Ordinal)).Select(e => e.Message)];
}
