using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Telemetry.Api;

/// <summary>RFC 9457 problem details, written the same way by every part of the api.</summary>
internal static class Problems
{
    public static IResult BadParameter(string parameter, string detail) =>
        TypedResults.Problem(detail: $"{parameter}: {detail}", statusCode: StatusCodes.Status400BadRequest, title: "Bad parameter",
            extensions: new Dictionary<string, object?> { ["parameter"] = parameter });

    public static IResult NotFound(string detail) =>
        TypedResults.Problem(detail: detail, statusCode: StatusCodes.Status404NotFound, title: "Not found");

    public static async Task WriteAsync(HttpContext context, int status, string title, string detail)
    {
        if (context.Response.HasStarted)
        {
            return;
        }
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/problem+json";
        var body = new Dictionary<string, object?>
        {
            ["type"] = status switch
            {
                401 => "https://tools.ietf.org/html/rfc9110#section-15.5.2",
                403 => "https://tools.ietf.org/html/rfc9110#section-15.5.4",
                429 => "https://tools.ietf.org/html/rfc6585#section-4",
                _ => "about:blank",
            },
            ["title"] = title,
            ["status"] = status,
            ["detail"] = detail,
            ["instance"] = context.Request.Path.Value,
        };
        await context.Response.WriteAsync(JsonSerializer.Serialize(body));
    }
}
