using Telemetry.Scheduling;
using Telemetry.Scheduling.Signal;
using System.Security.Claims;
using System.Text;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Telemetry.Api.Access;
using Telemetry.Api.Analytics;
using Telemetry.Api.State;
using Telemetry.Contracts.Time;
using Telemetry.Fleet;
using Telemetry.Storage;
using static Telemetry.Api.Endpoints.QueryParameters;

namespace Telemetry.Api.Endpoints;

/// <summary>The endpoints of CONTRACT §6 (alerts and jobs in <see cref="SchedulingEndpoints"/>, routes in <see cref="RoutesEndpoints"/>).</summary>
internal static class ApiEndpoints
{
    public const string ReadPolicy = "read";
    public const string AdminPolicy = "admin";
    public const string MetricsPolicy = "metrics";

    /// <summary>At most this many buckets in one history answer.</summary>
    public const int MaxBuckets = 10_000;

    public static void Map(IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").AddEndpointFilter(BadParameters);
        SchedulingEndpoints.Map(api);
        RoutesEndpoints.Map(api);

        api.MapGet("/bins", (FleetState state) => Results.Bytes(state.BinsJson(ApiJson.Options), "application/json"))
            .RequireAuthorization(ReadPolicy).Produces<IReadOnlyList<BinView>>()
            .WithSummary("Every bin with its latest state").WithDescription("Served from memory, updated by the ReadingsStored events. Per compartment: fillPct is the cleaned level (outliers held back, noise smoothed; the raw reading until the signal is cleaned), rawFillPct and fillAt the last raw reading, predictedFullAt when it is predicted to be full (null beyond 7 days or before a prediction), prediction the details with their 80 % bands.");

        api.MapGet("/fleet", (FleetRegistry registry, Microsoft.Extensions.Options.IOptions<ApiOptions> options, DisplayThresholds thresholds, TelemetryClock clock) =>
                Results.Json(FleetInfo.Of(registry, options.Value.Map, thresholds, new FleetClock(clock.GetUtcNow(), clock.Rate)), ApiJson.Options))
            .RequireAuthorization(ReadPolicy).Produces<FleetInfo>()
            .WithSummary("The registry as the dashboard draws it")
            .WithDescription("Communities, facilities and bins with their names and addresses in English and Chinese (nameZh, addressZh: null where the registry has none), positions in WGS 84 (latitude, longitude) and where the map draws them (map: in Api:Map:TileDatum), the project clock (now, and its rate: the demo runs faster than real time), the time zone, the map's settings and the fill levels the dashboard colours by.");

        api.MapGet("/bins/stream", StreamAsync)
            .RequireAuthorization(ReadPolicy).Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .WithSummary("Server-Sent Events: the bins that changed")
            .WithDescription("event: bins, data: a JSON array of bins as in /api/bins; the first event holds every bin; id: the state's version; a comment line every 15 s.");

        api.MapGet("/bins/{id}", (string id, FleetState state) =>
                state.Bin(id) is { } bin ? Results.Json(bin, ApiJson.Options) : Problems.NotFound($"no bin '{Shorten(id)}' in the registry"))
            .RequireAuthorization(ReadPolicy).Produces<BinView>().ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("One bin");

        api.MapGet("/bins/{id}/history", HistoryAsync)
            .RequireAuthorization(ReadPolicy).Produces<HistoryResponse>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Time-bucketed fill and weight per compartment")
            .WithDescription("from, to: RFC 3339 (default: the last 24 hours); every: 30s, 10m, 1h, 1d ... (default 1h). Buckets are aligned to the registry's local clock: day buckets start at local midnight. fillPct is the mean raw fill in the bucket, cleanPct the mean cleaned fill (echoes held back, noise smoothed; periods of up to 31 days, else null), netKg the last weight.");

        api.MapGet("/bins/{id}/events", EventsAsync)
            .RequireAuthorization(ReadPolicy).Produces<EventsResponse>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("The bin's collections and device events")
            .WithDescription("from, to: RFC 3339, [from, to) (default: the last 7 days; at most 366). collections: emptyings detected from the cleaned fill and the weight (time, compartment, stream, kgCollected, fillBeforePct, fillAfterPct); deviceEvents: offline (its Last Will), online (the first message after), reboot (a seq that went down: seq is the new one). Oldest first.");

        api.MapGet("/bins/{id}/forecast", (string id, string? every, FleetRegistry registry, FleetState state, FillIntelligence intelligence) =>
            {
                if (registry.FindBin(id) is not { } bin)
                {
                    return Problems.NotFound($"no bin '{Shorten(id)}' in the registry");
                }
                var step = Duration("every", every) ?? TimeSpan.FromHours(1);
                if (step < TimeSpan.FromMinutes(10) || step > TimeSpan.FromDays(1))
                {
                    throw new BadParameterException("every", $"{Shorten(every ?? "")} must be from 10m to 1d");
                }
                var view = state.Bin(bin.Id)!;
                return Results.Json(new ForecastResponse(bin.Id, every ?? "1h", [.. bin.Compartments.Select((c, i) => new ForecastCompartment(
                    c.Id, c.Stream.Name(), view.Compartments[i].FillPct, view.Compartments[i].Prediction,
                    [.. intelligence.Curve(bin.Id, c.Id, step).Select(p => new ForecastPointView(p.Time, p.Pct, p.LowPct, p.HighPct))]))]), ApiJson.Options);
            })
            .RequireAuthorization(ReadPolicy).Produces<ForecastResponse>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Each compartment's prediction and its curve")
            .WithDescription("Per compartment: the cleaned level, the prediction (thresholdAt and fullAt with their 80 % bands, null beyond 7 days) and the expected level with its band every `every` (10m to 1d, default 1h) from now until full or 7 days.");

        api.MapGet("/analytics/diversion", DiversionAsync)
            .RequireAuthorization(ReadPolicy).Produces<DiversionResponse>().Produces(StatusCodes.Status200OK, contentType: "text/csv").ProducesProblem(StatusCodes.Status400BadRequest)
            .WithSummary("Diversion rate and deposited kg per stream")
            .WithDescription("from, to (required, RFC 3339, [from, to), at most 366 days); groupBy: community (default), stream, material or day (the registry's local days); community, bin: filters. Accept: text/csv gives CSV (UTF-8 with BOM, CRLF).");

        api.MapGet("/deadletters", DeadLettersAsync)
            .RequireAuthorization(AdminPolicy).Produces<DeadLettersResponse>().ProducesProblem(StatusCodes.Status400BadRequest)
            .WithSummary("Dead letters, newest first (admins only)")
            .WithDescription("from, to: RFC 3339 (default: the last 7 days); reason, bin: filters; limit: 1-1000 (default 100).");

        api.MapGet("/session", (ClaimsPrincipal user) => Results.Json(Who(user), ApiJson.Options))
            .RequireAuthorization(ReadPolicy).Produces<SessionResponse>().WithSummary("Who the key or session cookie belongs to");

        api.MapPost("/session", (HttpContext context, ClaimsPrincipal user) =>
            {
                var key = ApiKeyAuthenticationHandler.Presented(context.Request)!;
                context.Response.Cookies.Append(ApiKeyAuthenticationHandler.CookieName, key, new CookieOptions
                {
                    HttpOnly = true,
                    SameSite = SameSiteMode.Strict,
                    Secure = context.Request.IsHttps,
                    Path = "/",
                    MaxAge = TimeSpan.FromHours(12),
                    IsEssential = true,
                });
                return Results.Json(Who(user), ApiJson.Options);
            })
            .RequireAuthorization(ReadPolicy).Produces<SessionResponse>()
            .WithSummary("Exchange the key for an HTTP-only session cookie (for the dashboard: EventSource cannot send headers)");

        api.MapDelete("/session", (HttpContext context) =>
            {
                context.Response.Cookies.Delete(ApiKeyAuthenticationHandler.CookieName, new CookieOptions { Path = "/", HttpOnly = true, SameSite = SameSiteMode.Strict });
                return Results.NoContent();
            })
            .AllowAnonymous().WithSummary("End the session (removes the cookie)");
    }

