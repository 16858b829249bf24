using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Telemetry.Fleet;

namespace Telemetry.Routing.Travel;

/// <summary>
/// Travel by road from an OSRM <c>table</c> service: <c>GET {Url}/table/v1/{profile}/{lon,lat;...}?annotations=distance,duration</c>.
/// A matrix larger than the server's table size is asked for in blocks of sources and destinations. Every failure (no answer in
/// time, an HTTP error, an OSRM error code, an answer that is not a table, a pair with no route) is a
/// <see cref="TravelCostException"/> that names the request and the cause.
/// </summary>
public sealed class OsrmTravel : ITravelCostProvider
{
    private readonly HttpClient _http;
    private readonly string _baseUrl;
    private readonly string _profile;
    private readonly TimeSpan _timeout;
    private readonly int _maxTableSize;

    /// <param name="http">The client to send with (its own timeout should be longer than <see cref="OsrmTravelOptions.Timeout"/>).</param>
    /// <param name="options">Where the service is and how large one request may be; <see cref="TravelOptions.Validate"/> checks them.</param>
    public OsrmTravel(HttpClient http, OsrmTravelOptions options)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Url))
        {
            throw new ArgumentException($"{TravelOptions.Section}:Osrm:Url is required", nameof(options));
        }
        if (options.MaxTableSize < 2)
        {
            throw new ArgumentException($"{TravelOptions.Section}:Osrm:MaxTableSize must be 2 or more", nameof(options));
        }
        _http = http;
        _baseUrl = options.Url.TrimEnd('/');
        _profile = options.Profile;
        _timeout = options.Timeout;
        _maxTableSize = options.MaxTableSize;
    }

    public string Describe() => $"osrm table {_baseUrl} ({_profile})";

    public async Task<TravelMatrix> MatrixAsync(IReadOnlyList<GeoPoint> points, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(points);
        var n = points.Count;
        var metres = new double[n, n];
        var seconds = new double[n, n];
        if (n <= 1)
        {
            return new TravelMatrix(points, metres, seconds);
        }
        var block = _maxTableSize;
        for (var from = 0; from < n; from += block)
        {
            for (var to = 0; to < n; to += block)
            {
                await BlockAsync(points, from, Math.Min(block, n - from), to, Math.Min(block, n - to), n <= block, metres, seconds, cancellationToken)
                    .ConfigureAwait(false);
            }
        }
        for (var i = 0; i < n; i++)
        {
            metres[i, i] = 0;
            seconds[i, i] = 0;
        }
        return new TravelMatrix(points, metres, seconds);
    }

    /// <summary>
    /// One request: sources [from, from + rows), destinations [to, to + columns). The request carries only the coordinates it
    /// needs (the sources, then the destinations unless they are the same block), so the address stays short.
    /// </summary>
    private async Task BlockAsync(
        IReadOnlyList<GeoPoint> points, int from, int rows, int to, int columns, bool whole, double[,] metres, double[,] seconds, CancellationToken cancellationToken)
    {
        var same = from == to;
        var coordinates = new List<GeoPoint>(same ? rows : rows + columns);
        for (var i = 0; i < rows; i++)
        {
            coordinates.Add(points[from + i]);
        }
        if (!same)
        {
            for (var j = 0; j < columns; j++)
            {
                coordinates.Add(points[to + j]);
            }
        }
        var url = new StringBuilder(_baseUrl).Append("/table/v1/").Append(_profile).Append('/');
        for (var k = 0; k < coordinates.Count; k++)
        {
            url.Append(k == 0 ? "" : ";").Append(CultureInfo.InvariantCulture, $"{coordinates[k].Longitude:0.######},{coordinates[k].Latitude:0.######}");
        }
        url.Append("?annotations=distance,duration");
        if (!whole)
        {
            url.Append("&sources=").AppendJoin(';', Enumerable.Range(0, rows));
            url.Append("&destinations=").AppendJoin(';', same ? Enumerable.Range(0, columns) : Enumerable.Range(rows, columns));
        }
        var address = url.ToString();
        var body = await GetAsync(address, cancellationToken).ConfigureAwait(false);
        var (distances, durations) = Parse(address, body, rows, columns);
        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < columns; j++)
            {
                var (a, b) = (from + i, to + j);
                if (a == b)
                {
                    continue;
                }
                if (distances[i][j] is not { } m || durations[i][j] is not { } s)
                {
                    throw new TravelCostException(
                        $"OSRM {address}: no route from point {a} ({Describe(points[a])}) to point {b} ({Describe(points[b])}): the table entry is null");
                }
                metres[a, b] = m;
                seconds[a, b] = s;
            }
        }
    }

    private async Task<(HttpStatusCode Status, string Body)> GetAsync(string address, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        try
        {
            using var response = await _http.GetAsync(new Uri(address), HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
            return (response.StatusCode, body);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TravelCostException($"OSRM {address}: no answer within {_timeout} ({TravelOptions.Section}:Osrm:Timeout)", e);
        }
        catch (HttpRequestException e)
        {
            throw new TravelCostException($"OSRM {address}: the request failed: {e.Message}", e);
        }
    }

    private static (double?[][] Distances, double?[][] Durations) Parse(string address, (HttpStatusCode Status, string Body) answer, int rows, int columns)
    {
        var (status, body) = answer;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            throw new TravelCostException(
                $"OSRM {address}: HTTP {(int)status}, the answer is not JSON ({e.Message}): {Excerpt(body)}", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new TravelCostException($"OSRM {address}: HTTP {(int)status}, the answer is not a JSON object: {Excerpt(body)}");
            }
            var code = root.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
            var message = root.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            if (code != "Ok" || (int)status is < 200 or > 299)
            {
                var what = code is null ? "no code" : $"code '{code}'";
                throw new TravelCostException(
                    $"OSRM {address}: HTTP {(int)status}, {what}{(message is null ? "" : $": {message}")}" + (code is null ? $": {Excerpt(body)}" : ""));
            }
            return (Matrix(address, root, "distances", rows, columns), Matrix(address, root, "durations", rows, columns));
        }
    }

    private static double?[][] Matrix(string address, JsonElement root, string name, int rows, int columns)
    {
        if (!root.TryGetProperty(name, out var table) || table.ValueKind != JsonValueKind.Array)
        {
            throw new TravelCostException($"OSRM {address}: the answer has no '{name}' table (does the server support annotations=distance,duration?)");
        }
        if (table.GetArrayLength() != rows)
        {
            throw new TravelCostException($"OSRM {address}: '{name}' has {table.GetArrayLength()} rows, not the {rows} sources asked for");
        }
        var result = new double?[rows][];
        var i = 0;
        foreach (var row in table.EnumerateArray())
        {
            if (row.ValueKind != JsonValueKind.Array || row.GetArrayLength() != columns)
            {
                throw new TravelCostException($"OSRM {address}: row {i} of '{name}' is not an array of the {columns} destinations asked for");
            }
            var values = result[i] = new double?[columns];
            var j = 0;
            foreach (var cell in row.EnumerateArray())
            {
                values[j] = cell.ValueKind switch
                {
                    JsonValueKind.Null => null,
                    JsonValueKind.Number when cell.GetDouble() is var v && double.IsFinite(v) && v >= 0 => v,
                    _ => throw new TravelCostException($"OSRM {address}: '{name}'[{i}][{j}] is {cell.GetRawText()}, not a number of 0 or more"),
                };
                j++;
            }
            i++;
        }
        return result;
    }

    private static string Describe(GeoPoint p) => string.Create(CultureInfo.InvariantCulture, $"{p.Latitude:0.######} N, {p.Longitude:0.######} E");

    private static string Excerpt(string body) => body.Length <= 200 ? body : body[..200] + "...";
}
