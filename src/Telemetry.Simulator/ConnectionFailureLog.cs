using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Telemetry.Simulator;

/// <summary>
/// Reports failed connection attempts without flooding the console: the first failure with a reason
/// is logged at once, naming the client ("JY-007: connection refused: NotAuthorized"); further
/// failures with the same reason are counted and logged as one summary a little later (how many
/// attempts, by how many clients, the first few ids: the whole fleet failing shows within seconds),
/// then one per interval while they go on. A reason that stops failing for a whole interval is
/// forgotten, so its next occurrence is logged at once again.
/// </summary>
internal sealed class ConnectionFailureLog(ILogger logger, TimeProvider realTime, TimeSpan interval)
{
    private const int IdsShown = 5;

    // The first summary after the first failure: long enough to gather a fleet's simultaneous connects.
    private static readonly TimeSpan FirstSummary = TimeSpan.FromSeconds(2);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Pending> _byReason = new(StringComparer.Ordinal);

    public void Failed(string clientId, string reason)
    {
        var now = realTime.GetUtcNow();
        lock (_gate)
        {
            if (!_byReason.TryGetValue(reason, out var pending))
            {
                _byReason[reason] = new Pending(now, FirstSummary < interval ? FirstSummary : interval);
                logger.LogWarning("{Client}: {Reason}", clientId, reason);
                return;
            }
            pending.Attempts++;
            if (pending.Clients.Add(clientId))
            {
                pending.Order.Add(clientId);
            }
        }
        Flush();
    }

    /// <summary>Logs the summaries whose interval has passed; with <paramref name="all"/>, every pending one (at the end of a run).</summary>
    public void Flush(bool all = false)
    {
        var now = realTime.GetUtcNow();
        lock (_gate)
        {
            foreach (var (reason, pending) in _byReason.ToList())
            {
                if (!all && now - pending.Since < pending.Window)
                {
                    continue;
                }
                if (pending.Attempts == 0)
                {
                    _byReason.Remove(reason);
                    continue;
                }
                var ids = string.Join(", ", pending.Order.Take(IdsShown)) + (pending.Order.Count > IdsShown ? ", …" : "");
                logger.LogWarning("{Reason}: {Attempts} more failed attempt(s) by {Clients} client(s) in the last {Seconds} s ({Ids})",
                    reason, pending.Attempts, pending.Clients.Count, Math.Max(1, Math.Ceiling((now - pending.Since).TotalSeconds)).ToString(CultureInfo.InvariantCulture), ids);
                _byReason[reason] = new Pending(now, interval);
            }
        }
    }

    private sealed class Pending(DateTimeOffset since, TimeSpan window)
    {
        public DateTimeOffset Since { get; } = since;
        public TimeSpan Window { get; } = window;
        public int Attempts { get; set; }
        public HashSet<string> Clients { get; } = new(StringComparer.Ordinal);
        public List<string> Order { get; } = [];
    }
}