    private static SessionResponse Who(ClaimsPrincipal user) => new(user.Identity?.Name ?? "", user.FindFirstValue(ClaimTypes.Role) ?? "");

    private static async ValueTask<object?> BadParameters(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (BadParameterException ex)
        {
            return Problems.BadParameter(ex.Parameter, ex.Message);
        }
    }

    private static async Task<IResult> HistoryAsync(string id, string? from, string? to, string? every, FleetRegistry registry, ITelemetryStore store, TelemetryClock clock, CancellationToken ct)
    {
        if (registry.FindBin(id) is not { } bin)
        {
            return Problems.NotFound($"no bin '{Shorten(id)}' in the registry");
        }
        var step = Duration("every", every) ?? TimeSpan.FromHours(1);
        var (start, end) = Period(from, to, clock.GetUtcNow(), TimeSpan.FromDays(1), 366, required: false);
        if ((end - start).Ticks / step.Ticks > MaxBuckets)
        {
            throw new BadParameterException("every", $"{Shorten(every ?? "1h")} gives more than {MaxBuckets} buckets over this period; use a longer interval or a shorter period");
        }
        var origin = LocalOrigin(registry.TimeZone, start, step);
        var buckets = await store.GetHistoryAsync(bin.Id, start, end, step, origin, ct);
        var byCompartment = buckets.ToLookup(b => b.Compartment, StringComparer.Ordinal);
        // The cleaned curve: the bin's raw readings (and 12 hours before, to settle the cleaner) through a fresh cleaner; for
        // periods up to CleanHistory.MaxPeriod (longer ones would hold too many readings in memory for one answer).
        var clean = end - start <= CleanHistory.MaxPeriod
            ? CleanHistory.Buckets(bin, await store.GetReadingsAsync([bin.Id], start - CleanHistory.Lead, end, ct), start, end, step, origin)
            : [];
        return Results.Json(new HistoryResponse(
            bin.Id, start.ToUniversalTime(), end.ToUniversalTime(), every ?? "1h", Diversion.TimeZoneName(registry.TimeZone),
            [.. bin.Compartments.Select(c => new HistoryCompartment(c.Id, c.Stream.Name(),
                [.. byCompartment[c.Id].OrderBy(b => b.Start).Select(b => new HistoryPoint(b.Start, b.FillPct, b.NetKg,
                    clean.TryGetValue((c.Id, b.Start), out var v) ? v : null))]))]), ApiJson.Options);
    }

