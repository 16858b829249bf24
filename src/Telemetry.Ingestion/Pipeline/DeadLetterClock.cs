namespace Telemetry.Ingestion.Pipeline;

/// <summary>
/// Every dead letter is a point of its own (CONTRACT §3): one that would share its tags and time
/// with an earlier one is moved 1 µs later. Tags are (reason, bin); the ingester tag is ours alone.
/// </summary>
internal sealed class DeadLetterClock
{
    private const long TicksPerMicrosecond = 10;
    private readonly Dictionary<(string Reason, string Bin), long> _last = [];

    public DateTimeOffset Next(string reason, string bin, DateTimeOffset receivedAt)
    {
        var us = receivedAt.UtcTicks / TicksPerMicrosecond;
        if (_last.TryGetValue((reason, bin), out var last) && us <= last)
        {
            us = last + 1;
        }
        if (_last.Count > 100_000)
        {
            _last.Clear(); // bounded memory; receive times move on, so old keys are no longer needed
        }
        _last[(reason, bin)] = us;
        return new DateTimeOffset(us * TicksPerMicrosecond, TimeSpan.Zero);
    }
}
