using System.Globalization;
using Microsoft.Data.Sqlite;
using Telemetry.Contracts.Configuration;
using Telemetry.Contracts.Readings;

namespace Telemetry.Storage.Sqlite;

/// <summary>
/// The embedded store: one SQLite file in WAL mode, one transaction per batch, synchronous=FULL so
/// a committed batch survives a crash of the process or the machine. Identity keys make a reading
/// delivered twice one row; a later write replaces the values it gives (as InfluxDB does). So do the
/// primary keys of the event tables: <c>collection</c> (bin, compartment, time_ms), <c>device_event</c>
/// (bin, kind, time_ms), <c>alert_event</c> (bin, compartment, kind, type, time_ms; compartment '' for a bin's
/// alerts) and <c>job_event</c> (job_id, type, time_ms); <c>vehicle_position</c> is keyed by (vehicle, time_ms) like a reading and
/// <c>route_plan</c> by (plan_id, revision). Text is stored exactly as given (parameters, no escaping needed). Each schema
/// version adds tables (<c>CREATE TABLE IF NOT EXISTS</c>), so a file of an earlier version gets them at start and keeps its data.
/// </summary>
/// <remarks>
/// Every SQLite error is classified by its primary result code (<see cref="Classify"/>): the ones a retry
/// can cure become <see cref="StoreUnavailableException"/>, data SQLite refuses <see cref="StoreRejectedException"/>,
/// and the rest <see cref="StoreFailedException"/>, which stops the role with the path and the reason. At
/// start, a file that cannot work (read-only, not a database, a folder that cannot be created) is a
/// <see cref="ConfigurationException"/> naming <c>Storage:Sqlite:Path</c>: the setting points at something
/// unusable, and the operator fixes it there.
/// </remarks>
public sealed class SqliteStore : ITelemetryStore
{
    public const string PathKey = "Storage:Sqlite:Path";

    /// <summary>Written at every start: the schema's version, and the write that proves the file can be written.</summary>
    private const int SchemaVersion = 5;

    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private SqliteConnection? _writer;
    private readonly SemaphoreSlim _initialize = new(1, 1);

    public SqliteStore(string path)
        : this(path, SqliteOpenMode.ReadWriteCreate)
    {
    }