    private static async Task<IResult> EventsAsync(string id, string? from, string? to, FleetRegistry registry, ITelemetryStore store, TelemetryClock clock, CancellationToken ct)
    {
        if (registry.FindBin(id) is not { } bin)
        {
            return Problems.NotFound($"no bin '{Shorten(id)}' in the registry");
        }
        var (start, end) = Period(from, to, clock.GetUtcNow().AddMinutes(1), TimeSpan.FromDays(7), 366, required: false);
        var collections = await store.GetCollectionsAsync(bin.Id, start, end, ct);
        var devices = await store.GetDeviceEventsAsync(bin.Id, start, end, ct);
        return Results.Json(new EventsResponse(
            bin.Id, start.ToUniversalTime(), end.ToUniversalTime(),
            [.. collections.Select(c => new CollectionView(c.Time, c.Compartment, c.Stream, c.KgCollected, c.FillBeforePct, c.FillAfterPct))],
            [.. devices.Select(d => new DeviceEventView(d.Time, d.Kind, d.Seq, d.Detail))]), ApiJson.Options);
    }

    /// <summary>
    /// The bucket origin that puts bucket starts on the local clock of <paramref name="zone"/> (its offset at
    /// <paramref name="start"/>): for 1d, local midnight; hours are already aligned in whole-hour zones.
    /// </summary>
    internal static TimeSpan LocalOrigin(TimeZoneInfo zone, DateTimeOffset start, TimeSpan every)
    {
        var offset = zone.GetUtcOffset(start).Ticks;
        var origin = (-offset % every.Ticks + every.Ticks) % every.Ticks;
        return TimeSpan.FromTicks(origin);
    }

