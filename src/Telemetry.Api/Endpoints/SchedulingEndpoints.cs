using System.Globalization;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Telemetry.Api.State;
using Telemetry.Contracts.Messages;
using Telemetry.Fleet;
using Telemetry.Scheduling.Hosting;
using Telemetry.Storage;
using static Telemetry.Api.Endpoints.QueryParameters;

namespace Telemetry.Api.Endpoints;

/// <summary>Alerts and collection jobs (CONTRACT §6): read from the api's projection, acted on by commands to the scheduler.</summary>
internal static class SchedulingEndpoints
{
    public const string ActPolicy = "act";
    public const int MaxLimit = 10_000;

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/alerts", AlertsAsync)
            .RequireAuthorization(ApiEndpoints.ReadPolicy).Produces<IReadOnlyList<AlertInfo>>().ProducesProblem(StatusCodes.Status400BadRequest)
            .WithSummary("Alerts: active (default), cleared or all")
            .WithDescription("state: active (not cleared; the default), cleared or all; from, to: RFC 3339, on raisedAt, [from, to); limit: 1-10000 (default 1000). Newest first.");

        api.MapGet("/alerts/stream", AlertStreamAsync)
            .RequireAuthorization(ApiEndpoints.ReadPolicy).Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .WithSummary("Alert events as Server-Sent Events")
            .WithDescription("event: raised, cleared, escalated, refired or acknowledged; id: increasing; data: the alert after the event. A comment every 15 s. Last-Event-ID replays what was missed of the last 1,000 events.");

        api.MapPost("/alerts/{id}/ack", AcknowledgeAsync)
            .RequireAuthorization(ActPolicy).Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Acknowledge an alert (dispatcher or admin; the key's name is recorded)");

        api.MapGet("/jobs", JobsAsync)
            .RequireAuthorization(ApiEndpoints.ReadPolicy).Produces<IReadOnlyList<CollectionJobInfo>>().ProducesProblem(StatusCodes.Status400BadRequest)
            .WithSummary("Collection jobs")
            .WithDescription("state: open (requested or planned; the default), requested, planned, completed, cancelled or all; from, to: RFC 3339, on requestedAt; limit: 1-10000 (default 1000). Urgent first, then by deadline.");

        api.MapPost("/jobs", RequestJobAsync)
            .RequireAuthorization(ActPolicy).Produces<CollectionJobInfo>(StatusCodes.Status201Created).ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Request a collection by hand: {\"bin\":\"JY-001\",\"compartments\":[\"paper\"]} (dispatcher or admin)");

        api.MapPost("/jobs/{id}/complete", (string id, ClaimsPrincipal user, IRequestClient<CloseCollectionJob> client, JobBoard jobs, CancellationToken ct) => CloseAsync(id, true, user, client, jobs, ct))
            .RequireAuthorization(ActPolicy).Produces<CollectionJobInfo>().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Complete a job by hand (a truck reported it)");

        api.MapPost("/jobs/{id}/cancel", (string id, ClaimsPrincipal user, IRequestClient<CloseCollectionJob> client, JobBoard jobs, CancellationToken ct) => CloseAsync(id, false, user, client, jobs, ct))
            .RequireAuthorization(ActPolicy).Produces<CollectionJobInfo>().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Cancel a job (it is no longer needed)");
    }

