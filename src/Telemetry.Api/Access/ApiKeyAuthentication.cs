using System.Globalization;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Telemetry.Api.Access;

/// <summary>
/// Authentication by API key (CONTRACT §6): <c>Authorization: Bearer &lt;key&gt;</c>, or the HTTP-only session cookie
/// the dashboard gets for its key (<c>POST /api/session</c>; <c>EventSource</c> cannot send headers), which counts
/// as that key. No credential: no result (an open path stays open). A wrong one: a failure, counted per address;
/// the challenge answers 401 with <c>WWW-Authenticate: Bearer</c>, or 429 while the address is blocked.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeys keys,
    FailedAuthentications failures)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string CookieName = "telemetry_key";
    public const string KeyNameClaim = "telemetry:key";

    private const string FailureItem = "telemetry:auth-failed";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = Presented(Request);
        if (presented is null)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        if (keys.Find(presented) is { } owner)
        {
            var identity = new ClaimsIdentity(
                [new Claim(ClaimTypes.Name, owner.Name), new Claim(ClaimTypes.Role, owner.Role), new Claim(KeyNameClaim, owner.Name)],
                SchemeName, ClaimTypes.Name, ClaimTypes.Role);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
        }
        // Counted once per request, however often the scheme is asked. The item says whether the address was
        // already blocked when this request came: the failure that reaches the limit is still answered 401.
        // A stale cookie or key sent to an open path (the dashboard page, /healthz, /docs) is not an attempt to
        // get in: only paths that need a key count.
        if (!Context.Items.ContainsKey(FailureItem) && NeedsKey(Context))
        {
            var blocked = failures.BlockedUntil(Context.Connection.RemoteIpAddress) is not null;
            Context.Items[FailureItem] = blocked;
            if (!blocked)
            {
                failures.RecordFailure(Context.Connection.RemoteIpAddress);
            }
            Logger.LogInformation("Refused an API key from {Address} for {Method} {Path}", Context.Connection.RemoteIpAddress, Request.Method, Request.Path);
        }
        return Task.FromResult(AuthenticateResult.Fail("the API key is not valid"));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var countedHere = Context.Items.TryGetValue(FailureItem, out var blockedOnArrival) && blockedOnArrival is false;
        if (!countedHere && failures.BlockedUntil(Context.Connection.RemoteIpAddress) is { } until)
        {
            var seconds = Math.Max(1, (int)Math.Ceiling((until - TimeProvider.GetUtcNow()).TotalSeconds));
            Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            await Problems.WriteAsync(Context, StatusCodes.Status429TooManyRequests, "Too many failed authentications",
                $"{FailedAuthentications.Limit} failed authentications from this address within a minute; try again in {seconds} s. Requests with a valid key are not limited.");
            return;
        }
        Response.Headers.WWWAuthenticate = Context.Items.ContainsKey(FailureItem)
            ? "Bearer error=\"invalid_token\", error_description=\"the API key is not valid\""
            : "Bearer";
        await Problems.WriteAsync(Context, StatusCodes.Status401Unauthorized, "Authentication required",
            Context.Items.ContainsKey(FailureItem) ? "The API key is not valid." : "Send an API key as 'Authorization: Bearer <key>'.");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        Problems.WriteAsync(Context, StatusCodes.Status403Forbidden, "Forbidden",
            $"The key '{Context.User.Identity?.Name}' (role {Context.User.FindFirstValue(ClaimTypes.Role)}) may not do this.");

    private static bool NeedsKey(HttpContext context) =>
        context.GetEndpoint() is { } endpoint
        && endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAuthorizeData>() is not null
        && endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAllowAnonymous>() is null;

    /// <summary>The key a request presents: the bearer token, else the session cookie; null when neither.</summary>
    internal static string? Presented(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.Length > 0)
        {
            const string bearer = "Bearer ";
            // Another scheme (Basic, ...) is not a key: no credential, so a 401 that asks for a bearer key.
            return header.StartsWith(bearer, StringComparison.OrdinalIgnoreCase) ? header[bearer.Length..].Trim() : null;
        }
        return request.Cookies.TryGetValue(CookieName, out var cookie) && cookie.Length > 0 ? cookie : null;
    }
}
