using System.Collections.Concurrent;
using System.Net;

namespace Telemetry.Api.Access;

/// <summary>
/// CONTRACT §6: after <see cref="Limit"/> failed authentications from one address within a minute, further attempts
/// from it get 429 for a minute. Only failures count; a request that authenticates is never limited. On real time
/// (a security window, not simulated time). At most <see cref="MaxAddresses"/> addresses are tracked: beyond that the
/// oldest entries are dropped, so a flood of spoofed sources cannot grow memory without bound.
/// </summary>
public sealed class FailedAuthentications(TimeProvider time)
{
    public const int Limit = 10;
    public const int MaxAddresses = 100_000;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan BlockFor = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public FailedAuthentications() : this(TimeProvider.System)
    {
    }

    /// <summary>When the address may try again, if it is blocked now.</summary>
    public DateTimeOffset? BlockedUntil(IPAddress? address)
    {
        if (!_entries.TryGetValue(Key(address), out var entry))
        {
            return null;
        }
        lock (entry)
        {
            return entry.BlockedUntil is { } until && until > time.GetUtcNow() ? until : null;
        }
    }

    public void RecordFailure(IPAddress? address)
    {
        var now = time.GetUtcNow();
        if (_entries.Count >= MaxAddresses)
        {
            Prune(now);
        }
        var entry = _entries.GetOrAdd(Key(address), _ => new Entry());
        lock (entry)
        {
            entry.LastFailure = now;
            while (entry.Failures.Count > 0 && now - entry.Failures.Peek() >= Window)
            {
                entry.Failures.Dequeue();
            }
            entry.Failures.Enqueue(now);
            if (entry.Failures.Count >= Limit)
            {
                entry.BlockedUntil = now + BlockFor;
                entry.Failures.Clear();
            }
        }
    }

    private void Prune(DateTimeOffset now)
    {
        foreach (var (key, entry) in _entries)
        {
            bool stale;
            lock (entry)
            {
                stale = now - entry.LastFailure >= Window && (entry.BlockedUntil is null || entry.BlockedUntil <= now);
            }
            if (stale)
            {
                _entries.TryRemove(key, out _);
            }
        }
        // Still full of live entries (a flood): forget the oldest half of those not blocked rather than grow; a
        // blocked address stays blocked.
        if (_entries.Count >= MaxAddresses)
        {
            var unblocked = _entries.Where(e => { lock (e.Value) { return e.Value.BlockedUntil is null || e.Value.BlockedUntil <= now; } });
            foreach (var key in unblocked.OrderBy(e => e.Value.LastFailure).Take(MaxAddresses / 2).Select(e => e.Key).ToList())
            {
                _entries.TryRemove(key, out _);
            }
        }
    }

    /// <summary>An IPv4 address as itself; an IPv6 one by its /64 (one host usually has a whole /64 to pick from).</summary>
    private static string Key(IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !IPAddress.IsLoopback(address))
        {
            var bytes = address.GetAddressBytes();
            Array.Clear(bytes, 8, 8);
            return new IPAddress(bytes) + "/64";
        }
        return address.ToString();
    }

    private sealed class Entry
    {
        public Queue<DateTimeOffset> Failures { get; } = new();
        public DateTimeOffset LastFailure { get; set; }
        public DateTimeOffset? BlockedUntil { get; set; }
    }
}
