using System.Net;
using MassTransit;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Telemetry.Api.Access;
using Telemetry.Api.Endpoints;
using Telemetry.Api.State;
using Telemetry.Scheduling;
using Telemetry.Scheduling.Signal;
using Telemetry.Storage;

namespace Telemetry.Api;

public static class ApiHostingExtensions
{
    /// <summary>Health-check tag of the checks <c>/readyz</c> runs (the same as the other roles').</summary>
    public const string ReadyTag = "ready";

    /// <summary>The OpenAPI document's name for the API key scheme.</summary>
    private const string BearerScheme = "bearer";

    /// <summary>
    /// The api role: <c>Api:*</c> bound and validated at start (at least one key), key authentication and the roles'
    /// policies, the fleet's live state and its loader, problem details, OpenAPI. Needs a web builder, a
    /// <see cref="Fleet.FleetRegistry"/>, an <see cref="ITelemetryStore"/> and the project's clock; its consumer joins
    /// the bus through <see cref="AddApiConsumers"/>.
    /// </summary>
    public static IHostApplicationBuilder AddApi(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<ApiOptions>().BindConfiguration(ApiOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ApiOptions>, ApiOptionsValidator>();
        builder.AddFillSignal();
        services.AddOptions<AlertThresholdOptions>().BindConfiguration(AlertThresholdOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AlertThresholdOptions>, AlertThresholdOptionsValidator>();
        services.AddSingleton(sp => new DisplayThresholds
        {
            CollectionPct = sp.GetRequiredService<IOptions<SchedulingOptions>>().Value.ThresholdPct,
            OverflowPct = sp.GetRequiredService<IOptions<AlertThresholdOptions>>().Value.OverflowPct,
            LowBatteryPct = sp.GetRequiredService<IOptions<AlertThresholdOptions>>().Value.LowBatteryPct,
        });
        builder.AddTelemetryMetrics();
        services.AddSingleton<ApiKeys>();
        services.AddSingleton(new FailedAuthentications(TimeProvider.System));
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, _ => { });
        services.AddAuthorizationBuilder()
            .AddPolicy(ApiEndpoints.ReadPolicy, p => p.RequireRole(ApiRoles.Analyst, ApiRoles.Dispatcher, ApiRoles.Admin))
            .AddPolicy(ApiEndpoints.AdminPolicy, p => p.RequireRole(ApiRoles.Admin))
            .AddPolicy(SchedulingEndpoints.ActPolicy, p => p.RequireRole(ApiRoles.Dispatcher, ApiRoles.Admin))
            .AddPolicy(ApiEndpoints.MetricsPolicy, p => p.RequireAssertion(c =>
                (c.Resource is HttpContext h && h.Connection.RemoteIpAddress is { } ip && IPAddress.IsLoopback(ip)) || c.User.IsInRole(ApiRoles.Admin)));
        // Nothing the api protects is kept across restarts (the session cookie holds the key itself), so the keys
        // ASP.NET Core's data protection makes for other parts live in memory only.
        services.AddDataProtection().UseEphemeralDataProtectionProvider();
        services.AddProblemDetails();
        services.Configure<JsonOptions>(o => ApiJson.Configure(o.SerializerOptions));
        services.AddOpenApi("v1", o =>
        {
            o.AddDocumentTransformer((doc, _, _) =>
            {
                doc.Info.Title = "Telemetry API";
                doc.Info.Description = "Fleet state, history, diversion rates and dead letters of the smart recycling bins. " +
                    "Send a key as 'Authorization: Bearer <key>' (telemetry keys new makes one). Times are RFC 3339 UTC.";
                // The key as an HTTP bearer scheme: the docs page's Authorize button sends it with "Try it out".
                doc.Components ??= new OpenApiComponents();
                doc.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>(StringComparer.Ordinal);
                doc.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    Description = "An API key (telemetry keys new).",
                };
                return Task.CompletedTask;
            });
            // Only the operations that need a key ask for one.
            o.AddOperationTransformer((operation, context, _) =>
            {
                var metadata = context.Description.ActionDescriptor.EndpointMetadata;
                if (metadata.OfType<IAuthorizeData>().Any() && !metadata.OfType<IAllowAnonymous>().Any())
                {
                    operation.Security ??= [];
                    operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] });
                }
                return Task.CompletedTask;
            });
        });
        services.AddSingleton<FleetState>();
        // Real time for its retries, whatever clock the simulation runs on.
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<FleetStateLoader>(sp, TimeProvider.System));
        services.AddHostedService(sp => sp.GetRequiredService<FleetStateLoader>());
        services.AddSingleton<IFillSignalListener, FleetStateSignalListener>();
        services.AddSingleton<AlertBoard>();
        services.AddSingleton<JobBoard>();
        services.AddSingleton<RouteBoard>();
        services.AddSingleton<VehicleBoard>();
        services.AddSingleton<SchedulingProjection>();
        services.AddHostedService(sp => sp.GetRequiredService<SchedulingProjection>());
        services.AddHealthChecks()
            .AddCheck<FleetStateHealthCheck>("fleet-state", HealthStatus.Unhealthy, [ReadyTag])
            .AddCheck<StoreHealthCheck>("store", HealthStatus.Unhealthy, [ReadyTag])
            .AddCheck<SchedulingProjectionHealthCheck>("alerts", HealthStatus.Unhealthy, [ReadyTag]);
        return builder;
    }

    /// <summary>The api's consumers (<c>ReadingsStored</c>, the scheduler's events, <c>RoutePlanned</c>), for <c>AddTelemetryBus</c>.</summary>
    public static void AddApiConsumers(IBusRegistrationConfigurator bus)
    {
        ArgumentNullException.ThrowIfNull(bus);
        bus.AddConsumer<ReadingsStoredConsumer, ReadingsStoredConsumerDefinition>();
        bus.AddConsumer<SchedulingEventsConsumer, SchedulingEventsConsumerDefinition>();
        bus.AddConsumer<RoutePlannedConsumer, RoutePlannedConsumerDefinition>();
        bus.AddReceiveEndpointObserver<BusReconnectObserver>();
        // Commands to the active scheduler; it answers once what they did is stored.
        var scheduler = Telemetry.Scheduling.Hosting.SchedulerHosting.Address;
        bus.AddRequestClient<Telemetry.Contracts.Messages.AcknowledgeAlert>(scheduler, RequestTimeout.After(s: 20));
        bus.AddRequestClient<Telemetry.Contracts.Messages.RequestCollectionJob>(scheduler, RequestTimeout.After(s: 20));
        bus.AddRequestClient<Telemetry.Contracts.Messages.CloseCollectionJob>(scheduler, RequestTimeout.After(s: 20));
    }

    /// <summary>The middleware and endpoints of the api role, on the host's web application.</summary>
    public static WebApplication MapApi(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        Dashboard.Use(app);
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseAuthorization();
        ApiEndpoints.Map(app);
        app.MapOpenApi("/openapi/{documentName}.json").AllowAnonymous();
        app.UseSwaggerUI(o =>
        {
            o.RoutePrefix = "docs";
            o.DocumentTitle = "Telemetry API";
            o.SwaggerEndpoint("/openapi/v1.json", "Telemetry API v1");
        });
        app.MapPrometheusScrapingEndpoint(TelemetryMetrics.Path).RequireAuthorization(ApiEndpoints.MetricsPolicy);
        return app;
    }
}

/// <summary>Ready when the store answers a cheap exact lookup within 5 s.</summary>
public sealed class StoreHealthCheck(ITelemetryStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            await store.CountReadingsAsync("readiness-probe", DateTimeOffset.UnixEpoch, timeout.Token);
            return HealthCheckResult.Healthy(store.Name);
        }
        catch (Exception ex) when (ex is StoreUnavailableException or StoreFailedException or OperationCanceledException or HttpRequestException)
        {
            return HealthCheckResult.Unhealthy($"{store.Name}: {ex.Message}");
        }
    }
}
