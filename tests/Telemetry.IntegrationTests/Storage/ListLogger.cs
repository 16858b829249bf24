using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Telemetry.IntegrationTests.Storage;

/// <summary>Keeps every log line, to assert what an operator would read.</summary>
internal sealed class ListLogger : ILogger
{
    public ConcurrentQueue<(LogLevel Level, string Text)> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue((logLevel, formatter(state, exception)));

    public bool Has(LogLevel level, string words) => Entries.Any(e => e.Level == level && e.Text.Contains(words, StringComparison.Ordinal));
}