    private static async Task<IResult> DiversionAsync(HttpContext context, string? from, string? to, string? groupBy, string? community, string? bin,
        FleetRegistry registry, ITelemetryStore store, CancellationToken ct)
    {
        var (start, end) = Period(from, to, default, default, 366, required: true);
        var grouping = groupBy ?? "community";
        if (!Diversion.GroupBys.Contains(grouping, StringComparer.Ordinal))
        {
            throw new BadParameterException("groupBy", $"'{Shorten(grouping)}' is not a grouping; one of {string.Join(", ", Diversion.GroupBys)}");
        }
        if (community is not null && registry.FindCommunity(community) is null)
        {
            throw new BadParameterException("community", $"no community '{Shorten(community)}' in the registry");
        }
        if (bin is not null && registry.FindBin(bin) is null)
        {
            throw new BadParameterException("bin", $"no bin '{Shorten(bin)}' in the registry");
        }
        var deposits = await store.GetDepositsAsync(start, end, registry.TimeZone, bin, ct);
        var report = Diversion.Compute(deposits, registry, start, end, grouping, community);
        if (WantsCsv(context.Request))
        {
            return Results.File(Diversion.Csv(report), "text/csv; charset=utf-8", $"diversion-{grouping}.csv");
        }
        return Results.Json(DiversionResponse.Of(report), ApiJson.Options);
    }

    private static bool WantsCsv(HttpRequest request) =>
        request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("text/csv", StringComparison.OrdinalIgnoreCase));

    private static async Task<IResult> DeadLettersAsync(string? from, string? to, string? reason, string? bin, string? limit, ITelemetryStore store, TelemetryClock clock, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var (start, end) = Period(from, to, now.AddMinutes(1), TimeSpan.FromDays(7), 366, required: false);
        var max = Int("limit", limit, 1, 1000) ?? 100;
        if (reason is { Length: > 64 })
        {
            throw new BadParameterException("reason", "at most 64 characters");
        }
        if (bin is { Length: > 64 })
        {
            throw new BadParameterException("bin", "at most 64 characters");
        }
        var filter = new DeadLetterFilter(reason, bin);
        var counts = await store.GetDeadLettersByReasonAsync(start, end, filter, ct);
        var items = await store.GetDeadLettersAsync(start, end, max, filter, ct);
        return Results.Json(new DeadLettersResponse(
            counts.ToDictionary(c => c.Reason, c => c.Count, StringComparer.Ordinal),
            [.. items.Select(d => new DeadLetterItem(d.ReceivedAt, d.Reason, d.BinId, d.Topic, d.Payload, d.Error))]), ApiJson.Options);
    }

    /// <summary>SSE: every bin first, then the bins that changed, as they change; a comment every 15 s keeps proxies from closing it.</summary>
    private static async Task StreamAsync(HttpContext context, FleetState state, CancellationToken ct)
    {
        var response = context.Response;
        using var stopping = EventStream.Begin(context, ct);
        ct = stopping.Token;
        var changes = Channel.CreateBounded<IReadOnlyList<BinView>>(new BoundedChannelOptions(256) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        var overflowed = 0;
        using var subscription = state.Subscribe(views =>
        {
            if (!changes.Writer.TryWrite(views))
            {
                Interlocked.Exchange(ref overflowed, 1);
            }
        });
        var (version, bins) = state.Current;
        await WriteEventAsync(response, version, bins, ct);
        await EventStream.PumpAsync(response, changes.Reader, async token =>
        {
            if (Interlocked.Exchange(ref overflowed, 0) == 1)
            {
                // This client fell behind: drop what queued and send the whole fleet once.
                while (changes.Reader.TryRead(out _))
                {
                }
                var (now, all) = state.Current;
                await WriteEventAsync(response, now, all, token);
                return;
            }
            while (changes.Reader.TryRead(out var views))
            {
                await WriteEventAsync(response, state.Version, views, token);
            }
        }, ct);
    }

    private static async Task WriteEventAsync(HttpResponse response, long id, IReadOnlyList<BinView> bins, CancellationToken ct)
    {
        var json = System.Text.Json.JsonSerializer.Serialize(bins, ApiJson.Options);
        await response.WriteAsync($"event: bins\nid: {id}\ndata: {json}\n\n", Encoding.UTF8, ct);
        await response.Body.FlushAsync(ct);
    }
}

