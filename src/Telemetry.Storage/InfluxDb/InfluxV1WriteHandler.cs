using System.Text;

namespace Telemetry.Storage.InfluxDb;

/// <summary>
/// Lets InfluxDB.Client (which only knows <c>/api/v2/write</c>) write to an InfluxDB 1.x server:
/// <c>POST …/api/v2/write?org=O&amp;bucket=B&amp;precision=P</c> becomes
/// <c>POST …/write?db=B&amp;precision=p</c> (ns, us, ms, s → n, u, ms, s), body and
/// <c>Content-Encoding</c> unchanged, any <c>Authorization</c> header removed, and the 1.x
/// credentials added as the <c>u</c>/<c>p</c> query parameters when configured.
/// Other requests pass through untouched.
/// </summary>
internal sealed class InfluxV1WriteHandler(string? username, string? password) : DelegatingHandler
{
    private const string V2WritePath = "/api/v2/write";

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.RequestUri is { } uri && uri.AbsolutePath.EndsWith(V2WritePath, StringComparison.Ordinal))
        {
            request.RequestUri = Map(uri, username, password);
            request.Headers.Authorization = null;
        }
        return base.SendAsync(request, cancellationToken);
    }

    internal static Uri Map(Uri uri, string? username, string? password)
    {
        var query = System.Web.HttpUtility.ParseQueryString(uri.Query);
        var bucket = query["bucket"];
        if (string.IsNullOrEmpty(bucket))
        {
            throw new InvalidOperationException($"a write without a bucket: {uri}");
        }
        var precision = query["precision"] switch
        {
            null or "" or "ns" => "n",
            "us" => "u",
            "ms" => "ms",
            "s" => "s",
            var other => throw new InvalidOperationException($"unknown write precision '{other}'"),
        };
        var path = uri.AbsolutePath[..^V2WritePath.Length] + "/write";
        var q = new StringBuilder("?db=").Append(Uri.EscapeDataString(bucket)).Append("&precision=").Append(precision);
        if (!string.IsNullOrEmpty(username))
        {
            q.Append("&u=").Append(Uri.EscapeDataString(username)).Append("&p=").Append(Uri.EscapeDataString(password ?? ""));
        }
        return new UriBuilder(uri) { Path = path, Query = q.ToString() }.Uri;
    }
}
