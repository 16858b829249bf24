using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Telemetry.Simulator;

namespace Telemetry.UnitTests;

public class ConnectionFailureLogTests
{
    private const string Refused = "connection refused: NotAuthorized";

    [Fact]
    public void First_failure_is_logged_at_once_with_its_client_and_repeats_are_summarized()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 8, 0, 0, TimeSpan.Zero));
        var logger = new ListLogger();
        var log = new ConnectionFailureLog(logger, time, TimeSpan.FromSeconds(10));

        // The whole fleet refused for one wrong password: one line, naming the first device and the reason.
        for (var i = 1; i <= 55; i++)
        {
            log.Failed($"JY-{i:D3}", Refused);
        }
        Assert.Equal(["JY-001: connection refused: NotAuthorized"], logger.Lines);

        // Soon after, one summary says how far it goes.
        time.Advance(TimeSpan.FromMilliseconds(1_999));
        log.Flush();
        Assert.Single(logger.Lines);
        time.Advance(TimeSpan.FromMilliseconds(1));
        log.Flush();
        Assert.Equal(2, logger.Lines.Count);
        Assert.Equal("connection refused: NotAuthorized: 54 more failed attempt(s) by 54 client(s) in the last 2 s (JY-002, JY-003, JY-004, JY-005, JY-006, …)", logger.Lines[1]);

        // While the retries go on, one summary per interval, however many attempts.
        for (var round = 0; round < 5; round++)
        {
            time.Advance(TimeSpan.FromSeconds(1.9));
            for (var i = 1; i <= 55; i++)
            {
                log.Failed($"JY-{i:D3}", Refused);
            }
        }
        Assert.Equal(2, logger.Lines.Count);
        time.Advance(TimeSpan.FromSeconds(0.5));
        log.Flush();
        Assert.Equal(3, logger.Lines.Count);
        Assert.StartsWith("connection refused: NotAuthorized: 275 more failed attempt(s) by 55 client(s) in the last 10 s (JY-001, ", logger.Lines[2], StringComparison.Ordinal);

        // Quiet for a whole interval: forgotten, so the next failure shows at once again.
        time.Advance(TimeSpan.FromSeconds(10));
        log.Flush();
        Assert.Equal(3, logger.Lines.Count);
        log.Failed("JY-007", Refused);
        Assert.Equal(4, logger.Lines.Count);
        Assert.Equal("JY-007: connection refused: NotAuthorized", logger.Lines[3]);
    }

    [Fact]
    public void Each_reason_is_reported_on_its_own_and_the_end_of_a_run_flushes_what_is_pending()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 8, 0, 0, TimeSpan.Zero));
        var logger = new ListLogger();
        var log = new ConnectionFailureLog(logger, time, TimeSpan.FromSeconds(10));
        log.Failed("JY-001", Refused);
        log.Failed("JY-002", "cannot connect to mqtt://127.0.0.1:1883: Connection refused");
        log.Failed("JY-003", Refused);
        Assert.Equal(["JY-001: connection refused: NotAuthorized", "JY-002: cannot connect to mqtt://127.0.0.1:1883: Connection refused"], logger.Lines);

        time.Advance(TimeSpan.FromMilliseconds(500));
        log.Flush(all: true);
        Assert.Equal(3, logger.Lines.Count);
        Assert.Equal("connection refused: NotAuthorized: 1 more failed attempt(s) by 1 client(s) in the last 1 s (JY-003)", logger.Lines[2]);
    }

    /// <summary>Records formatted messages; the level is always Warning here, so only the text matters.</summary>
    private sealed class ListLogger : ILogger
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add(formatter(state, exception));
    }
}
