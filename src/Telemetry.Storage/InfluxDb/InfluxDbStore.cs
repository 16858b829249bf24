using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using InfluxDB.Client;
using InfluxDB.Client.Api.Domain;
using InfluxDB.Client.Core.Exceptions;
using Telemetry.Contracts.Configuration;
using Telemetry.Contracts.Readings;

namespace Telemetry.Storage.InfluxDb;

/// <summary>
/// The InfluxDB store (CONTRACT §3). Writes go through InfluxDB.Client's <see cref="WriteApiAsync"/>
/// as line protocol built here, gzip-compressed, at most <see cref="MaxLinesPerRequest"/> lines per
/// request, one request at a time: readings with millisecond timestamps, then dead letters with
/// microsecond timestamps. API version 2 writes to <c>/api/v2/write</c>; API version 1 (InfluxDB 1.x)
/// has the same requests rewritten to <c>/write</c> by <see cref="InfluxV1WriteHandler"/>.
/// Reads are InfluxQL over <c>GET /query</c>, which InfluxDB 1.x, 2.x (v1 compatibility) and 3.x answer.
/// Text is escaped as CONTRACT §3 says (<see cref="LineProtocol"/>) and unescaped on reading.
/// </summary>
/// <remarks>
/// A reading's identity (measurement, bin, compartment, time) is InfluxDB's own point identity (series
/// and timestamp): a point written again overwrites, field by field, so the later write wins.
/// Status points count in <see cref="CountAsync"/> as, per bin, the largest per-field count (a status
/// carries any subset of its fields; InfluxQL has no count of points across fields); this is exact
/// whenever each of a bin's status points carries one common field (e.g. <c>online</c>).
/// A status without a device timestamp (timed on receipt) that shares its bin and millisecond with
/// another status merges with it (InfluxDB has no row id).
/// Collections and device events (measurements <c>collection</c> and <c>device_event</c>) are points timed in
/// milliseconds like readings, with the same identity rule: their series and time. The community and stream are
/// tags too, so an identity is one point as long as they stay what they were (as for readings).
/// Alert events (measurement <c>alert_event</c>) are points timed in milliseconds at their <see cref="StoredAlertEvent.At"/>, in
/// the series of their bin, community, compartment, kind, severity and type (<see cref="WriteAlertEventsAsync"/>).
/// Job events (measurement <c>job_event</c>) likewise, at their <see cref="StoredJobEvent.At"/>, in the series of their bin,
/// community, job id, stream and type (<see cref="WriteJobEventsAsync"/>). Vehicle positions (<c>vehicle_position</c>) are
/// readings of the series (vehicle, stream) at their <c>ts</c>; route plans (<c>route_plan</c>) points of the series (plan, revision,
/// stream) at their planned time (<see cref="WriteRoutePlanAsync"/>).
/// </remarks>
public sealed class InfluxDbStore : ITelemetryStore
{
    /// <summary>InfluxDB's recommended batch size.</summary>
    public const int MaxLinesPerRequest = 5_000;

    /// <summary>The org sent in API version 1 mode, where the client requires one and the server ignores it.</summary>
    private const string V1Org = "-";

    private readonly InfluxDbStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly InfluxDBClient _client;
    private readonly WriteApiAsync _writeApi;
    private readonly HttpClient? _writeHttp;
    private readonly HttpClient _http;
    private readonly string _org;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly RecentKeys _recentDeadLetters = new(65_536);
    private int _disposed;

    /// <param name="options">Where and how to reach the server.</param>
    /// <param name="time">Runs <see cref="InfluxDbStoreOptions.RequestTimeout"/> (real time; a fake one in tests).</param>
    public InfluxDbStore(InfluxDbStoreOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Url);
        if (!options.Url.IsAbsoluteUri || (options.Url.Scheme != Uri.UriSchemeHttp && options.Url.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"Storage:InfluxDb:Url must be an absolute http(s) URL, not '{options.Url}'", nameof(options));
        }
        if (string.IsNullOrWhiteSpace(options.Bucket))
        {
            throw new ArgumentException("Storage:InfluxDb:Bucket must not be empty", nameof(options));
        }
        if (options.Timeout <= TimeSpan.Zero || options.RequestTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("the InfluxDB timeouts must be positive", nameof(options));
        }
        _options = options;
        _time = time ?? TimeProvider.System;

        var clientOptions = new InfluxDBClientOptions(options.Url.ToString())
        {
            Bucket = options.Bucket,
            Timeout = options.Timeout,
        };
        switch (options.ApiVersion)
        {
            case 1:
                _org = V1Org;
                _writeHttp = new HttpClient(new InfluxV1WriteHandler(options.Username, options.Password) { InnerHandler = new SocketsHttpHandler() })
                {
                    Timeout = options.Timeout + TimeSpan.FromSeconds(5),
                };
                clientOptions.Org = _org;
                clientOptions.HttpClient = _writeHttp;
                break;
            case 2:
                if (string.IsNullOrWhiteSpace(options.Token))
                {
                    throw new ArgumentException("Storage:InfluxDb:Token is required with Storage:InfluxDb:ApiVersion 2", nameof(options));
                }
                if (string.IsNullOrWhiteSpace(options.Org))
                {
                    throw new ArgumentException("Storage:InfluxDb:Org is required with Storage:InfluxDb:ApiVersion 2", nameof(options));
                }
                _org = options.Org;
                clientOptions.Org = _org;
                clientOptions.Token = options.Token;
                break;
            default:
                throw new ArgumentException($"Storage:InfluxDb:ApiVersion must be 1 or 2, not {options.ApiVersion}", nameof(options));
        }
        _client = new InfluxDBClient(clientOptions);
        _client.EnableGzip();
        _writeApi = _client.GetWriteApiAsync();