    /// <summary>
    /// With <paramref name="mode"/> <see cref="SqliteOpenMode.ReadOnly"/>: what a file the process may not write
    /// looks like to SQLite, for tests (they run as root, whom file permissions do not stop).
    /// </summary>
    internal SqliteStore(string path, SqliteOpenMode mode)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = Path, Pooling = true, Mode = mode }.ToString();
    }

    public string Path { get; }

    public string Name => "sqlite";

    public async Task InitializeAsync(CancellationToken ct)
    {
        // Several roles of one process share the store and each initializes it: once is enough.
        await _initialize.WaitAsync(ct);
        try
        {
            if (_writer is null)
            {
                await InitializeOnceAsync(ct);
            }
        }
        finally
        {
            _initialize.Release();
        }
    }

    private async Task InitializeOnceAsync(CancellationToken ct)
    {
        var dir = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(dir))
        {
            try
            {
                Directory.CreateDirectory(dir);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new ConfigurationException(PathKey, $"'{Path}': its folder cannot be created ({ex.Message})");
            }
        }
        var writer = new SqliteConnection(_connectionString);
        try
        {
            await writer.OpenAsync(ct);
            await CreateSchemaAsync(writer, ct);
            // A write now, so that a file or folder that cannot be written fails at start, not at the first batch
            // (SQLite opens a file it may not write read-only without complaint).
            await ExecuteAsync(writer, $"PRAGMA user_version = {SchemaVersion.ToString(CultureInfo.InvariantCulture)}", ct);
        }
        catch (SqliteException ex)
        {
            await writer.DisposeAsync();
            throw Classify(ex, Path) switch
            {
                StoreUnavailableException unavailable => unavailable,
                _ => new ConfigurationException(PathKey, $"'{Path}' cannot be used: {Describe(ex)}"),
            };
        }
        catch
        {
            await writer.DisposeAsync();
            throw;
        }
        _writer = writer;
    }

    private static Task CreateSchemaAsync(SqliteConnection writer, CancellationToken ct) =>
        ExecuteAsync(writer, """
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = FULL;
            PRAGMA busy_timeout = 10000;
            CREATE TABLE IF NOT EXISTS fill (
                bin TEXT NOT NULL, compartment TEXT NOT NULL, time_ms INTEGER NOT NULL,
                community TEXT NOT NULL, stream TEXT NOT NULL, pct REAL NOT NULL, seq INTEGER NOT NULL,
                PRIMARY KEY (bin, compartment, time_ms)) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS fill_time ON fill (time_ms);
            CREATE TABLE IF NOT EXISTS weight (
                bin TEXT NOT NULL, compartment TEXT NOT NULL, time_ms INTEGER NOT NULL,
                community TEXT NOT NULL, stream TEXT NOT NULL, net_kg REAL NOT NULL, deposit_kg REAL, seq INTEGER NOT NULL,
                PRIMARY KEY (bin, compartment, time_ms)) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS weight_time ON weight (time_ms);
            CREATE TABLE IF NOT EXISTS status (
                id INTEGER PRIMARY KEY, bin TEXT NOT NULL, community TEXT NOT NULL, time_ms INTEGER NOT NULL,
                from_device INTEGER NOT NULL, online INTEGER, battery_pct REAL, temp_c REAL, tilt INTEGER, door_open INTEGER, seq INTEGER);
            CREATE UNIQUE INDEX IF NOT EXISTS status_identity ON status (bin, time_ms) WHERE from_device = 1;
            CREATE INDEX IF NOT EXISTS status_time ON status (time_ms);
            CREATE TABLE IF NOT EXISTS dead_letter (
                id INTEGER PRIMARY KEY, time_us INTEGER NOT NULL, reason TEXT NOT NULL, bin TEXT NOT NULL,
                ingester TEXT NOT NULL, topic TEXT NOT NULL, payload TEXT NOT NULL, error TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS dead_letter_time ON dead_letter (time_us);
            CREATE TABLE IF NOT EXISTS collection (
                bin TEXT NOT NULL, compartment TEXT NOT NULL, time_ms INTEGER NOT NULL,
                community TEXT NOT NULL, stream TEXT NOT NULL, kg_collected REAL NOT NULL, fill_before_pct REAL NOT NULL, fill_after_pct REAL NOT NULL,
                PRIMARY KEY (bin, compartment, time_ms)) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS collection_time ON collection (time_ms);
            CREATE TABLE IF NOT EXISTS device_event (
                bin TEXT NOT NULL, kind TEXT NOT NULL, time_ms INTEGER NOT NULL,
                community TEXT NOT NULL, seq INTEGER, detail TEXT NOT NULL,
                PRIMARY KEY (bin, kind, time_ms)) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS device_event_time ON device_event (time_ms);
            CREATE TABLE IF NOT EXISTS alert_event (
                bin TEXT NOT NULL, compartment TEXT NOT NULL, kind TEXT NOT NULL, type TEXT NOT NULL, time_ms INTEGER NOT NULL,
                community TEXT NOT NULL, severity TEXT NOT NULL, alert_id TEXT NOT NULL, raised_at_ms INTEGER NOT NULL,
                cleared_at_ms INTEGER, acknowledged_at_ms INTEGER, acknowledged_by TEXT,
                PRIMARY KEY (bin, compartment, kind, type, time_ms)) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS alert_event_time ON alert_event (time_ms);
            CREATE TABLE IF NOT EXISTS job_event (
                job_id TEXT NOT NULL, type TEXT NOT NULL, time_ms INTEGER NOT NULL,
                bin TEXT NOT NULL, community TEXT NOT NULL, compartments TEXT NOT NULL, stream TEXT NOT NULL, reason TEXT NOT NULL,
                priority TEXT NOT NULL, predicted_full_at_ms INTEGER, deadline_ms INTEGER NOT NULL, state TEXT NOT NULL, vehicle TEXT,
                requested_at_ms INTEGER NOT NULL, requested_by TEXT NOT NULL, planned_at_ms INTEGER, completed_at_ms INTEGER,
                cancelled_at_ms INTEGER, caused_by TEXT,
                PRIMARY KEY (job_id, type, time_ms)) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS job_event_time ON job_event (time_ms);
            CREATE TABLE IF NOT EXISTS vehicle_position (
                vehicle TEXT NOT NULL, time_ms INTEGER NOT NULL, stream TEXT NOT NULL, lat REAL NOT NULL, lon REAL NOT NULL, speed_kmh REAL NOT NULL,
                PRIMARY KEY (vehicle, time_ms)) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS vehicle_position_time ON vehicle_position (time_ms);
            CREATE TABLE IF NOT EXISTS route_plan (
                plan_id TEXT NOT NULL, revision INTEGER NOT NULL, stream TEXT NOT NULL, shift_start_ms INTEGER NOT NULL,
                shift_end_ms INTEGER NOT NULL, planned_at_ms INTEGER NOT NULL, body TEXT NOT NULL,
                PRIMARY KEY (plan_id, revision)) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS route_plan_shift ON route_plan (shift_start_ms);
            """, ct);

    public async Task WriteAsync(IReadOnlyList<Reading> readings, IReadOnlyList<DeadLetter> deadLetters, CancellationToken ct)
    {
        var writer = _writer ?? throw new InvalidOperationException("InitializeAsync first");
        await _writeLock.WaitAsync(ct);
        try
        {
            await using var tx = (SqliteTransaction)await writer.BeginTransactionAsync(ct);
            using var fill = Command(writer, tx, """
                INSERT INTO fill (bin, compartment, time_ms, community, stream, pct, seq) VALUES ($b, $c, $t, $cm, $s, $v, $q)
                ON CONFLICT (bin, compartment, time_ms) DO UPDATE SET community = excluded.community, stream = excluded.stream, pct = excluded.pct, seq = excluded.seq
                """, "$b", "$c", "$t", "$cm", "$s", "$v", "$q");
            using var weight = Command(writer, tx, """
                INSERT INTO weight (bin, compartment, time_ms, community, stream, net_kg, deposit_kg, seq) VALUES ($b, $c, $t, $cm, $s, $v, $d, $q)
                ON CONFLICT (bin, compartment, time_ms) DO UPDATE SET community = excluded.community, stream = excluded.stream,
                    net_kg = excluded.net_kg, deposit_kg = COALESCE(excluded.deposit_kg, weight.deposit_kg), seq = excluded.seq
                """, "$b", "$c", "$t", "$cm", "$s", "$v", "$d", "$q");
            using var status = Command(writer, tx, """
                INSERT INTO status (bin, community, time_ms, from_device, online, battery_pct, temp_c, tilt, door_open, seq) VALUES ($b, $cm, $t, $f, $o, $bp, $tc, $ti, $do, $q)
                ON CONFLICT (bin, time_ms) WHERE from_device = 1 DO UPDATE SET community = excluded.community,
                    online = COALESCE(excluded.online, status.online), battery_pct = COALESCE(excluded.battery_pct, status.battery_pct),
                    temp_c = COALESCE(excluded.temp_c, status.temp_c), tilt = COALESCE(excluded.tilt, status.tilt),
                    door_open = COALESCE(excluded.door_open, status.door_open), seq = COALESCE(excluded.seq, status.seq)
                """, "$b", "$cm", "$t", "$f", "$o", "$bp", "$tc", "$ti", "$do", "$q");
            using var position = Command(writer, tx, """
                INSERT INTO vehicle_position (vehicle, time_ms, stream, lat, lon, speed_kmh) VALUES ($v, $t, $s, $la, $lo, $sp)
                ON CONFLICT (vehicle, time_ms) DO UPDATE SET stream = excluded.stream, lat = excluded.lat, lon = excluded.lon, speed_kmh = excluded.speed_kmh
                """, "$v", "$t", "$s", "$la", "$lo", "$sp");
            using var dead = Command(writer, tx, """
                INSERT INTO dead_letter (time_us, reason, bin, ingester, topic, payload, error) VALUES ($t, $r, $b, $i, $tp, $p, $e)
                """, "$t", "$r", "$b", "$i", "$tp", "$p", "$e");

            foreach (var reading in readings)
            {
                switch (reading)
                {
                    case FillReading f:
                        await Run(fill, ct, f.BinId, f.Compartment, Ms(f.Time), f.Community, f.Stream, f.Pct, f.Seq);
                        break;
                    case WeightReading w:
                        await Run(weight, ct, w.BinId, w.Compartment, Ms(w.Time), w.Community, w.Stream, w.NetKg, w.DepositKg, w.Seq);
                        break;
                    case StatusReading s:
                        await Run(status, ct, s.BinId, s.Community, Ms(s.Time), s.TimeFromDevice ? 1 : 0, Bool(s.Online), s.BatteryPct, s.TempC, Bool(s.Tilt), Bool(s.DoorOpen), s.Seq);
                        break;
                    case VehiclePositionReading p:
                        await Run(position, ct, p.VehicleId, Ms(p.Time), p.Stream, p.Lat, p.Lon, p.SpeedKmh);
                        break;
                    default:
                        throw new ArgumentException($"unknown reading type {reading.GetType().Name}", nameof(readings));
                }
            }
            foreach (var d in deadLetters)
            {
                await Run(dead, ct, Us(d.ReceivedAt), d.Reason, d.BinId, d.Ingester, d.Topic, d.Payload, d.Error);
            }
            await tx.CommitAsync(ct);
        }
        catch (SqliteException ex)
        {
            throw Classify(ex, Path);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<IReadOnlyList<LatestCompartment>> GetLatestAsync(CancellationToken ct)
    {
        await using var c = await OpenReaderAsync(ct);
        var result = new Dictionary<(string, string), LatestCompartment>();
        await foreach (var r in Query(c, "SELECT bin, compartment, community, stream, max(time_ms), pct FROM fill GROUP BY bin, compartment", [], ct))
        {
            result[(r.GetString(0), r.GetString(1))] = new LatestCompartment(r.GetString(0), r.GetString(2), r.GetString(1), r.GetString(3), FromMs(r.GetInt64(4)), r.GetDouble(5), null, null);
        }
        await foreach (var r in Query(c, "SELECT bin, compartment, community, stream, max(time_ms), net_kg FROM weight GROUP BY bin, compartment", [], ct))
        {
            var key = (r.GetString(0), r.GetString(1));
            var latest = result.GetValueOrDefault(key) ?? new LatestCompartment(r.GetString(0), r.GetString(2), r.GetString(1), r.GetString(3), null, null, null, null);
            result[key] = latest with { WeightTime = FromMs(r.GetInt64(4)), NetKg = r.GetDouble(5) };
        }
        return [.. result.Values.OrderBy(l => l.BinId, StringComparer.Ordinal).ThenBy(l => l.Compartment, StringComparer.Ordinal)];
    }

    public async Task<IReadOnlyList<LatestStatus>> GetLatestStatusAsync(CancellationToken ct)
    {
        await using var c = await OpenReaderAsync(ct);
        var seen = new Dictionary<string, LatestStatus>(StringComparer.Ordinal);
        await foreach (var r in Query(c, "SELECT bin, max(time_ms) FROM status GROUP BY bin", [], ct))
        {
            seen[r.GetString(0)] = new LatestStatus(r.GetString(0), FromMs(r.GetInt64(1)), null, null, null, null, null);
        }
        foreach (var column in new[] { "online", "battery_pct", "temp_c", "tilt", "door_open" })
        {
            await foreach (var r in Query(c, $"SELECT bin, max(time_ms), {column} FROM status WHERE {column} IS NOT NULL GROUP BY bin", [], ct))
            {
                var s = seen[r.GetString(0)];
                seen[s.BinId] = column switch
                {
                    "online" => s with { Online = r.GetInt64(2) != 0 },
                    "battery_pct" => s with { BatteryPct = r.GetDouble(2) },
                    "temp_c" => s with { TempC = r.GetDouble(2) },
                    "tilt" => s with { Tilt = r.GetInt64(2) != 0 },
                    _ => s with { DoorOpen = r.GetInt64(2) != 0 },
                };
            }
        }
        return [.. seen.Values.OrderBy(s => s.BinId, StringComparer.Ordinal)];
    }

    public async Task<IReadOnlyList<HistoryBucket>> GetHistoryAsync(string binId, DateTimeOffset start, DateTimeOffset end, TimeSpan every, TimeSpan origin, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(every, TimeSpan.FromMilliseconds(1));
        ArgumentOutOfRangeException.ThrowIfLessThan(origin, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(origin, every);
        var everyMs = (long)every.TotalMilliseconds;
        await using var c = await OpenReaderAsync(ct);
        var buckets = new SortedDictionary<(string, long), HistoryBucket>();
        // Bucket start: origin + floor((t - origin) / every) * every (integer division truncates towards zero, so
        // the shift by one whole interval keeps it a floor for times before the origin too).
        object[] args = [binId, Ms(start), Ms(end), everyMs, (long)origin.TotalMilliseconds];
        await foreach (var r in Query(c, "SELECT compartment, ((time_ms - $5 + $4) / $4) * $4 + $5 - $4 AS b, avg(pct) FROM fill WHERE bin = $1 AND time_ms >= $2 AND time_ms < $3 GROUP BY compartment, b", args, ct))
        {
            buckets[(r.GetString(0), r.GetInt64(1))] = new HistoryBucket(r.GetString(0), FromMs(r.GetInt64(1)), r.GetDouble(2), null);
        }
        await foreach (var r in Query(c, "SELECT compartment, ((time_ms - $5 + $4) / $4) * $4 + $5 - $4 AS b, max(time_ms), net_kg FROM weight WHERE bin = $1 AND time_ms >= $2 AND time_ms < $3 GROUP BY compartment, b", args, ct))
        {
            var key = (r.GetString(0), r.GetInt64(1));
            var bucket = buckets.GetValueOrDefault(key) ?? new HistoryBucket(r.GetString(0), FromMs(r.GetInt64(1)), null, null);
            buckets[key] = bucket with { NetKg = r.GetDouble(3) };
        }
        return [.. buckets.Values.OrderBy(b => b.Compartment, StringComparer.Ordinal).ThenBy(b => b.Start)];
    }

    public async Task<IReadOnlyList<DepositTotal>> GetDepositsAsync(DateTimeOffset start, DateTimeOffset end, TimeZoneInfo zone, string? binId, CancellationToken ct)
    {
        // Sum in SQL per 15-minute slot (every time zone offset is a multiple of 15 minutes), then
        // assign slots to local days here, where the time zone rules are.
        const long slotMs = 15 * 60 * 1000;
        await using var c = await OpenReaderAsync(ct);
        var totals = new Dictionary<(DateOnly, string, string, string), double>();
        await foreach (var r in Query(c, """
            SELECT (time_ms / $3) * $3 AS slot, community, stream, compartment, sum(deposit_kg) FROM weight
            WHERE deposit_kg IS NOT NULL AND time_ms >= $1 AND time_ms < $2 AND ($4 IS NULL OR bin = $4) GROUP BY slot, community, stream, compartment
            """, [Ms(start), Ms(end), slotMs, (object?)binId ?? DBNull.Value], ct))
        {
            var day = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(FromMs(r.GetInt64(0)), zone).DateTime);
            var key = (day, r.GetString(1), r.GetString(2), r.GetString(3));
            totals[key] = totals.GetValueOrDefault(key) + r.GetDouble(4);
        }
        return [.. totals.Select(kv => new DepositTotal(kv.Key.Item1, kv.Key.Item2, kv.Key.Item3, kv.Key.Item4, kv.Value))
            .OrderBy(d => d.Day).ThenBy(d => d.Community, StringComparer.Ordinal).ThenBy(d => d.Material, StringComparer.Ordinal)];
    }

    public async Task<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(DateTimeOffset start, DateTimeOffset end, int limit, DeadLetterFilter filter, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(filter);
        await using var c = await OpenReaderAsync(ct);
        var list = new List<DeadLetter>();
        await foreach (var r in Query(c, "SELECT time_us, reason, bin, ingester, topic, payload, error FROM dead_letter WHERE time_us >= $1 AND time_us < $2 AND ($4 IS NULL OR reason = $4) AND ($5 IS NULL OR bin = $5) ORDER BY time_us DESC, id DESC LIMIT $3",
            [Us(start), Us(end), limit, (object?)filter.Reason ?? DBNull.Value, (object?)filter.Bin ?? DBNull.Value], ct))
        {
            list.Add(new DeadLetter(DateTimeOffset.UnixEpoch.AddTicks(r.GetInt64(0) * 10), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6)));
        }
        return list;
    }

    public async Task<IReadOnlyList<DeadLetterCount>> GetDeadLettersByReasonAsync(DateTimeOffset start, DateTimeOffset end, DeadLetterFilter filter, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(filter);
        await using var c = await OpenReaderAsync(ct);
        var list = new List<DeadLetterCount>();
        await foreach (var r in Query(c, "SELECT reason, count(*) FROM dead_letter WHERE time_us >= $1 AND time_us < $2 AND ($3 IS NULL OR reason = $3) AND ($4 IS NULL OR bin = $4) GROUP BY reason ORDER BY reason",
            [Us(start), Us(end), (object?)filter.Reason ?? DBNull.Value, (object?)filter.Bin ?? DBNull.Value], ct))
        {
            list.Add(new DeadLetterCount(r.GetString(0), r.GetInt64(1)));
        }
        return list;
    }

    public async Task<StoredCounts> CountAsync(DateTimeOffset start, DateTimeOffset end, string? binPrefix, CancellationToken ct)
    {
        BinPrefix.Check(binPrefix);
        await using var c = await OpenReaderAsync(ct);
        async Task<long> Count(string sql, object[] args)
        {
            await foreach (var r in Query(c, sql, args, ct))
            {
                return r.GetInt64(0);
            }
            return 0;
        }
        // GLOB is case-sensitive, and the prefix holds no wildcard characters.
        var like = (binPrefix ?? "") + "*";
        object[] ms = [Ms(start), Ms(end), like];
        return new StoredCounts(
            await Count("SELECT count(*) FROM fill WHERE time_ms >= $1 AND time_ms < $2 AND bin GLOB $3", ms),
            await Count("SELECT count(*) FROM weight WHERE time_ms >= $1 AND time_ms < $2 AND bin GLOB $3", ms),
            await Count("SELECT count(*) FROM status WHERE time_ms >= $1 AND time_ms < $2 AND bin GLOB $3", ms),
            await Count("SELECT count(*) FROM dead_letter WHERE time_us >= $1 AND time_us < $2 AND bin GLOB $3", [Us(start), Us(end), like]));
    }

    public async Task<int> CountReadingsAsync(string binId, DateTimeOffset time, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(binId);
        await using var c = await OpenReaderAsync(ct);
        // Equality on bin and time: lookups in the primary keys or the time indexes, no range scan.
        await foreach (var r in Query(c, """
            SELECT (SELECT count(*) FROM fill WHERE bin = $1 AND time_ms = $2)
                 + (SELECT count(*) FROM weight WHERE bin = $1 AND time_ms = $2)
                 + (SELECT count(*) FROM status WHERE bin = $1 AND time_ms = $2)
            """, [binId, Ms(time)], ct))
        {
            return checked((int)r.GetInt64(0));
        }
        return 0;
    }

    /// <summary>
    /// The readings in [start, end) of the bins named (all when <paramref name="binIds"/> is null), in the contract's
    /// order. A status's <see cref="StatusReading.TimeFromDevice"/> is its stored <c>from_device</c> column, exactly
    /// as written.
    /// </summary>
    public async Task<IReadOnlyList<Reading>> GetReadingsAsync(IReadOnlyCollection<string>? binIds, DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        if (end <= start || binIds is { Count: 0 })
        {
            return [];
        }
        await using var c = await OpenReaderAsync(ct);
        var readings = new List<Reading>();
        // One read transaction: the three measurements from one snapshot (WAL), so a batch committed between two of the
        // SELECTs is either wholly in the answer or wholly out of it.
        await ExecuteAsync(c, "BEGIN DEFERRED", ct);
        try
        {
            await ReadReadingsAsync(c, binIds, start, end, readings, ct);
        }
        finally
        {
            await ExecuteAsync(c, "COMMIT", CancellationToken.None);
        }
        return StoreOrder.Readings(readings);
    }

    private static async Task ReadReadingsAsync(SqliteConnection c, IReadOnlyCollection<string>? binIds, DateTimeOffset start, DateTimeOffset end, List<Reading> readings, CancellationToken ct)
    {
        // Bins as parameters ($3, $4, ...), a bounded number per statement.
        IReadOnlyList<string[]?> chunks = binIds is null ? [null] : [.. binIds.Distinct(StringComparer.Ordinal).Chunk(MaxBinsPerQuery)];
        foreach (var bins in chunks)
        {
            var where = "time_ms >= $1 AND time_ms < $2" + (bins is null ? "" : $" AND bin IN ({string.Join(", ", bins.Select((_, i) => "$" + (i + 3).ToString(CultureInfo.InvariantCulture)))})");
            object[] args = [Ms(start), Ms(end), .. bins ?? []];
            await foreach (var r in Query(c, $"SELECT bin, compartment, time_ms, community, stream, pct, seq FROM fill WHERE {where}", args, ct))
            {
                readings.Add(new FillReading(r.GetString(0), r.GetString(3), r.GetString(1), r.GetString(4), FromMs(r.GetInt64(2)), r.GetInt64(6), r.GetDouble(5)));
            }
            await foreach (var r in Query(c, $"SELECT bin, compartment, time_ms, community, stream, net_kg, deposit_kg, seq FROM weight WHERE {where}", args, ct))
            {
                readings.Add(new WeightReading(r.GetString(0), r.GetString(3), r.GetString(1), r.GetString(4), FromMs(r.GetInt64(2)), r.GetInt64(7), r.GetDouble(5),
                    r.IsDBNull(6) ? null : r.GetDouble(6)));
            }
            await foreach (var r in Query(c, $"SELECT bin, community, time_ms, seq, from_device, online, battery_pct, temp_c, tilt, door_open FROM status WHERE {where} ORDER BY id", args, ct))
            {
                readings.Add(new StatusReading(r.GetString(0), r.GetString(1), FromMs(r.GetInt64(2)), r.IsDBNull(3) ? null : r.GetInt64(3), r.GetInt64(4) != 0,
                    NullableBool(r, 5), r.IsDBNull(6) ? null : r.GetDouble(6), r.IsDBNull(7) ? null : r.GetDouble(7), NullableBool(r, 8), NullableBool(r, 9)));
            }
        }
    }

    /// <summary>At most this many bins' ids are parameters of one statement (SQLite allows 32,766 parameters).</summary>
    private const int MaxBinsPerQuery = 500;

    public async Task WriteEventsAsync(IReadOnlyList<CollectionEvent> collections, IReadOnlyList<DeviceEvent> deviceEvents, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(collections);
        ArgumentNullException.ThrowIfNull(deviceEvents);
        var writer = _writer ?? throw new InvalidOperationException("InitializeAsync first");
        await _writeLock.WaitAsync(ct);
        try
        {
            await using var tx = (SqliteTransaction)await writer.BeginTransactionAsync(ct);
            using var collection = Command(writer, tx, """
                INSERT INTO collection (bin, compartment, time_ms, community, stream, kg_collected, fill_before_pct, fill_after_pct) VALUES ($b, $c, $t, $cm, $s, $k, $fb, $fa)
                ON CONFLICT (bin, compartment, time_ms) DO UPDATE SET community = excluded.community, stream = excluded.stream,
                    kg_collected = excluded.kg_collected, fill_before_pct = excluded.fill_before_pct, fill_after_pct = excluded.fill_after_pct
                """, "$b", "$c", "$t", "$cm", "$s", "$k", "$fb", "$fa");
            // A later write without a seq keeps the one stored (as InfluxDB keeps a field the later point does not give).
            using var device = Command(writer, tx, """
                INSERT INTO device_event (bin, kind, time_ms, community, seq, detail) VALUES ($b, $k, $t, $cm, $q, $d)
                ON CONFLICT (bin, kind, time_ms) DO UPDATE SET community = excluded.community,
                    seq = COALESCE(excluded.seq, device_event.seq), detail = excluded.detail
                """, "$b", "$k", "$t", "$cm", "$q", "$d");
            foreach (var e in collections)
            {
                await Run(collection, ct, e.BinId, e.Compartment, Ms(e.Time), e.Community, e.Stream, e.KgCollected, e.FillBeforePct, e.FillAfterPct);
            }
            foreach (var e in deviceEvents)
            {
                await Run(device, ct, e.BinId, e.Kind, Ms(e.Time), e.Community, e.Seq, e.Detail);
            }
            await tx.CommitAsync(ct);
        }
        catch (SqliteException ex)
        {
            throw Classify(ex, Path);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<IReadOnlyList<CollectionEvent>> GetCollectionsAsync(string? binId, DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        await using var c = await OpenReaderAsync(ct);
        var list = new List<CollectionEvent>();
        await foreach (var r in Query(c, """
            SELECT bin, community, compartment, stream, time_ms, kg_collected, fill_before_pct, fill_after_pct FROM collection
            WHERE time_ms >= $1 AND time_ms < $2 AND ($3 IS NULL OR bin = $3)
            """, [Ms(start), Ms(end), (object?)binId ?? DBNull.Value], ct))
        {
            list.Add(new CollectionEvent(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), FromMs(r.GetInt64(4)), r.GetDouble(5), r.GetDouble(6), r.GetDouble(7)));
        }
        return StoreOrder.Collections(list);
    }

    public async Task<IReadOnlyList<DeviceEvent>> GetDeviceEventsAsync(string? binId, DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        await using var c = await OpenReaderAsync(ct);
        var list = new List<DeviceEvent>();
        await foreach (var r in Query(c, """
            SELECT bin, community, time_ms, kind, seq, detail FROM device_event
            WHERE time_ms >= $1 AND time_ms < $2 AND ($3 IS NULL OR bin = $3)
            """, [Ms(start), Ms(end), (object?)binId ?? DBNull.Value], ct))
        {
            list.Add(new DeviceEvent(r.GetString(0), r.GetString(1), FromMs(r.GetInt64(2)), r.GetString(3), r.IsDBNull(4) ? null : r.GetInt64(4), r.GetString(5)));
        }
        return StoreOrder.DeviceEvents(list);
    }

    /// <summary>
    /// Alert events as rows of <c>alert_event</c>, one transaction per batch; a null compartment is stored as ''. A later write
    /// of one identity replaces the values it gives and keeps a cleared, acknowledged time or acknowledger it does not give
    /// (as InfluxDB keeps a field the later point does not carry).
    /// </summary>
    public async Task WriteAlertEventsAsync(IReadOnlyList<StoredAlertEvent> events, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(events);
        var writer = _writer ?? throw new InvalidOperationException("InitializeAsync first");
        await _writeLock.WaitAsync(ct);
        try
        {
            await using var tx = (SqliteTransaction)await writer.BeginTransactionAsync(ct);
            using var alert = Command(writer, tx, """
                INSERT INTO alert_event (bin, compartment, kind, type, time_ms, community, severity, alert_id, raised_at_ms, cleared_at_ms, acknowledged_at_ms, acknowledged_by)
                VALUES ($b, $c, $k, $ty, $t, $cm, $sv, $id, $r, $cl, $aa, $ab)
                ON CONFLICT (bin, compartment, kind, type, time_ms) DO UPDATE SET community = excluded.community, severity = excluded.severity,
                    alert_id = excluded.alert_id, raised_at_ms = excluded.raised_at_ms,
                    cleared_at_ms = COALESCE(excluded.cleared_at_ms, alert_event.cleared_at_ms),
                    acknowledged_at_ms = COALESCE(excluded.acknowledged_at_ms, alert_event.acknowledged_at_ms),
                    acknowledged_by = COALESCE(excluded.acknowledged_by, alert_event.acknowledged_by)
                """, "$b", "$c", "$k", "$ty", "$t", "$cm", "$sv", "$id", "$r", "$cl", "$aa", "$ab");
            foreach (var e in events)
            {
                await Run(alert, ct, e.BinId, e.Compartment ?? "", e.Kind, e.Type, Ms(e.At), e.Community, e.Severity, e.AlertId, Ms(e.RaisedAt),
                    e.ClearedAt is { } cleared ? Ms(cleared) : null, e.AcknowledgedAt is { } acknowledged ? Ms(acknowledged) : null, e.AcknowledgedBy);
            }
            await tx.CommitAsync(ct);
        }
        catch (SqliteException ex)
        {
            throw Classify(ex, Path);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// One statement: the time of the <paramref name="limit"/>-th newest event in range bounds the rows read from below, so at
    /// most <paramref name="limit"/> rows plus those sharing that millisecond are read; the newest <paramref name="limit"/> of
    /// them in the contract's order are returned (<see cref="StoreOrder.NewestAlertEvents"/>).
    /// </summary>
    public async Task<IReadOnlyList<StoredAlertEvent>> GetAlertEventsAsync(DateTimeOffset start, DateTimeOffset end, int limit, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        if (end <= start)
        {
            return [];
        }
        await using var c = await OpenReaderAsync(ct);
        var list = new List<StoredAlertEvent>();
        await foreach (var r in Query(c, """
            SELECT type, time_ms, alert_id, bin, community, compartment, kind, severity, raised_at_ms, cleared_at_ms, acknowledged_at_ms, acknowledged_by
            FROM alert_event
            WHERE time_ms < $2 AND time_ms >= max($1, COALESCE(
                (SELECT time_ms FROM alert_event WHERE time_ms >= $1 AND time_ms < $2 ORDER BY time_ms DESC LIMIT 1 OFFSET $3), $1))
            """, [Ms(start), Ms(end), limit - 1L], ct))
        {
            var compartment = r.GetString(5);
            list.Add(new StoredAlertEvent(r.GetString(0), FromMs(r.GetInt64(1)), r.GetString(2), r.GetString(3), r.GetString(4),
                compartment.Length == 0 ? null : compartment, r.GetString(6), r.GetString(7), FromMs(r.GetInt64(8)),
                r.IsDBNull(9) ? null : FromMs(r.GetInt64(9)), r.IsDBNull(10) ? null : FromMs(r.GetInt64(10)), r.IsDBNull(11) ? null : r.GetString(11)));
        }
        return StoreOrder.NewestAlertEvents(list, limit);
    }

    /// <summary>
    /// Job events as rows of <c>job_event</c>, one transaction per batch; the compartments as one text
    /// (<see cref="JobCompartments.Join"/>), <see cref="StoredJobEvent.By"/> in <c>caused_by</c>. A later write of one identity
    /// replaces the values it gives and keeps a predicted-full, planned, completed or cancelled time, a vehicle or a
    /// <c>caused_by</c> it does not give (as InfluxDB keeps a field the later point does not carry).
    /// </summary>
    public async Task WriteJobEventsAsync(IReadOnlyList<StoredJobEvent> events, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(events);
        var writer = _writer ?? throw new InvalidOperationException("InitializeAsync first");
        // Checked first: an event that cannot be stored as it is refuses the batch before anything is written.
        var compartments = events.Select(JobCompartments.Join).ToList();
        await _writeLock.WaitAsync(ct);
        try
        {
            await using var tx = (SqliteTransaction)await writer.BeginTransactionAsync(ct);
            using var job = Command(writer, tx, """
                INSERT INTO job_event (job_id, type, time_ms, bin, community, compartments, stream, reason, priority, predicted_full_at_ms,
                    deadline_ms, state, vehicle, requested_at_ms, requested_by, planned_at_ms, completed_at_ms, cancelled_at_ms, caused_by)
                VALUES ($j, $ty, $t, $b, $cm, $cs, $s, $r, $p, $pf, $d, $st, $v, $ra, $rb, $pa, $ca, $xa, $by)
                ON CONFLICT (job_id, type, time_ms) DO UPDATE SET bin = excluded.bin, community = excluded.community,
                    compartments = excluded.compartments, stream = excluded.stream, reason = excluded.reason, priority = excluded.priority,
                    predicted_full_at_ms = COALESCE(excluded.predicted_full_at_ms, job_event.predicted_full_at_ms),
                    deadline_ms = excluded.deadline_ms, state = excluded.state, vehicle = COALESCE(excluded.vehicle, job_event.vehicle),
                    requested_at_ms = excluded.requested_at_ms, requested_by = excluded.requested_by,
                    planned_at_ms = COALESCE(excluded.planned_at_ms, job_event.planned_at_ms),
                    completed_at_ms = COALESCE(excluded.completed_at_ms, job_event.completed_at_ms),
                    cancelled_at_ms = COALESCE(excluded.cancelled_at_ms, job_event.cancelled_at_ms),
                    caused_by = COALESCE(excluded.caused_by, job_event.caused_by)
                """, "$j", "$ty", "$t", "$b", "$cm", "$cs", "$s", "$r", "$p", "$pf", "$d", "$st", "$v", "$ra", "$rb", "$pa", "$ca", "$xa", "$by");
            for (var i = 0; i < events.Count; i++)
            {
                var e = events[i];
                await Run(job, ct, e.JobId, e.Type, Ms(e.At), e.BinId, e.Community, compartments[i], e.Stream, e.Reason, e.Priority,
                    OptionalMs(e.PredictedFullAt), Ms(e.Deadline), e.State, e.Vehicle, Ms(e.RequestedAt), e.RequestedBy,
                    OptionalMs(e.PlannedAt), OptionalMs(e.CompletedAt), OptionalMs(e.CancelledAt), e.By);
            }
            await tx.CommitAsync(ct);
        }
        catch (SqliteException ex)
        {
            throw Classify(ex, Path);
        }
        finally
        {
            _writeLock.Release();
        }

        static long? OptionalMs(DateTimeOffset? t) => t is { } v ? Ms(v) : null;
    }

    /// <summary>
    /// One statement, as <see cref="GetAlertEventsAsync"/>: the time of the <paramref name="limit"/>-th newest event in range
    /// bounds the rows read from below; the newest <paramref name="limit"/> of them in the contract's order are returned
    /// (<see cref="StoreOrder.NewestJobEvents"/>).
    /// </summary>
    public async Task<IReadOnlyList<StoredJobEvent>> GetJobEventsAsync(DateTimeOffset start, DateTimeOffset end, int limit, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        if (end <= start)
        {
            return [];
        }
        await using var c = await OpenReaderAsync(ct);
        var list = new List<StoredJobEvent>();
        await foreach (var r in Query(c, """
            SELECT type, time_ms, job_id, bin, community, compartments, stream, reason, priority, predicted_full_at_ms, deadline_ms, state,
                vehicle, requested_at_ms, requested_by, planned_at_ms, completed_at_ms, cancelled_at_ms, caused_by
            FROM job_event
            WHERE time_ms < $2 AND time_ms >= max($1, COALESCE(
                (SELECT time_ms FROM job_event WHERE time_ms >= $1 AND time_ms < $2 ORDER BY time_ms DESC LIMIT 1 OFFSET $3), $1))
            """, [Ms(start), Ms(end), limit - 1L], ct))
        {
            DateTimeOffset? OptionalTime(int i) => r.IsDBNull(i) ? null : FromMs(r.GetInt64(i));
            string? OptionalText(int i) => r.IsDBNull(i) ? null : r.GetString(i);
            list.Add(new StoredJobEvent(r.GetString(0), FromMs(r.GetInt64(1)), r.GetString(2), r.GetString(3), r.GetString(4),
                JobCompartments.Split(r.GetString(5)), r.GetString(6), r.GetString(7), r.GetString(8), OptionalTime(9), FromMs(r.GetInt64(10)),
                r.GetString(11), OptionalText(12), FromMs(r.GetInt64(13)), r.GetString(14), OptionalTime(15), OptionalTime(16), OptionalTime(17),
                OptionalText(18)));
        }
        return StoreOrder.NewestJobEvents(list, limit);
    }

    public async Task<IReadOnlyList<VehiclePositionReading>> GetLatestVehiclePositionsAsync(CancellationToken ct)
    {
        await using var c = await OpenReaderAsync(ct);
        var list = new List<VehiclePositionReading>();
        // SQLite takes the bare columns of a max() aggregate from the row with the maximum.
        await foreach (var r in Query(c, "SELECT vehicle, stream, max(time_ms), lat, lon, speed_kmh FROM vehicle_position GROUP BY vehicle", [], ct))
        {
            list.Add(new VehiclePositionReading(r.GetString(0), r.GetString(1), FromMs(r.GetInt64(2)), r.GetDouble(3), r.GetDouble(4), r.GetDouble(5)));
        }
        return StoreOrder.LatestPositions(list);
    }

    /// <summary>
    /// One row of <c>route_plan</c> per plan id and revision; written again, the row takes the later write's values unless that
    /// one was planned earlier than the row (as InfluxDB keeps the point with the later time).
    /// </summary>
    public async Task WriteRoutePlanAsync(StoredRoutePlan plan, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var writer = _writer ?? throw new InvalidOperationException("InitializeAsync first");
        await _writeLock.WaitAsync(ct);
        try
        {
            await using var tx = (SqliteTransaction)await writer.BeginTransactionAsync(ct);
            using var insert = Command(writer, tx, """
                INSERT INTO route_plan (plan_id, revision, stream, shift_start_ms, shift_end_ms, planned_at_ms, body) VALUES ($p, $r, $s, $ss, $se, $pa, $b)
                ON CONFLICT (plan_id, revision) DO UPDATE SET stream = excluded.stream, shift_start_ms = excluded.shift_start_ms,
                    shift_end_ms = excluded.shift_end_ms, planned_at_ms = excluded.planned_at_ms, body = excluded.body
                WHERE excluded.planned_at_ms >= route_plan.planned_at_ms
                """, "$p", "$r", "$s", "$ss", "$se", "$pa", "$b");
            await Run(insert, ct, plan.PlanId, plan.Revision, plan.Stream, Ms(plan.ShiftStart), Ms(plan.ShiftEnd), Ms(plan.PlannedAt), plan.Body);
            await tx.CommitAsync(ct);
        }
        catch (SqliteException ex)
        {
            throw Classify(ex, Path);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<IReadOnlyList<StoredRoutePlan>> GetRoutePlansAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        await using var c = await OpenReaderAsync(ct);
        var list = new List<StoredRoutePlan>();
        await foreach (var r in Query(c, """
            SELECT plan_id, revision, stream, shift_start_ms, shift_end_ms, planned_at_ms, body FROM route_plan
            WHERE shift_end_ms >= $1 AND shift_start_ms <= $2
            """, [Ms(from), Ms(to)], ct))
        {
            list.Add(new StoredRoutePlan(r.GetString(0), r.GetInt32(1), r.GetString(2), FromMs(r.GetInt64(3)), FromMs(r.GetInt64(4)), FromMs(r.GetInt64(5)), r.GetString(6)));
        }
        return StoreOrder.RoutePlans(list);
    }

    public async ValueTask DisposeAsync()
    {
        if (_writer is not null)
        {
            await _writer.DisposeAsync();
            _writer = null;
        }
        _writeLock.Dispose();
        _initialize.Dispose();
    }

    /// <summary>
    /// What a SQLite error means for the caller, by its primary result code (https://www.sqlite.org/rescode.html;
    /// all 31 are listed, an unknown future one fails). Retry: the disk or another process may let go
    /// (BUSY, LOCKED, FULL, IOERR and the like). Refused: the data itself (TOOBIG, CONSTRAINT, MISMATCH).
    /// Failed: retrying cannot help (READONLY, CORRUPT, NOTADB, CANTOPEN, PERM, AUTH, a bug such as MISUSE).
    /// </summary>
    internal static Exception Classify(SqliteException ex, string path)
    {
        ArgumentNullException.ThrowIfNull(ex);
        var message = $"SQLite {path}: {Describe(ex)}";
        return (ex.SqliteErrorCode & 0xFF) switch
        {
            Abort or Busy or Locked or NoMem or Interrupt or IoErr or Full or Protocol or Schema =>
                new StoreUnavailableException(message + "; retrying", ex),
            TooBig or Constraint or Mismatch => new StoreRejectedException(message, ex),
            _ => new StoreFailedException(message, ex),
        };
    }

    private const int Abort = 4, Busy = 5, Locked = 6, NoMem = 7, Interrupt = 9, IoErr = 10, Full = 13, Protocol = 15, Schema = 17;
    private const int TooBig = 18, Constraint = 19, Mismatch = 20;

    /// <summary>The primary result code's name and meaning, then SQLite's own message.</summary>
    private static string Describe(SqliteException ex)
    {
        var code = ex.SqliteErrorCode & 0xFF;
        var meaning = code switch
        {
            0 => "SQLITE_OK, reported as an error",
            1 => "SQLITE_ERROR, a generic error (e.g. a table that is missing or was changed)",
            2 => "SQLITE_INTERNAL, an internal error in SQLite",
            3 => "SQLITE_PERM, the access mode cannot be granted",
            Abort => "SQLITE_ABORT, the operation was aborted",
            Busy => "SQLITE_BUSY, the database file is locked by another connection",
            Locked => "SQLITE_LOCKED, a table is locked",
            NoMem => "SQLITE_NOMEM, out of memory",
            8 => "SQLITE_READONLY, the database cannot be written (read-only file, folder, mount or open mode)",
            Interrupt => "SQLITE_INTERRUPT, the operation was interrupted",
            IoErr => "SQLITE_IOERR, a disk I/O error",
            11 => "SQLITE_CORRUPT, the database file is corrupt",
            12 => "SQLITE_NOTFOUND, an unknown operation",
            Full => "SQLITE_FULL, the disk is full",
            14 => "SQLITE_CANTOPEN, the file (or its journal) cannot be opened",
            Protocol => "SQLITE_PROTOCOL, a locking race",
            16 => "SQLITE_EMPTY",
            Schema => "SQLITE_SCHEMA, the schema changed",
            TooBig => "SQLITE_TOOBIG, a string or blob is too large",
            Constraint => "SQLITE_CONSTRAINT, a constraint was violated",
            Mismatch => "SQLITE_MISMATCH, a data type mismatch",
            21 => "SQLITE_MISUSE, SQLite was used incorrectly",
            22 => "SQLITE_NOLFS, large files are not supported here",
            23 => "SQLITE_AUTH, access was denied",
            24 => "SQLITE_FORMAT",
            25 => "SQLITE_RANGE, a parameter index is out of range",
            26 => "SQLITE_NOTADB, the file is not a database",
            27 => "SQLITE_NOTICE",
            28 => "SQLITE_WARNING",
            100 => "SQLITE_ROW, reported as an error",
            101 => "SQLITE_DONE, reported as an error",
            _ => $"result code {code.ToString(CultureInfo.InvariantCulture)}, unknown",
        };
        return $"{meaning} ({ex.Message})";
    }

    private async Task<SqliteConnection> OpenReaderAsync(CancellationToken ct)
    {
        var c = new SqliteConnection(_connectionString);
        await c.OpenAsync(ct);
        return c;
    }

    private static async IAsyncEnumerable<SqliteDataReader> Query(SqliteConnection c, string sql, object[] args,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        using var cmd = c.CreateCommand();
#pragma warning disable CA2100 // Only constant SQL with parameters reaches here.
        cmd.CommandText = sql;
#pragma warning restore CA2100
        for (var i = 0; i < args.Length; i++)
        {
            cmd.Parameters.AddWithValue("$" + (i + 1).ToString(CultureInfo.InvariantCulture), args[i]);
        }
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            yield return reader;
        }
    }

    private static SqliteCommand Command(SqliteConnection c, SqliteTransaction tx, string sql, params string[] names)
    {
        var cmd = c.CreateCommand();
        cmd.Transaction = tx;
#pragma warning disable CA2100 // Constant SQL.
        cmd.CommandText = sql;
#pragma warning restore CA2100
        foreach (var n in names)
        {
            cmd.Parameters.Add(new SqliteParameter(n, null));
        }
        cmd.Prepare();
        return cmd;
    }

    private static Task<int> Run(SqliteCommand cmd, CancellationToken ct, params object?[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            cmd.Parameters[i].Value = values[i] ?? DBNull.Value;
        }
        return cmd.ExecuteNonQueryAsync(ct);
    }

    private static async Task ExecuteAsync(SqliteConnection c, string sql, CancellationToken ct)
    {
        using var cmd = c.CreateCommand();
#pragma warning disable CA2100 // Constant SQL.
        cmd.CommandText = sql;
#pragma warning restore CA2100
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private static long Ms(DateTimeOffset t) => t.ToUnixTimeMilliseconds();

    private static long Us(DateTimeOffset t) => (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    private static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private static int? Bool(bool? b) => b is null ? null : b.Value ? 1 : 0;

    private static bool? NullableBool(SqliteDataReader r, int column) => r.IsDBNull(column) ? null : r.GetInt64(column) != 0;
}