public sealed record SessionResponse(string Name, string Role);

/// <summary>One bucket: the mean raw fill, the last net weight and the mean cleaned fill (outliers out, noise smoothed).</summary>
public sealed record HistoryPoint(DateTimeOffset Start, double? FillPct, double? NetKg, double? CleanPct = null);

public sealed record HistoryCompartment(string Id, string Stream, IReadOnlyList<HistoryPoint> Buckets);

public sealed record HistoryResponse(string Bin, DateTimeOffset From, DateTimeOffset To, string Every, string TimeZone, IReadOnlyList<HistoryCompartment> Compartments);

public sealed record DeadLetterItem(DateTimeOffset ReceivedAt, string Reason, string Bin, string Topic, string Payload, string Error);

public sealed record DeadLettersResponse(IReadOnlyDictionary<string, long> Counts, IReadOnlyList<DeadLetterItem> Items);

public sealed record DepositedKg(double Recyclable, double Kitchen, double Hazardous, double Residual);

public sealed record DiversionFigures(DepositedKg DepositedKg, double? DiversionRate);

public sealed record DiversionGroupResponse(string Key, string Name, DepositedKg DepositedKg, double? DiversionRate);

/// <summary>The JSON of CONTRACT §6, "Diversion".</summary>
public sealed record DiversionResponse(DateTimeOffset From, DateTimeOffset To, string GroupBy, string TimeZone, DiversionFigures Total, IReadOnlyList<DiversionGroupResponse> Groups)
{
    public static DiversionResponse Of(DiversionReport r)
    {
        ArgumentNullException.ThrowIfNull(r);
        static DepositedKg Kg(StreamKg k) => new(k.Recyclable, k.Kitchen, k.Hazardous, k.Residual);
        return new(r.From, r.To, r.GroupBy, r.TimeZone, new DiversionFigures(Kg(r.Total), r.Total.DiversionRate),
            [.. r.Groups.Select(g => new DiversionGroupResponse(g.Key, g.Name, Kg(g.DepositedKg), g.DepositedKg.DiversionRate))]);
    }
}

/// <summary>An emptying: when, which compartment, the kg the weight fell by, the cleaned fill before and after.</summary>
public sealed record CollectionView(DateTimeOffset Time, string Compartment, string Stream, double KgCollected, double FillBeforePct, double FillAfterPct);

/// <summary>A device event: offline, online or reboot (seq: the message's seq; for a reboot the new one).</summary>
public sealed record DeviceEventView(DateTimeOffset Time, string Kind, long? Seq, string Detail);

public sealed record EventsResponse(string Bin, DateTimeOffset From, DateTimeOffset To, IReadOnlyList<CollectionView> Collections, IReadOnlyList<DeviceEventView> DeviceEvents);

/// <summary>The expected level and its 80 % band at a time.</summary>
public sealed record ForecastPointView(DateTimeOffset Time, double Pct, double LowPct, double HighPct);

public sealed record ForecastCompartment(string Id, string Stream, double? FillPct, CompartmentPrediction? Prediction, IReadOnlyList<ForecastPointView> Curve);

public sealed record ForecastResponse(string Bin, string Every, IReadOnlyList<ForecastCompartment> Compartments);