        var baseUrl = options.Url.ToString();
        _http = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.All })
        {
            BaseAddress = new Uri(baseUrl.EndsWith('/') ? baseUrl : baseUrl + "/"),
            Timeout = options.Timeout,
        };
        if (options.ApiVersion == 2)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Token", options.Token);
        }
    }

    public string Name => "influxdb";

    public InfluxDbStoreOptions Options => _options;

    /// <summary>
    /// Checks, each request within <see cref="InfluxDbStoreOptions.RequestTimeout"/>: the server answers
    /// (<c>/ping</c>); with API version 1, the credentials (<c>SHOW DATABASES</c>, which every user may run)
    /// and, with <see cref="InfluxDbStoreOptions.CreateDatabase"/>, the database, created only when the
    /// user cannot see it (<c>CREATE DATABASE</c> needs admin rights even for a database that exists, and
    /// a user with WRITE on an existing database must not be refused for lacking them); finally an empty
    /// write, which needs exactly the rights ingestion needs and stores nothing. Wrong credentials, missing
    /// rights or a missing bucket throw <see cref="ConfigurationException"/> naming the key.
    /// </summary>
    public async Task InitializeAsync(CancellationToken ct)
    {
        await PingAsync(ct);
        var created = false;
        if (_options.ApiVersion == 1)
        {
            var databases = await ShowDatabasesAsync(ct);
            if (_options.CreateDatabase && !databases.Contains(_options.Bucket))
            {
                await CreateDatabaseAsync(ct);
                created = true;
            }
        }
        await CheckWriteAccessAsync(created, ct);
    }

    public async Task WriteAsync(IReadOnlyList<Reading> readings, IReadOnlyList<DeadLetter> deadLetters, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(readings);
        ArgumentNullException.ThrowIfNull(deadLetters);
        // Formatting first: a reading InfluxDB cannot hold rejects the batch before anything is sent.
        var lines = new List<string>(readings.Count);
        foreach (var reading in readings)
        {
            lines.Add(LineProtocol.Format(reading));
        }
        await _writeLock.WaitAsync(ct);
        try
        {
            var (deadLines, keys) = PlaceDeadLetters(deadLetters);
            await SendAsync(lines, WritePrecision.Ms, ct);
            await SendAsync(deadLines, WritePrecision.Us, ct);
            _recentDeadLetters.AddRange(keys);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<IReadOnlyList<LatestCompartment>> GetLatestAsync(CancellationToken ct)
    {
        var results = await QueryAsync("ms", ct,
            "SELECT last(\"pct\") FROM \"fill\" GROUP BY \"bin\", \"compartment\", \"community\", \"stream\"",
            "SELECT last(\"net_kg\") FROM \"weight\" GROUP BY \"bin\", \"compartment\", \"community\", \"stream\"");
        var latest = new Dictionary<(string, string), LatestCompartment>();
        // A compartment whose community or stream changed has several series: the latest point wins.
        foreach (var (s, row) in Rows(results[0]))
        {
            var key = (s.Tag("bin"), s.Tag("compartment"));
            var time = FromMs(Series.Long(row[0]));
            if (latest.TryGetValue(key, out var seen) && seen.FillTime >= time)
            {
                continue;
            }
            latest[key] = new LatestCompartment(key.Item1, s.Tag("community"), key.Item2, s.Tag("stream"), time, Series.Double(row[1]), null, null);
        }
        var weights = new Dictionary<(string, string), (DateTimeOffset Time, double? NetKg, string Community, string Stream)>();
        foreach (var (s, row) in Rows(results[1]))
        {
            var key = (s.Tag("bin"), s.Tag("compartment"));
            var time = FromMs(Series.Long(row[0]));
            if (!weights.TryGetValue(key, out var seen) || seen.Time < time)
            {
                weights[key] = (time, Series.Double(row[1]), s.Tag("community"), s.Tag("stream"));
            }
        }
        foreach (var (key, w) in weights)
        {
            var l = latest.GetValueOrDefault(key) ?? new LatestCompartment(key.Item1, w.Community, key.Item2, w.Stream, null, null, null, null);
            latest[key] = l with { WeightTime = w.Time, NetKg = w.NetKg };
        }
        return [.. latest.Values.OrderBy(l => l.BinId, StringComparer.Ordinal).ThenBy(l => l.Compartment, StringComparer.Ordinal)];
    }

    public async Task<IReadOnlyList<LatestStatus>> GetLatestStatusAsync(CancellationToken ct)
    {
        string[] fields = ["online", "battery_pct", "temp_c", "tilt", "door_open"];
        // One statement per field: last() skips points without the field and gives that point's time.
        var results = await QueryAsync("ms", ct, [.. fields.Select(f => $"SELECT last({InfluxQl.Ident(f)}) FROM \"status\" GROUP BY \"bin\"")]);
        var seen = new Dictionary<string, LatestStatus>(StringComparer.Ordinal);
        for (var i = 0; i < fields.Length; i++)
        {
            foreach (var (s, row) in Rows(results[i]))
            {
                var bin = s.Tag("bin");
                var time = FromMs(Series.Long(row[0]));
                var status = seen.GetValueOrDefault(bin) ?? new LatestStatus(bin, time, null, null, null, null, null);
                if (time > status.LastSeen)
                {
                    status = status with { LastSeen = time };
                }
                var v = row[1];
                seen[bin] = fields[i] switch
                {
                    "online" => status with { Online = Series.Bool(v) },
                    "battery_pct" => status with { BatteryPct = Series.Double(v) },
                    "temp_c" => status with { TempC = Series.Double(v) },
                    "tilt" => status with { Tilt = Series.Bool(v) },
                    _ => status with { DoorOpen = Series.Bool(v) },
                };
            }
        }
        return [.. seen.Values.OrderBy(s => s.BinId, StringComparer.Ordinal)];
    }

    public async Task<IReadOnlyList<HistoryBucket>> GetHistoryAsync(string binId, DateTimeOffset start, DateTimeOffset end, TimeSpan every, TimeSpan origin, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(binId);
        ArgumentOutOfRangeException.ThrowIfLessThan(every, TimeSpan.FromMilliseconds(1));
        ArgumentOutOfRangeException.ThrowIfLessThan(origin, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(origin, every);
        if (end <= start)
        {
            return [];
        }
        // GROUP BY time(every, offset) buckets start at the epoch plus the offset plus multiples of the interval.
        var where = $"WHERE \"bin\" = {InfluxQl.Literal(LineProtocol.TagText(binId))} AND {InfluxQl.Range(start, end)}";
        var offset = origin > TimeSpan.Zero ? $", {InfluxQl.Duration(origin)}" : "";
        var group = $"GROUP BY time({InfluxQl.Duration(every)}{offset}), \"compartment\" fill(none)";
        var results = await QueryAsync("ms", ct,
            $"SELECT mean(\"pct\") FROM \"fill\" {where} {group}",
            $"SELECT last(\"net_kg\") FROM \"weight\" {where} {group}");
        var buckets = new Dictionary<(string, DateTimeOffset), HistoryBucket>();
        foreach (var (s, row) in Rows(results[0]))
        {
            var key = (s.Tag("compartment"), FromMs(Series.Long(row[0])));
            buckets[key] = new HistoryBucket(key.Item1, key.Item2, Series.Double(row[1]), null);
        }
        foreach (var (s, row) in Rows(results[1]))
        {
            var key = (s.Tag("compartment"), FromMs(Series.Long(row[0])));
            var bucket = buckets.GetValueOrDefault(key) ?? new HistoryBucket(key.Item1, key.Item2, null, null);
            buckets[key] = bucket with { NetKg = Series.Double(row[1]) };
        }
        return [.. buckets.Values.OrderBy(b => b.Compartment, StringComparer.Ordinal).ThenBy(b => b.Start)];
    }

    public async Task<IReadOnlyList<DepositTotal>> GetDepositsAsync(DateTimeOffset start, DateTimeOffset end, TimeZoneInfo zone, string? binId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(zone);
        if (end <= start)
        {
            return [];
        }
        var totals = new Dictionary<(DateOnly, string, string, string), double>();
        var range = InfluxQl.Range(start, end) + (binId is null ? "" : $" AND \"bin\" = {InfluxQl.Literal(LineProtocol.TagText(binId))}");
        if (IanaId(zone) is { } iana)
        {
            // Local days in InfluxQL, as analysts query them: each bucket starts at local midnight.
            // The day is read 12 hours into the bucket, safe from daylight-saving shifts of its start.
            var results = await QueryAsync("ms", ct,
                $"SELECT sum(\"deposit_kg\") FROM \"weight\" WHERE {range} GROUP BY time(1d), \"community\", \"stream\", \"compartment\" fill(none) tz({InfluxQl.Literal(iana)})");
            foreach (var (s, row) in Rows(results[0]))
            {
                var day = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(FromMs(Series.Long(row[0])).AddHours(12), zone).DateTime);
                var key = (day, s.Tag("community"), s.Tag("stream"), s.Tag("compartment"));
                totals[key] = totals.GetValueOrDefault(key) + (Series.Double(row[1]) ?? 0);
            }
        }
        else
        {
            // A zone without an IANA id (a custom one): sum per 15-minute slot (every offset is a
            // multiple of 15 minutes) and assign slots to local days here.
            var results = await QueryAsync("ms", ct,
                $"SELECT sum(\"deposit_kg\") FROM \"weight\" WHERE {range} GROUP BY time(15m), \"community\", \"stream\", \"compartment\" fill(none)");
            foreach (var (s, row) in Rows(results[0]))
            {
                var day = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(FromMs(Series.Long(row[0])), zone).DateTime);
                var key = (day, s.Tag("community"), s.Tag("stream"), s.Tag("compartment"));
                totals[key] = totals.GetValueOrDefault(key) + (Series.Double(row[1]) ?? 0);
            }
        }
        return [.. totals.Select(kv => new DepositTotal(kv.Key.Item1, kv.Key.Item2, kv.Key.Item3, kv.Key.Item4, kv.Value))
            .OrderBy(d => d.Day).ThenBy(d => d.Community, StringComparer.Ordinal).ThenBy(d => d.Material, StringComparer.Ordinal)];
    }

    public async Task<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(DateTimeOffset start, DateTimeOffset end, int limit, DeadLetterFilter filter, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(filter);
        // LIMIT 0 means no limit in InfluxQL.
        if (limit <= 0 || end <= start)
        {
            return [];
        }
        var results = await QueryAsync("u", ct,
            "SELECT \"topic\"::field, \"payload\"::field, \"error\"::field, \"reason\"::tag, \"bin\"::tag, \"ingester\"::tag FROM \"dead_letter\" " +
            $"WHERE {InfluxQl.Range(start, end)}{DeadLetterWhere(filter)} ORDER BY time DESC LIMIT {limit.ToString(CultureInfo.InvariantCulture)}");
        var list = new List<DeadLetter>();
        foreach (var (s, row) in Rows(results[0]))
        {
            string Text(string column) => LineProtocol.UnescapeText(Series.String(row[s.Column(column)]) ?? "");
            list.Add(new DeadLetter(LineProtocol.FromUnixMicroseconds(Series.Long(row[0])),
                Text("reason"), Text("bin"), Text("ingester"), Text("topic"), Text("payload"), Text("error")));
        }
        return [.. list.OrderByDescending(d => d.ReceivedAt).Take(limit)];
    }

    public async Task<IReadOnlyList<DeadLetterCount>> GetDeadLettersByReasonAsync(DateTimeOffset start, DateTimeOffset end, DeadLetterFilter filter, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (end <= start)
        {
            return [];
        }
        var results = await QueryAsync("ms", ct,
            $"SELECT count(\"error\") FROM \"dead_letter\" WHERE {InfluxQl.Range(start, end)}{DeadLetterWhere(filter)} GROUP BY \"reason\"");
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (s, row) in Rows(results[0]))
        {
            counts[s.Tag("reason")] = counts.GetValueOrDefault(s.Tag("reason")) + Series.Long(row[1]);
        }
        return [.. counts.Where(kv => kv.Value > 0).OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => new DeadLetterCount(kv.Key, kv.Value))];
    }

    private static string DeadLetterWhere(DeadLetterFilter filter) =>
        (filter.Reason is { } reason ? $" AND \"reason\" = {InfluxQl.Literal(LineProtocol.TagText(reason))}" : "") +
        (filter.Bin is { } bin ? $" AND \"bin\" = {InfluxQl.Literal(LineProtocol.TagText(bin))}" : "");

    public async Task<StoredCounts> CountAsync(DateTimeOffset start, DateTimeOffset end, string? binPrefix, CancellationToken ct)
    {
        BinPrefix.Check(binPrefix);
        if (end <= start)
        {
            return new StoredCounts(0, 0, 0, 0);
        }
        var range = InfluxQl.Range(start, end) + (string.IsNullOrEmpty(binPrefix) ? "" : $" AND \"bin\" =~ /^{binPrefix}/");
        var results = await QueryAsync("ms", ct,
            $"SELECT count(\"pct\") FROM \"fill\" WHERE {range}",
            $"SELECT count(\"net_kg\") FROM \"weight\" WHERE {range}",
            $"SELECT count(*) FROM \"status\" WHERE {range} GROUP BY \"bin\"",
            $"SELECT count(\"error\") FROM \"dead_letter\" WHERE {range}");
        static long Single(List<Series> series) => Rows(series).Sum(x => Series.Long(x.Row[1]));
        long status = 0;
        foreach (var (_, row) in Rows(results[2]))
        {
            // Columns: time, count_online, count_battery_pct, ... (those present).
            status += row.Skip(1).Select(Series.Long).DefaultIfEmpty(0).Max();
        }
        return new StoredCounts(Single(results[0]), Single(results[1]), status, Single(results[3]));
    }

    public async Task<int> CountReadingsAsync(string binId, DateTimeOffset time, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(binId);
        // Tag equality and time equality, no GROUP BY, one request: influxd looks up the bin's few series by the
        // tag index and reads one timestamp from each, instead of scanning a range or matching a regular expression.
        var at = DateTimeOffset.FromUnixTimeMilliseconds(time.ToUnixTimeMilliseconds());
        var where = $"WHERE \"bin\" = {InfluxQl.Literal(LineProtocol.TagText(binId))} AND time = {InfluxQl.Time(at)}";
        var results = await QueryAsync("ms", ct,
            $"SELECT count(\"pct\") FROM \"fill\" {where}",
            $"SELECT count(\"net_kg\") FROM \"weight\" {where}",
            $"SELECT count(*) FROM \"status\" {where}");
        static long Single(List<Series> series) => Rows(series).Sum(x => Series.Long(x.Row[1]));
        // Status: the largest per-field count (as in CountAsync); one bin at one millisecond holds at most one from the device.
        var status = Rows(results[2]).Sum(x => x.Row.Skip(1).Select(Series.Long).DefaultIfEmpty(0).Max());
        return checked((int)(Single(results[0]) + Single(results[1]) + status));
    }

    /// <summary>
    /// The readings in [start, end) of the bins named (all when <paramref name="binIds"/> is null), in the contract's
    /// order: three statements (fill, weight, status) per request, grouped by the tags that the readings carry, the bins
    /// as an <c>OR</c> of tag equalities (quoted as every query quotes them), at most <see cref="MaxBinsPerQuery"/> per
    /// request. The answer is read in place (<see cref="InfluxQl.Visit"/>), and one the server cut short is asked for
    /// again in halves (<see cref="ReadRangeAsync"/>).
    /// </summary>
    /// <remarks>
    /// InfluxDB keeps no mark of where a status's time came from, so <see cref="StatusReading.TimeFromDevice"/> is true
    /// exactly when the stored point has a <c>seq</c>: a device that sends its sequence number sends its time with it, and
    /// a status timed on receipt without either reads back as not timed by the device.
    /// </remarks>
    public async Task<IReadOnlyList<Reading>> GetReadingsAsync(IReadOnlyCollection<string>? binIds, DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        if (end <= start || binIds is { Count: 0 })
        {
            return [];
        }
        var readings = new List<Reading>();
        IReadOnlyList<string[]?> chunks = binIds is null ? [null] : [.. binIds.Distinct(StringComparer.Ordinal).Chunk(MaxBinsPerQuery)];
        foreach (var bins in chunks)
        {
            var binWhere = bins is null ? "" : $" AND ({string.Join(" OR ", bins.Select(BinEquals))})";
            await ReadRangeAsync(start, end, range =>
            [
                $"SELECT \"pct\", \"seq\" FROM \"fill\" WHERE {range}{binWhere} GROUP BY \"bin\", \"community\", \"compartment\", \"stream\"",
                $"SELECT \"net_kg\", \"deposit_kg\", \"seq\" FROM \"weight\" WHERE {range}{binWhere} GROUP BY \"bin\", \"community\", \"compartment\", \"stream\"",
                $"SELECT \"online\", \"battery_pct\", \"temp_c\", \"tilt\", \"door_open\", \"seq\" FROM \"status\" WHERE {range}{binWhere} GROUP BY \"bin\", \"community\"",
            ], ReadReadings, readings, ct);
        }
        return StoreOrder.Readings(readings);
    }

    /// <summary>At most this many bins in one readings request: about 30 characters each in the URL.</summary>
    internal const int MaxBinsPerQuery = 100;

    private static string BinEquals(string binId) => $"\"bin\" = {InfluxQl.Literal(LineProtocol.TagText(binId))}";

    /// <summary>The rows of one series of <see cref="GetReadingsAsync"/>'s statements (0 fill, 1 weight, 2 status).</summary>
    private static void ReadReadings(int statement, Series s, JsonElement values, List<Reading> into)
    {
        var bin = s.Tag("bin");
        var community = s.Tag("community");
        var seq = s.ColumnOrMissing("seq");
        switch (statement)
        {
            case 0:
            {
                var (compartment, stream, pct) = (s.Tag("compartment"), s.Tag("stream"), s.ColumnOrMissing("pct"));
                foreach (var row in values.EnumerateArray())
                {
                    if (Series.Double(Series.Cell(row, pct)) is { } p)
                    {
                        into.Add(new FillReading(bin, community, compartment, stream, FromMs(Series.Long(row[0])), Series.Long(Series.Cell(row, seq)), p));
                    }
                }
                break;
            }
            case 1:
            {
                var (compartment, stream) = (s.Tag("compartment"), s.Tag("stream"));
                var (net, deposit) = (s.ColumnOrMissing("net_kg"), s.ColumnOrMissing("deposit_kg"));
                foreach (var row in values.EnumerateArray())
                {
                    if (Series.Double(Series.Cell(row, net)) is { } kg)
                    {
                        into.Add(new WeightReading(bin, community, compartment, stream, FromMs(Series.Long(row[0])), Series.Long(Series.Cell(row, seq)), kg,
                            Series.Double(Series.Cell(row, deposit))));
                    }
                }
                break;
            }
            default:
            {
                var (online, battery, temp) = (s.ColumnOrMissing("online"), s.ColumnOrMissing("battery_pct"), s.ColumnOrMissing("temp_c"));
                var (tilt, door) = (s.ColumnOrMissing("tilt"), s.ColumnOrMissing("door_open"));
                foreach (var row in values.EnumerateArray())
                {
                    var q = Series.Cell(row, seq);
                    long? sequence = q.ValueKind == JsonValueKind.Number ? q.GetInt64() : null;
                    into.Add(new StatusReading(bin, community, FromMs(Series.Long(row[0])), sequence, sequence is not null,
                        Series.Bool(Series.Cell(row, online)), Series.Double(Series.Cell(row, battery)), Series.Double(Series.Cell(row, temp)),
                        Series.Bool(Series.Cell(row, tilt)), Series.Bool(Series.Cell(row, door))));
                }
                break;
            }
        }
    }

    /// <summary>
    /// Collections and device events as points of <c>collection</c> and <c>device_event</c> at millisecond precision, in
    /// one write of at most <see cref="MaxLinesPerRequest"/> lines per request; errors map as <see cref="WriteAsync"/>'s.
    /// An event's identity is its series (bin, compartment or kind, and the community and stream it carries) and time:
    /// one written again overwrites field by field, and a <c>seq</c> the later write does not give stays.
    /// </summary>
    public async Task WriteEventsAsync(IReadOnlyList<CollectionEvent> collections, IReadOnlyList<DeviceEvent> deviceEvents, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(collections);
        ArgumentNullException.ThrowIfNull(deviceEvents);
        // Formatting first: an event InfluxDB cannot hold rejects the batch before anything is sent.
        var lines = new List<string>(collections.Count + deviceEvents.Count);
        lines.AddRange(collections.Select(LineProtocol.Format));
        lines.AddRange(deviceEvents.Select(LineProtocol.Format));
        await SendEventLinesAsync(lines, ct);
    }

    public async Task<IReadOnlyList<CollectionEvent>> GetCollectionsAsync(string? binId, DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        if (end <= start)
        {
            return [];
        }
        var binWhere = binId is null ? "" : " AND " + BinEquals(binId);
        var list = new List<CollectionEvent>();
        await ReadRangeAsync(start, end, range =>
        [
            $"SELECT \"kg_collected\", \"fill_before_pct\", \"fill_after_pct\" FROM \"collection\" WHERE {range}{binWhere} GROUP BY \"bin\", \"community\", \"compartment\", \"stream\"",
        ], static (_, s, values, into) =>
        {
            var (bin, community, compartment, stream) = (s.Tag("bin"), s.Tag("community"), s.Tag("compartment"), s.Tag("stream"));
            var (kg, before, after) = (s.ColumnOrMissing("kg_collected"), s.ColumnOrMissing("fill_before_pct"), s.ColumnOrMissing("fill_after_pct"));
            foreach (var row in values.EnumerateArray())
            {
                into.Add(new CollectionEvent(bin, community, compartment, stream, FromMs(Series.Long(row[0])),
                    Series.Double(Series.Cell(row, kg)) ?? double.NaN, Series.Double(Series.Cell(row, before)) ?? double.NaN, Series.Double(Series.Cell(row, after)) ?? double.NaN));
            }
        }, list, ct);
        return StoreOrder.Collections(list);
    }

    public async Task<IReadOnlyList<DeviceEvent>> GetDeviceEventsAsync(string? binId, DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        if (end <= start)
        {
            return [];
        }
        var binWhere = binId is null ? "" : " AND " + BinEquals(binId);
        var list = new List<DeviceEvent>();
        await ReadRangeAsync(start, end, range =>
        [
            $"SELECT \"seq\", \"detail\" FROM \"device_event\" WHERE {range}{binWhere} GROUP BY \"bin\", \"community\", \"kind\"",
        ], static (_, s, values, into) =>
        {
            var (bin, community, kind) = (s.Tag("bin"), s.Tag("community"), s.Tag("kind"));
            var (seq, detail) = (s.ColumnOrMissing("seq"), s.ColumnOrMissing("detail"));
            foreach (var row in values.EnumerateArray())
            {
                var q = Series.Cell(row, seq);
                into.Add(new DeviceEvent(bin, community, FromMs(Series.Long(row[0])), kind, q.ValueKind == JsonValueKind.Number ? q.GetInt64() : null,
                    LineProtocol.UnescapeText(Series.String(Series.Cell(row, detail)) ?? "")));
            }
        }, list, ct);
        return StoreOrder.DeviceEvents(list);
    }

    /// <summary>
    /// Alert events as points of <c>alert_event</c> at millisecond precision (<see cref="LineProtocol.Format(StoredAlertEvent)"/>),
    /// at most <see cref="MaxLinesPerRequest"/> lines per request; errors map as <see cref="WriteAsync"/>'s.
    /// </summary>
    /// <remarks>
    /// An event's identity in InfluxDB is its series and time: the tags <c>bin</c>, <c>compartment</c>, <c>kind</c> and
    /// <c>type</c> of the contract's identity (bin, compartment, kind, type, at), and also <c>community</c> and <c>severity</c>.
    /// The same event written again is one point, overwritten field by field (a <c>cleared_at</c>, <c>acknowledged_at</c> or
    /// <c>acknowledged_by</c> the later write does not give stays), as long as its community and severity stay what they
    /// were; written again with another severity it would be a second point. The alert engine never does that: an event is
    /// only ever written again as it was (a retried batch), and a change of severity is an event of its own
    /// (<c>escalated</c>, at its own time).
    /// </remarks>
    public async Task WriteAlertEventsAsync(IReadOnlyList<StoredAlertEvent> events, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(events);
        // Formatting first: an event InfluxDB cannot hold rejects the batch before anything is sent.
        var lines = events.Select(LineProtocol.Format).ToList();
        await SendEventLinesAsync(lines, ct);
    }

    /// <summary>Event lines at millisecond precision, one writer at a time (as readings are written).</summary>
    private async Task SendEventLinesAsync(List<string> lines, CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct);
        try
        {
            await SendAsync(lines, WritePrecision.Ms, ct);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Two steps: the time of the <paramref name="limit"/>-th newest point of [start, end) (<c>ORDER BY time DESC LIMIT 1
    /// OFFSET limit - 1</c> over all series, one row whatever the limit), then every point from that millisecond to
    /// <paramref name="end"/>, grouped by the tags and read as <see cref="ReadRangeAsync"/> reads (an answer cut short is asked
    /// for again in halves); of those, the newest <paramref name="limit"/> in the contract's order
    /// (<see cref="StoreOrder.NewestAlertEvents"/>). A point without a parsable <c>raised_at</c> (not written here) reads with
    /// <see cref="DateTimeOffset.MinValue"/>.
    /// </summary>
    public async Task<IReadOnlyList<StoredAlertEvent>> GetAlertEventsAsync(DateTimeOffset start, DateTimeOffset end, int limit, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        if (end <= start)
        {
            return [];
        }
        var from = start;
        var nth = await QueryAsync("ms", ct,
            $"SELECT \"alert_id\" FROM \"alert_event\" WHERE {InfluxQl.Range(start, end)} ORDER BY time DESC LIMIT 1 OFFSET {(limit - 1).ToString(CultureInfo.InvariantCulture)}");
        foreach (var (_, row) in Rows(nth[0]))
        {
            var at = FromMs(Series.Long(row[0]));
            from = at > from ? at : from;
        }
        var list = new List<StoredAlertEvent>();
        await ReadRangeAsync(from, end, range =>
        [
            "SELECT \"alert_id\", \"raised_at\", \"cleared_at\", \"acknowledged_at\", \"acknowledged_by\" FROM \"alert_event\" " +
            $"WHERE {range} GROUP BY \"bin\", \"community\", \"compartment\", \"kind\", \"severity\", \"type\"",
        ], static (_, s, values, into) =>
        {
            var (bin, community, kind, severity, type) = (s.Tag("bin"), s.Tag("community"), s.Tag("kind"), s.Tag("severity"), s.Tag("type"));
            var compartment = s.Tag("compartment") is { Length: > 0 } c ? c : null;
            var (id, raised, cleared) = (s.ColumnOrMissing("alert_id"), s.ColumnOrMissing("raised_at"), s.ColumnOrMissing("cleared_at"));
            var (acknowledgedAt, acknowledgedBy) = (s.ColumnOrMissing("acknowledged_at"), s.ColumnOrMissing("acknowledged_by"));
            foreach (var row in values.EnumerateArray())
            {
                string? Text(int column) => Series.String(Series.Cell(row, column)) is { } text ? LineProtocol.UnescapeText(text) : null;
                into.Add(new StoredAlertEvent(type, FromMs(Series.Long(row[0])), Text(id) ?? "", bin, community, compartment, kind, severity,
                    LineProtocol.ParseAlertTime(Text(raised)) ?? DateTimeOffset.MinValue, LineProtocol.ParseAlertTime(Text(cleared)),
                    LineProtocol.ParseAlertTime(Text(acknowledgedAt)), Text(acknowledgedBy)));
            }
        }, list, ct);
        return StoreOrder.NewestAlertEvents(list, limit);
    }

    /// <summary>
    /// Job events as points of <c>job_event</c> at millisecond precision (<see cref="LineProtocol.Format(StoredJobEvent)"/>),
    /// at most <see cref="MaxLinesPerRequest"/> lines per request; errors map as <see cref="WriteAsync"/>'s.
    /// </summary>
    /// <remarks>
    /// An event's identity in InfluxDB is its series and time: the tags <c>job</c> and <c>type</c> of the contract's identity
    /// (job id, type, at), and also <c>bin</c>, <c>community</c> and <c>stream</c>, which a job keeps for its life. The job id is a
    /// tag so that two jobs' events of one type at one millisecond (a bin's scheduled job and a dispatcher's for another
    /// compartment of the same stream, closed by one emptying) are two points; it makes a series per job and type (up to
    /// four per job). The same event written again is one point, overwritten field by field: a <c>predicted_full_at</c>,
    /// <c>vehicle</c>, <c>planned_at</c>, <c>completed_at</c>, <c>cancelled_at</c> or <c>by</c> the later write does not give
    /// stays.
    /// </remarks>
    public async Task WriteJobEventsAsync(IReadOnlyList<StoredJobEvent> events, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(events);
        // Formatting first: an event InfluxDB cannot hold rejects the batch before anything is sent.
        var lines = events.Select(LineProtocol.Format).ToList();
        await SendEventLinesAsync(lines, ct);
    }

    /// <summary>
    /// As <see cref="GetAlertEventsAsync"/>: the time of the <paramref name="limit"/>-th newest point of [start, end), then every
    /// point from that millisecond to <paramref name="end"/>, grouped by the tags; of those, the newest <paramref name="limit"/>
    /// in the contract's order (<see cref="StoreOrder.NewestJobEvents"/>). The job id is read from the tag <c>job</c>. A point
    /// without a parsable <c>deadline</c> or <c>requested_at</c> (not written here) reads with <see cref="DateTimeOffset.MinValue"/>.
    /// </summary>
    public async Task<IReadOnlyList<StoredJobEvent>> GetJobEventsAsync(DateTimeOffset start, DateTimeOffset end, int limit, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        if (end <= start)
        {
            return [];
        }
        var from = start;
        var nth = await QueryAsync("ms", ct,
            $"SELECT \"job_id\" FROM \"job_event\" WHERE {InfluxQl.Range(start, end)} ORDER BY time DESC LIMIT 1 OFFSET {(limit - 1).ToString(CultureInfo.InvariantCulture)}");
        foreach (var (_, row) in Rows(nth[0]))
        {
            var at = FromMs(Series.Long(row[0]));
            from = at > from ? at : from;
        }
        var list = new List<StoredJobEvent>();
        await ReadRangeAsync(from, end, range =>
        [
            "SELECT \"compartments\", \"reason\", \"priority\", \"predicted_full_at\", \"deadline\", \"state\", \"vehicle\", " +
            "\"requested_at\", \"requested_by\", \"planned_at\", \"completed_at\", \"cancelled_at\", \"by\" FROM \"job_event\" " +
            $"WHERE {range} GROUP BY \"bin\", \"community\", \"job\", \"stream\", \"type\"",
        ], static (_, s, values, into) =>
        {
            var (bin, community, job, stream, type) = (s.Tag("bin"), s.Tag("community"), s.Tag("job"), s.Tag("stream"), s.Tag("type"));
            var (compartments, reason, priority) = (s.ColumnOrMissing("compartments"), s.ColumnOrMissing("reason"), s.ColumnOrMissing("priority"));
            var (predicted, deadline, state, vehicle) = (s.ColumnOrMissing("predicted_full_at"), s.ColumnOrMissing("deadline"), s.ColumnOrMissing("state"), s.ColumnOrMissing("vehicle"));
            var (requestedAt, requestedBy, planned) = (s.ColumnOrMissing("requested_at"), s.ColumnOrMissing("requested_by"), s.ColumnOrMissing("planned_at"));
            var (completed, cancelled, by) = (s.ColumnOrMissing("completed_at"), s.ColumnOrMissing("cancelled_at"), s.ColumnOrMissing("by"));
            foreach (var row in values.EnumerateArray())
            {
                string? Text(int column) => Series.String(Series.Cell(row, column)) is { } text ? LineProtocol.UnescapeText(text) : null;
                DateTimeOffset? Time(int column) => LineProtocol.ParseAlertTime(Text(column));
                into.Add(new StoredJobEvent(type, FromMs(Series.Long(row[0])), job, bin, community, JobCompartments.Split(Text(compartments)), stream,
                    Text(reason) ?? "", Text(priority) ?? "", Time(predicted), Time(deadline) ?? DateTimeOffset.MinValue, Text(state) ?? "", Text(vehicle),
                    Time(requestedAt) ?? DateTimeOffset.MinValue, Text(requestedBy) ?? "", Time(planned), Time(completed), Time(cancelled), Text(by)));
            }
        }, list, ct);
        return StoreOrder.NewestJobEvents(list, limit);
    }

    /// <summary>
    /// The newest point of each series of <c>vehicle_position</c> (<c>ORDER BY time DESC LIMIT 1</c> per series: one row, the
    /// point's own time, which <c>last()</c> of three fields would not give), the newest per vehicle where its stream tag changed.
    /// </summary>
    public async Task<IReadOnlyList<VehiclePositionReading>> GetLatestVehiclePositionsAsync(CancellationToken ct)
    {
        var results = await QueryAsync("ms", ct,
            "SELECT \"lat\", \"lon\", \"speed_kmh\" FROM \"vehicle_position\" GROUP BY \"vehicle\", \"stream\" ORDER BY time DESC LIMIT 1");
        var list = new List<VehiclePositionReading>();
        foreach (var (s, row) in Rows(results[0]))
        {
            var (lat, lon, speed) = (s.ColumnOrMissing("lat"), s.ColumnOrMissing("lon"), s.ColumnOrMissing("speed_kmh"));
            double? Number(int column) => column >= 0 && column < row.Length ? Series.Double(row[column]) : null;
            if (Number(lat) is { } la && Number(lon) is { } lo)
            {
                list.Add(new VehiclePositionReading(s.Tag("vehicle"), s.Tag("stream"), FromMs(Series.Long(row[0])), la, lo, Number(speed) ?? double.NaN));
            }
        }
        return StoreOrder.LatestPositions(list.OrderBy(p => p.Time));
    }

    /// <summary>
    /// A point of <c>route_plan</c> at millisecond precision (<see cref="LineProtocol.Format(StoredRoutePlan)"/>). Its series is the
    /// plan id, revision and stream, its time the planned time: the same plan written again is one point, overwritten. Errors as
    /// <see cref="WriteAsync"/>'s.
    /// </summary>
    public async Task WriteRoutePlanAsync(StoredRoutePlan plan, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentException.ThrowIfNullOrEmpty(plan.PlanId);
        await SendEventLinesAsync([LineProtocol.Format(plan)], ct);
    }

    /// <summary>
    /// The plans selected by their shift fields (<c>shift_end_ms &gt;= from AND shift_start_ms &lt;= to</c>), over every planned
    /// time, read as <see cref="ReadRangeAsync"/> reads; per plan id and revision the point with the latest planned time (a
    /// plan written again with another planned time is a second point), in <see cref="StoreOrder.RoutePlans"/>' order.
    /// </summary>
    public async Task<IReadOnlyList<StoredRoutePlan>> GetRoutePlansAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        var shift = $"\"shift_end_ms\" >= {Ms(from)} AND \"shift_start_ms\" <= {Ms(to)}";
        var list = new List<StoredRoutePlan>();
        await ReadRangeAsync(DateTimeOffset.UnixEpoch, PlansUntil, range =>
        [
            $"SELECT \"shift_start_ms\", \"shift_end_ms\", \"body\" FROM \"route_plan\" WHERE {range} AND {shift} GROUP BY \"plan\", \"revision\", \"stream\"",
        ], static (_, s, values, into) =>
        {
            var (plan, stream) = (s.Tag("plan"), s.Tag("stream"));
            var revision = int.TryParse(s.Tag("revision"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var r) ? r : -1;
            var (start, end, body) = (s.ColumnOrMissing("shift_start_ms"), s.ColumnOrMissing("shift_end_ms"), s.ColumnOrMissing("body"));
            foreach (var row in values.EnumerateArray())
            {
                into.Add(new StoredRoutePlan(plan, revision, stream, FromMs((long)(Series.Double(Series.Cell(row, start)) ?? 0)),
                    FromMs((long)(Series.Double(Series.Cell(row, end)) ?? 0)), FromMs(Series.Long(row[0])),
                    LineProtocol.UnescapeText(Series.String(Series.Cell(row, body)) ?? "")));
            }
        }, list, ct);
        var newest = new Dictionary<(string, int), StoredRoutePlan>();
        foreach (var p in list)
        {
            if (!newest.TryGetValue((p.PlanId, p.Revision), out var seen) || p.PlannedAt >= seen.PlannedAt)
            {
                newest[(p.PlanId, p.Revision)] = p;
            }
        }
        return StoreOrder.RoutePlans(newest.Values);

        static string Ms(DateTimeOffset t) => t.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>The end of the planned times <see cref="GetRoutePlansAsync"/> reads: well past any plan, within InfluxDB's time range (2262).</summary>
    private static readonly DateTimeOffset PlansUntil = new(2200, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        // Let a write in flight finish first.
        await _writeLock.WaitAsync();
        try
        {
            _client.Dispose();
            _writeHttp?.Dispose();
            _http.Dispose();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    // ---------------------------------------------------------------- writes

    /// <summary>
    /// Dead-letter lines, each its own point: one that would share its series (tags) and microsecond
    /// with another of this batch or of a recent write is moved 1 µs later (CONTRACT §3).
    /// </summary>
    private (List<string> Lines, List<string> Keys) PlaceDeadLetters(IReadOnlyList<DeadLetter> deadLetters)
    {
        var lines = new List<string>(deadLetters.Count);
        var keys = new List<string>(deadLetters.Count);
        var taken = new HashSet<string>(StringComparer.Ordinal);
        foreach (var d in deadLetters)
        {
            var series = $"{d.BinId}\n{d.Ingester}\n{d.Reason}\n";
            var us = LineProtocol.ToUnixMicroseconds(d.ReceivedAt);
            string key;
            while (taken.Contains(key = series + us.ToString(CultureInfo.InvariantCulture)) || _recentDeadLetters.Contains(key))
            {
                us++;
            }
            taken.Add(key);
            keys.Add(key);
            lines.Add(LineProtocol.Format(d, us));
        }
        return (lines, keys);
    }

    private async Task SendAsync(List<string> lines, WritePrecision precision, CancellationToken ct)
    {
        for (var i = 0; i < lines.Count; i += MaxLinesPerRequest)
        {
            var chunk = lines.GetRange(i, Math.Min(MaxLinesPerRequest, lines.Count - i));
            // A server that took the connection and never answers must not hold ingestion for the HTTP
            // client's whole timeout: each request gets RequestTimeout.
            using var timeout = new CancellationTokenSource(_options.RequestTimeout, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
            try
            {
                await _writeApi.WriteRecordsAsync(chunk, precision, _options.Bucket, _org, linked.Token);
            }
            catch (Exception ex) when (ct.IsCancellationRequested && ex is not StoreRejectedException and not StoreUnavailableException)
            {
                throw new OperationCanceledException("the write was cancelled", ex, ct);
            }
            catch (Exception ex) when (timeout.IsCancellationRequested && ex is not StoreRejectedException and not StoreUnavailableException)
            {
                throw new StoreUnavailableException($"{Target} did not answer a write within {Seconds(_options.RequestTimeout)} s", ex);
            }
            catch (Exception ex) when (MapWriteError(ex) is { } mapped)
            {
                throw mapped;
            }
        }
    }

    /// <summary>What a failed write means for the caller: retry later, or never as is. Null: not ours to map.</summary>
    internal Exception? MapWriteError(Exception ex)
    {
        var target = Target;
        switch (ex)
        {
            case HttpException h:
                var retryAfter = h.RetryAfter is { } seconds && seconds >= 0 ? TimeSpan.FromSeconds(seconds) : (TimeSpan?)null;
                var message = string.IsNullOrWhiteSpace(h.Message) ? "(no message)" : h.Message.Trim();
                return h.Status switch
                {
                    0 => new StoreUnavailableException($"{target} cannot be reached: {Describe(h)}", ex),
                    400 or 413 or 422 => new StoreRejectedException($"{target} refused the data (HTTP {h.Status}): {message}", ex)
                    {
                        IsStoreWide = IsStoreWide(message),
                    },
                    401 or 403 => new StoreUnavailableException(
                        $"{target} refused our credentials (HTTP {h.Status}): {message}; check Storage:InfluxDb:Token (API v2) or Username/Password (API v1)", ex),
                    404 => new StoreUnavailableException($"{target} was not found (HTTP 404): {message}; create it first", ex) { RetryAfter = retryAfter },
                    408 or 429 or >= 500 => new StoreUnavailableException($"{target} is unavailable or overloaded (HTTP {h.Status}): {message}", ex) { RetryAfter = retryAfter },
                    _ => new StoreRejectedException($"{target} refused the write (HTTP {h.Status}): {message}", ex),
                };
            case HttpRequestException or IOException or System.Net.Sockets.SocketException or TimeoutException:
                return new StoreUnavailableException($"{target} cannot be reached: {ex.Message}", ex);
            case OperationCanceledException:
                return new StoreUnavailableException($"{target} did not answer within {_options.Timeout.TotalSeconds:0.###} s", ex);
            case InfluxException i when i.Status == 0:
                return new StoreUnavailableException($"{target} cannot be reached: {Describe(i)}", ex);
            default:
                return null;
        }
    }

    /// <summary>
    /// Refusals that come from the store's state, not from the message: InfluxDB reports them per point,
    /// but every valid point of the kind gets the same answer. A field type conflict means the store holds
    /// a contract field with another type (a point written by someone else: this writer always writes the
    /// contract's types, so a conflict is never the message's fault); the series and tag-value limits refuse
    /// every new series until an operator raises them. 1.x/2.x say "field type conflict", "max-series-per-database
    /// limit exceeded", "max-values-per-tag limit exceeded"; 2.x/3.x "schema conflict" and "invalid column type".
    /// Other refusals, e.g. "points beyond retention policy" (a reading older than the store keeps), are the
    /// message's: waiting would not change them.
    /// </summary>
    internal static bool IsStoreWide(string message) =>
        StoreWideRefusals.Any(m => message.Contains(m, StringComparison.OrdinalIgnoreCase));

    private static readonly string[] StoreWideRefusals =
    [
        "field type conflict", "max-series-per-database limit exceeded", "max-values-per-tag limit exceeded", "schema conflict", "invalid column type",
    ];

    private string Target => $"InfluxDB {_options.Url} ({(_options.ApiVersion == 1 ? "database" : "bucket")} '{_options.Bucket}')";

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);

    private static string Describe(Exception ex)
    {
        var sb = new StringBuilder(ex.Message);
        for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException)
        {
            sb.Append(" -> ").Append(inner.Message);
        }
        return sb.ToString();
    }

    // ---------------------------------------------------------------- reads

    private async Task PingAsync(CancellationToken ct)
    {
        var problems = new List<string>();
        foreach (var path in _options.ApiVersion == 1 ? new[] { "ping" } : ["ping", "health"])
        {
            try
            {
                var (status, _) = await InitRequestAsync(t => _http.GetAsync(new Uri(path, UriKind.Relative), t), $"/{path}", ct);
                if (status is >= 200 and < 300)
                {
                    return;
                }
                problems.Add($"/{path} answered HTTP {status}");
            }
            catch (StoreUnavailableException ex)
            {
                problems.Add(ex.Message);
            }
        }
        throw new StoreUnavailableException($"InfluxDB at {_options.Url} does not answer: {string.Join("; ", problems)}");
    }

    /// <summary>The databases this user can see (API version 1); an authenticated request every user may make.</summary>
    private async Task<HashSet<string>> ShowDatabasesAsync(CancellationToken ct)
    {
        const string Statement = "SHOW DATABASES";
        var uri = new Uri($"query?q={Uri.EscapeDataString(Statement)}{AuthQuery('&')}", UriKind.Relative);
        var (status, body) = await InitRequestAsync(t => _http.GetAsync(uri, t), Statement, ct);
        if (status is 401 or 403)
        {
            throw CredentialsRefused(status, ErrorMessage(body) ?? "", "may not run SHOW DATABASES");
        }
        if (status is < 200 or >= 300)
        {
            throw new StoreUnavailableException($"InfluxDB at {_options.Url} answered HTTP {status} to {Statement}: {ErrorMessage(body)}");
        }
        using var json = JsonDocument.Parse(body);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (_, row) in InfluxQl.Parse(json.RootElement).SelectMany(r => r).SelectMany(x => x.Rows.Select(r => (x, r))))
        {
            if (row.Length > 0 && Series.String(row[0]) is { } name)
            {
                names.Add(name);
            }
        }
        return names;
    }

    private async Task CreateDatabaseAsync(CancellationToken ct)
    {
        var statement = $"CREATE DATABASE {InfluxQl.Ident(_options.Bucket)}";
        var uri = new Uri("query" + AuthQuery('?'), UriKind.Relative);
        using var content = new FormUrlEncodedContent([new("q", statement)]);
        var (status, body) = await InitRequestAsync(t => _http.PostAsync(uri, content, t), "CREATE DATABASE", ct);
        var message = ErrorMessage(body) ?? "";
        if (status == 403 && !string.IsNullOrEmpty(_options.Username))
        {
            throw new ConfigurationException("Storage:InfluxDb:Username",
                $"InfluxDB at {_options.Url}: user '{_options.Username}' may not create database '{_options.Bucket}' (HTTP 403: {message}); " +
                $"create it as an admin and GRANT WRITE and READ on it to '{_options.Username}', or configure an admin user");
        }
        if (status is 401 or 403)
        {
            throw CredentialsRefused(status, message, "may not create the database");
        }
        if (status is < 200 or >= 300)
        {
            throw new StoreUnavailableException($"InfluxDB at {_options.Url} answered HTTP {status} to CREATE DATABASE: {message}");
        }
        using var json = JsonDocument.Parse(body);
        try
        {
            InfluxQl.Parse(json.RootElement);
        }
        catch (InvalidOperationException ex)
        {
            throw new ConfigurationException("Storage:InfluxDb:Bucket", $"InfluxDB at {_options.Url} refused to create database '{_options.Bucket}': {ex.Message}");
        }
    }

    /// <summary>
    /// An empty write: it stores nothing and needs the rights every write needs. A 400 means the server took the
    /// credentials and only disliked the empty body (servers differ there), which is all this checks.
    /// </summary>
    private async Task CheckWriteAccessAsync(bool created, CancellationToken ct)
    {
        var bucket = Uri.EscapeDataString(_options.Bucket);
        var uri = new Uri(_options.ApiVersion == 1
            ? $"write?db={bucket}&precision=ms{AuthQuery('&')}"
            : $"api/v2/write?org={Uri.EscapeDataString(_org)}&bucket={bucket}&precision=ms", UriKind.Relative);
        using var content = new ByteArrayContent([]);
        var (status, body) = await InitRequestAsync(t => _http.PostAsync(uri, content, t), "an empty write", ct);
        var message = ErrorMessage(body) ?? "";
        switch (status)
        {
            case >= 200 and < 300 or 400:
                return;
            case 401 or 403:
                throw CredentialsRefused(status, message, $"may not write to {(_options.ApiVersion == 1 ? "database" : "bucket")} '{_options.Bucket}'");
            case 404 when _options.ApiVersion == 2 && message.Contains("org", StringComparison.OrdinalIgnoreCase):
                throw new ConfigurationException("Storage:InfluxDb:Org", $"InfluxDB at {_options.Url} does not know organisation '{_options.Org}' (HTTP 404: {message})");
            case 404 when !created:
                throw new ConfigurationException("Storage:InfluxDb:Bucket",
                    $"InfluxDB at {_options.Url} has no {(_options.ApiVersion == 1 ? "database" : "bucket")} '{_options.Bucket}' (HTTP 404: {message}); create it first");
            default:
                throw new StoreUnavailableException($"InfluxDB at {_options.Url} answered HTTP {status} to an empty write: {message}");
        }
    }

    /// <summary>The credentials do not work: a setting to fix, not an outage to wait out.</summary>
    private ConfigurationException CredentialsRefused(int status, string message, string what)
    {
        var answer = $"HTTP {status}: {message}";
        if (_options.ApiVersion == 2)
        {
            return new ConfigurationException("Storage:InfluxDb:Token",
                status == 401
                    ? $"InfluxDB at {_options.Url} refused the token ({answer})"
                    : $"InfluxDB at {_options.Url}: the token {what} ({answer})");
        }
        if (string.IsNullOrEmpty(_options.Username))
        {
            return new ConfigurationException("Storage:InfluxDb:Username",
                $"InfluxDB at {_options.Url} requires authentication ({answer}); set Storage:InfluxDb:Username and Storage:InfluxDb:Password");
        }
        return status == 401
            ? new ConfigurationException("Storage:InfluxDb:Password",
                $"InfluxDB at {_options.Url} refused user '{_options.Username}' ({answer}); check Storage:InfluxDb:Username and Storage:InfluxDb:Password")
            : new ConfigurationException("Storage:InfluxDb:Username", $"InfluxDB at {_options.Url}: user '{_options.Username}' {what} ({answer})");
    }

    /// <summary>One request of <see cref="InitializeAsync"/>, within <see cref="InfluxDbStoreOptions.RequestTimeout"/>: its status and body.</summary>
    private async Task<(int Status, string Body)> InitRequestAsync(Func<CancellationToken, Task<HttpResponseMessage>> send, string what, CancellationToken ct)
    {
        using var timeout = new CancellationTokenSource(_options.RequestTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        try
        {
            using var response = await send(linked.Token);
            var body = await response.Content.ReadAsStringAsync(linked.Token);
            return ((int)response.StatusCode, body);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested && timeout.IsCancellationRequested)
        {
            throw new StoreUnavailableException($"InfluxDB at {_options.Url} did not answer {what} within {Seconds(_options.RequestTimeout)} s", ex);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested && ex is HttpRequestException or OperationCanceledException or IOException)
        {
            throw new StoreUnavailableException($"InfluxDB at {_options.Url} cannot be reached ({what}): {ex.Message}", ex);
        }
    }

    /// <summary>InfluxQL statements in one request; one list of series per statement.</summary>
    private async Task<List<List<Series>>> QueryAsync(string epoch, CancellationToken ct, params string[] statements)
    {
        using var json = await QueryDocumentAsync(epoch, statements, ct);
        List<List<Series>> results;
        try
        {
            results = InfluxQl.Parse(json.RootElement);
        }
        catch (InvalidOperationException ex) when (IsDatabaseNotFound(ex))
        {
            throw new StoreUnavailableException($"InfluxDB {_options.Url}: {ex.Message}", ex);
        }
        while (results.Count < statements.Length)
        {
            results.Add([]);
        }
        return results;
    }

    /// <summary>
    /// InfluxQL statements in one request, whose series are handed to <paramref name="onSeries"/> as they are in the answer
    /// (<see cref="InfluxQl.Visit"/>: no copy of the rows). True when the server cut the answer short.
    /// </summary>
    private async Task<bool> VisitAsync(string epoch, string[] statements, Action<int, Series, JsonElement> onSeries, CancellationToken ct)
    {
        using var json = await QueryDocumentAsync(epoch, statements, ct);
        try
        {
            return InfluxQl.Visit(json.RootElement, onSeries);
        }
        catch (InvalidOperationException ex) when (IsDatabaseNotFound(ex))
        {
            throw new StoreUnavailableException($"InfluxDB {_options.Url}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// The points of [start, end) that <paramref name="statements"/> (given the time condition) select, read into
    /// <paramref name="into"/> by <paramref name="read"/>. An answer the server cut short (InfluxDB 1.x's
    /// <c>[http] max-row-limit</c>) is dropped and each half of the range asked for on its own, so a capped server
    /// gives the whole answer in more requests instead of a part of it.
    /// </summary>
    private async Task ReadRangeAsync<T>(DateTimeOffset start, DateTimeOffset end, Func<string, string[]> statements,
        Action<int, Series, JsonElement, List<T>> read, List<T> into, CancellationToken ct)
    {
        var batch = new List<T>();
        var partial = await VisitAsync("ms", statements(InfluxQl.Range(start, end)), (i, s, values) => read(i, s, values, batch), ct);
        if (!partial)
        {
            into.AddRange(batch);
            return;
        }
        var half = TimeSpan.FromMilliseconds(Math.Floor((end - start).TotalMilliseconds / 2));
        if (half < TimeSpan.FromMilliseconds(1))
        {
            throw new InvalidOperationException(
                $"InfluxDB at {_options.Url} cut short its answer for the points of {start:O} to {end:O}; raise its [http] max-row-limit");
        }
        batch.Clear();
        await ReadRangeAsync(start, start + half, statements, read, into, ct);
        await ReadRangeAsync(start + half, end, statements, read, into, ct);
    }

    private static bool IsDatabaseNotFound(InvalidOperationException ex) => ex.Message.StartsWith("database not found", StringComparison.Ordinal);

    private async Task<JsonDocument> QueryDocumentAsync(string epoch, string[] statements, CancellationToken ct)
    {
        var q = string.Join(";\n", statements);
        var uri = new Uri($"query?db={Uri.EscapeDataString(_options.Bucket)}&epoch={epoch}&q={Uri.EscapeDataString(q)}{AuthQuery('&')}", UriKind.Relative);
        using var response = await SendQueryAsync(() => _http.GetAsync(uri, HttpCompletionOption.ResponseContentRead, ct), q, ct);
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        return await JsonDocument.ParseAsync(body, cancellationToken: ct);
    }

    private async Task<HttpResponseMessage> SendQueryAsync(Func<Task<HttpResponseMessage>> send, string statement, CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            response = await send();
        }
        catch (Exception ex) when (!ct.IsCancellationRequested && ex is HttpRequestException or OperationCanceledException or IOException)
        {
            throw new StoreUnavailableException($"InfluxDB at {_options.Url} cannot be reached: {ex.Message}", ex);
        }
        if (response.IsSuccessStatusCode)
        {
            return response;
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(ct);
            var message = ErrorMessage(text) ?? response.ReasonPhrase ?? "";
            var status = (int)response.StatusCode;
            if (status is 400)
            {
                throw new InvalidOperationException($"InfluxDB refused the query ({message}): {statement}");
            }
            throw new StoreUnavailableException($"InfluxDB at {_options.Url} answered HTTP {status} to a query: {message}")
            {
                RetryAfter = response.Headers.RetryAfter?.Delta,
            };
        }
    }

    private static string? ErrorMessage(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            foreach (var key in new[] { "error", "message" })
            {
                if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty(key, out var e) && e.ValueKind == JsonValueKind.String)
                {
                    return e.GetString();
                }
            }
        }
        catch (JsonException)
        {
        }
        return string.IsNullOrWhiteSpace(body) ? null : body.Trim();
    }

    private string AuthQuery(char separator) =>
        _options.ApiVersion == 1 && !string.IsNullOrEmpty(_options.Username)
            ? $"{separator}u={Uri.EscapeDataString(_options.Username)}&p={Uri.EscapeDataString(_options.Password ?? "")}"
            : "";

    private static IEnumerable<(Series Series, JsonElement[] Row)> Rows(List<Series> series) =>
        series.SelectMany(s => s.Rows.Where(r => r.Length >= 2).Select(r => (s, r)));

    private static string? IanaId(TimeZoneInfo zone)
    {
        if (zone.HasIanaId)
        {
            return zone.Id;
        }
        return TimeZoneInfo.TryConvertWindowsIdToIanaId(zone.Id, out var iana) ? iana : null;
    }

    private static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    /// <summary>A bounded set of recently written keys, oldest forgotten first.</summary>
    private sealed class RecentKeys(int capacity)
    {
        private readonly HashSet<string> _set = new(StringComparer.Ordinal);
        private readonly Queue<string> _order = new();

        public bool Contains(string key) => _set.Contains(key);

        public void AddRange(IEnumerable<string> keys)
        {
            foreach (var key in keys)
            {
                if (_set.Add(key))
                {
                    _order.Enqueue(key);
                    if (_order.Count > capacity)
                    {
                        _set.Remove(_order.Dequeue());
                    }
                }
            }
        }
    }
}