    private static async Task<IResult> AlertsAsync(string? state, string? from, string? to, string? limit, AlertBoard board, ITelemetryStore store, Telemetry.Contracts.Time.TelemetryClock clock, CancellationToken ct)
    {
        var wanted = state ?? "active";
        if (wanted is not ("active" or "cleared" or "all"))
        {
            throw new BadParameterException("state", $"'{Shorten(wanted)}' is not a state; use active, cleared or all");
        }
        var start = Instant("from", from);
        var end = Instant("to", to);
        if (start is { } s && end is { } e && e <= s)
        {
            throw new BadParameterException("to", "must be after from");
        }
        var max = Int("limit", limit, 1, MaxLimit) ?? 1000;
        if (!board.Loaded)
        {
            return Unavailable("the alerts are not loaded from the store yet");
        }
        if (start is { } older && older < board.Since)
        {
            // Older than what the board holds: from the store's history, a year at most.
            var until = end ?? clock.GetUtcNow() + TimeSpan.FromDays(1);
            if (older < new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero) || until - older > TimeSpan.FromDays(366))
            {
                throw new BadParameterException("from", "a period that starts before what is held in memory may span at most 366 days, from 2000 on");
            }
            var events = await store.GetAlertEventsAsync(older, until, 1_000_000, ct);
            var folded = SchedulerService.StoreOrderOf(events).GroupBy(x => x.AlertId, StringComparer.Ordinal).Select(g => g.Last().Info());
            return Results.Json(AlertBoard.Filter(folded, wanted, start, end, max), ApiJson.Options);
        }
        return Results.Json(board.Query(wanted, start, end, max), ApiJson.Options);
    }

    private static async Task AlertStreamAsync(HttpContext context, AlertBoard board, CancellationToken ct)
    {
        long? after = null;
        var header = context.Request.Headers["Last-Event-ID"].ToString();
        if (header.Length > 0)
        {
            if (!long.TryParse(header, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                await Problems.WriteAsync(context, StatusCodes.Status400BadRequest, "Bad parameter", $"Last-Event-ID: '{Shorten(header)}' is not an event id of this stream");
                return;
            }
            after = id;
        }
        var response = context.Response;
        using var stopping = EventStream.Begin(context, ct);
        ct = stopping.Token;
        var queue = Channel.CreateBounded<AlertStreamEvent>(new BoundedChannelOptions(4096) { SingleReader = true, FullMode = BoundedChannelFullMode.DropOldest });
        var (missed, subscription) = board.Subscribe(after, e => queue.Writer.TryWrite(e));
        using (subscription)
        {
            // Live events are compared with what was replayed only: an id the client brings from elsewhere filters nothing.
            var sent = missed.Count > 0 ? missed[0].Id - 1 : 0;
            await response.WriteAsync(": alerts\n\n", ct);
            foreach (var e in missed)
            {
                sent = await WriteAsync(response, e, sent, ct);
            }
            await response.Body.FlushAsync(ct);
            await EventStream.PumpAsync(response, queue.Reader, async token =>
            {
                while (queue.Reader.TryRead(out var e))
                {
                    sent = await WriteAsync(response, e, sent, token);
                }
            }, ct);
        }
    }

    private static async Task<long> WriteAsync(HttpResponse response, AlertStreamEvent e, long sent, CancellationToken ct)
    {
        if (e.Id <= sent)
        {
            return sent; // given already (replayed, then heard live)
        }
        var json = JsonSerializer.Serialize(e.Alert, ApiJson.Options);
        await response.WriteAsync($"event: {e.Type}\nid: {e.Id}\ndata: {json}\n\n", Encoding.UTF8, ct);
        return e.Id;
    }

    private static async Task<IResult> AcknowledgeAsync(string id, ClaimsPrincipal user, IRequestClient<AcknowledgeAlert> client, AlertBoard board, CancellationToken ct)
    {
        if (id.Length > 200)
        {
            return Problems.NotFound($"no alert '{Shorten(id)}'");
        }
        var by = user.Identity?.Name ?? "unknown";
        Response<AlertCommandResult> answer;
        try
        {
            answer = await client.GetResponse<AlertCommandResult>(new AcknowledgeAlert(id, by), ct);
        }
        catch (Exception ex) when (ex is RequestTimeoutException or RequestFaultException)
        {
            return Unavailable($"the scheduler did not answer ({ex.Message}); is a scheduler running (telemetry run --roles scheduler)?");
        }
        var result = answer.Message;
        switch (result.Status)
        {
            case "unavailable":
                return Unavailable("the scheduler cannot act now (it stands by, is taking over, or its store does not answer); try again in a few seconds");
            case "acknowledged":
                board.Apply("acknowledged", result.Alert!.AcknowledgedAt!.Value, result.Alert);
                return Results.NoContent();
            case "already-cleared":
                return TypedResults.Problem(detail: $"alert '{id}' has cleared already", statusCode: StatusCodes.Status409Conflict, title: "Conflict");
            default:
                return Problems.NotFound($"no alert '{Shorten(id)}'");
        }
    }

    private static Task<IResult> JobsAsync(string? state, string? from, string? to, string? limit, JobBoard jobs)
    {
        var wanted = state ?? "open";
        if (wanted is not ("open" or "requested" or "planned" or "completed" or "cancelled" or "all"))
        {
            throw new BadParameterException("state", $"'{Shorten(wanted)}' is not a state; use open, requested, planned, completed, cancelled or all");
        }
        var start = Instant("from", from);
        var end = Instant("to", to);
        if (start is { } s && end is { } e && e <= s)
        {
            throw new BadParameterException("to", "must be after from");
        }
        var max = Int("limit", limit, 1, MaxLimit) ?? 1000;
        if (!jobs.Loaded)
        {
            return Task.FromResult<IResult>(Unavailable("the jobs are not loaded from the store yet"));
        }
        return Task.FromResult<IResult>(Results.Json(jobs.Query(wanted, start, end, max), ApiJson.Options));
    }

    /// <summary>The body of <c>POST /api/jobs</c>.</summary>
    public sealed record JobRequest(string? Bin, IReadOnlyList<string>? Compartments);

    private static async Task<IResult> RequestJobAsync(HttpContext context, ClaimsPrincipal user, FleetRegistry registry, IRequestClient<RequestCollectionJob> client, JobBoard jobs, CancellationToken ct)
    {
        JobRequest? body;
        try
        {
            body = await context.Request.ReadFromJsonAsync<JobRequest>(ApiJson.Options, ct);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or BadHttpRequestException)
        {
            throw new BadParameterException("body", $"not a JSON object such as {{\"bin\":\"JY-001\",\"compartments\":[\"paper\"]}} ({ex.Message})");
        }
        if (body?.Bin is not { Length: > 0 and <= 64 } bin)
        {
            throw new BadParameterException("bin", "required: a bin id such as JY-001");
        }
        if (body.Compartments is not { Count: > 0 and <= 16 } compartments || compartments.Any(c => c is not { Length: > 0 and <= 64 }))
        {
            throw new BadParameterException("compartments", "required: one or more compartment ids such as [\"paper\"]");
        }
        if (registry.FindBin(bin) is null)
        {
            return Problems.NotFound($"no bin '{Shorten(bin)}' in the registry");
        }
        Response<JobCommandResult> answer;
        try
        {
            answer = await client.GetResponse<JobCommandResult>(new RequestCollectionJob(bin, compartments, user.Identity?.Name ?? "unknown"), ct);
        }
        catch (Exception ex) when (ex is RequestTimeoutException or RequestFaultException)
        {
            return Unavailable($"the scheduler did not answer ({ex.Message}); is a scheduler running (telemetry run --roles scheduler)?");
        }
        return JobAnswer(answer.Message, jobs, created: true);
    }

    private static async Task<IResult> CloseAsync(string id, bool completed, ClaimsPrincipal user, IRequestClient<CloseCollectionJob> client, JobBoard jobs, CancellationToken ct)
    {
        if (id.Length > 200)
        {
            return Problems.NotFound($"no job '{Shorten(id)}'");
        }
        Response<JobCommandResult> answer;
        try
        {
            answer = await client.GetResponse<JobCommandResult>(new CloseCollectionJob(id, completed, user.Identity?.Name ?? "unknown"), ct);
        }
        catch (Exception ex) when (ex is RequestTimeoutException or RequestFaultException)
        {
            return Unavailable($"the scheduler did not answer ({ex.Message}); is a scheduler running (telemetry run --roles scheduler)?");
        }
        return JobAnswer(answer.Message, jobs, created: false);
    }

    private static IResult JobAnswer(JobCommandResult result, JobBoard jobs, bool created)
    {
        switch (result.Status)
        {
            case "ok":
                jobs.Apply(result.Job!);
                return created ? Results.Json(result.Job, ApiJson.Options, statusCode: StatusCodes.Status201Created) : Results.Json(result.Job, ApiJson.Options);
            case "conflict":
                return TypedResults.Problem(detail: result.Detail ?? "conflict", statusCode: StatusCodes.Status409Conflict, title: "Conflict");
            case "unavailable":
                return Unavailable(result.Detail ?? "the scheduler cannot act now; try again in a few seconds");
            case "invalid":
                var parameter = result.Detail?.Split(':')[0] ?? "body";
                return Problems.BadParameter(parameter, result.Detail?[(parameter.Length + 1)..].Trim() ?? "invalid");
            default:
                return Problems.NotFound(result.Detail ?? "not found");
        }
    }

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult Unavailable(string detail) =>
        TypedResults.Problem(detail: detail, statusCode: StatusCodes.Status503ServiceUnavailable, title: "Service unavailable");
}
