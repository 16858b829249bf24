using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;

namespace Telemetry.Api;

/// <summary>
/// The dashboard's static files (wwwroot next to the executable: index.html at <c>/</c>, the app's scripts and the
/// vendored Leaflet and Chart.js) and the security headers of every answer: a content security policy that allows
/// only this host (and the tile server's origin, when <c>Api:Map:TileUrl</c> names one, for images only).
/// </summary>
internal static class Dashboard
{
    public const string WebRoot = "wwwroot";

    /// <summary>The policy of the dashboard and the API.</summary>
    public static string Policy(string? tileOrigin) =>
        "default-src 'self'; script-src 'self'; style-src 'self'; " +
        $"img-src 'self' data: blob:{(tileOrigin is null ? "" : " " + tileOrigin)}; " +
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>Swagger UI (at /docs) sets inline styles in its markup; it gets the same policy with those allowed.</summary>
    public const string DocsPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; " +
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public static void Use(WebApplication app)
    {
        // Read at the first request, after the host's start validated every setting in its order (reading the
        // options here, while the app is built, would report Api:* before the settings of the other roles).
        var policy = new Lazy<string>(() =>
        {
            var map = app.Services.GetRequiredService<IOptions<ApiOptions>>().Value.Map;
            return Policy(string.IsNullOrWhiteSpace(map.TileUrl) ? null : ApiOptionsValidator.TileOrigin(map.TileUrl));
        });
        app.Use((context, next) =>
        {
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = context.Request.Path.StartsWithSegments("/docs") ? DocsPolicy : policy.Value;
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            headers.XFrameOptions = "DENY";
            return next(context);
        });
        var root = Path.Combine(AppContext.BaseDirectory, WebRoot);
        if (!File.Exists(Path.Combine(root, "index.html")))
        {
            throw new InvalidOperationException($"the dashboard's files are missing: no {Path.Combine(root, "index.html")} (a broken build or install)");
        }
        var files = new PhysicalFileProvider(root);
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            ContentTypeProvider = new FileExtensionContentTypeProvider(),
            OnPrepareResponse = c =>
            {
                // Always revalidated (ETag): a new build's files are picked up at once.
                c.Context.Response.Headers.CacheControl = "no-cache";
            },
        });
    }
}
