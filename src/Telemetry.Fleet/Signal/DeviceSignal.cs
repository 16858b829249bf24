namespace Telemetry.Fleet.Signal;

/// <summary>A device event: <c>offline</c>, <c>online</c> or <c>reboot</c>.</summary>
public sealed record DeviceChange(DateTimeOffset Time, string Kind, long? Seq, string Detail)
{
    public const string Offline = "offline";
    public const string Online = "online";
    public const string Reboot = "reboot";
}

/// <summary>
/// One device's events from its messages in time order (pure): a reboot when <c>seq</c> went down (the counter restarts from 0
/// after a reboot), offline on a status with <c>online</c> false (its Last Will), online on the first message after that.
/// Messages timed by their receive time (a status without <c>ts</c>) say nothing about the order of <c>seq</c> and are only
/// used for online/offline.
/// </summary>
public sealed class DeviceSignal
{
    private long? _lastSeq;
    private DateTimeOffset _lastSeqTime;
    private DateTimeOffset _lastTime = DateTimeOffset.MinValue;
    private bool _offline;

    public bool Offline => _offline;

    /// <summary>Takes one message; returns the events it makes (none, or one or two).</summary>
    public IReadOnlyList<DeviceChange> Observe(DateTimeOffset time, long? seq, bool timeFromDevice, bool? online)
    {
        if (timeFromDevice)
        {
            if (time < _lastTime)
            {
                return []; // late: its order against the others is unknown
            }
            _lastTime = time;
        }
        // A message timed by its receive time (the Last Will has no ts) is taken as it comes: a device clock a little
        // ahead of the receiver's must not hide it.
        List<DeviceChange>? changes = null;
        if (seq is { } s && timeFromDevice)
        {
            if (_lastSeq is { } last && time == _lastSeqTime)
            {
                // Messages of one instant (a weight and a fill sent together) come in no particular order: keep the highest.
                _lastSeq = Math.Max(last, s);
            }
            else
            {
                if (_lastSeq is { } previous && s < previous)
                {
                    (changes ??= []).Add(new DeviceChange(time, DeviceChange.Reboot, s, $"seq {previous} → {s}"));
                }
                _lastSeq = s;
                _lastSeqTime = time;
            }
        }
        if (online == false)
        {
            if (!_offline)
            {
                _offline = true;
                (changes ??= []).Add(new DeviceChange(time, DeviceChange.Offline, seq, "status online false (last will)"));
            }
        }
        else if (_offline)
        {
            _offline = false;
            (changes ??= []).Add(new DeviceChange(time, DeviceChange.Online, seq, online == true ? "status online true" : "a reading after being offline"));
        }
        return changes ?? (IReadOnlyList<DeviceChange>)[];
    }
}
