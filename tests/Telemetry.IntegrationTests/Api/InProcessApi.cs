using System.Net.Http.Headers;
using MassTransit;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Telemetry.Api;
using Telemetry.Api.Access;
using Telemetry.Contracts.Messages;
using Telemetry.Fleet;
using Telemetry.Host.Hosting;
using Telemetry.Messaging;
using Telemetry.Storage.Hosting;

namespace Telemetry.IntegrationTests.Api;

/// <summary>
/// The api role composed in this process as <c>run --roles api</c> composes it (SQLite in a folder of its own, the in-memory
/// bus, a key per role) on a free loopback port: a test publishes on its bus what the other roles would (a routing worker's
/// <see cref="RoutePlanned"/>, ingestion's <see cref="ReadingsStored"/> with truck positions).
/// </summary>
internal sealed class InProcessApi : IAsyncDisposable
{
    private readonly string _dir;
    private readonly IHost _host;

    private InProcessApi(string dir, IHost host, Uri baseAddress, ApiTestKeys keys)
    {
        _dir = dir;
        _host = host;
        BaseAddress = baseAddress;
        Keys = keys;
    }

    public Uri BaseAddress { get; }

    public string Origin => BaseAddress.GetLeftPart(UriPartial.Authority);

    public ApiTestKeys Keys { get; }

    public FleetRegistry Registry => _host.Services.GetRequiredService<FleetRegistry>();

    public IBus Bus => _host.Services.GetRequiredService<IBus>();

    private long _sequence;

    public static async Task<InProcessApi> StartAsync(params string[] settings)
    {
        var dir = Directory.CreateTempSubdirectory("telemetry-inproc-api-").FullName;
        var keys = ApiTestKeys.New();
        var tokens = new List<string>
        {
            $"--Storage:Sqlite:Path={Path.Combine(dir, "telemetry.db")}",
            "--Urls=http://127.0.0.1:0",
        };
        foreach (var role in new[] { "analyst", "dispatcher", "admin" })
        {
            tokens.Add($"--Api:Keys:test-{role}:Role={role}");
            tokens.Add($"--Api:Keys:test-{role}:Sha256={ApiKeys.Hash(keys.For(role))}");
        }
        tokens.AddRange(settings);
        var builder = TelemetryHost.CreateBuilder(tokens, web: true);
        builder.AddTelemetryStore();
        builder.AddTelemetryBus(ApiHostingExtensions.AddApiConsumers);
        builder.AddApi();
        var host = TelemetryHost.Build(builder, api: true);
        try
        {
            await host.StartAsync();
        }
        catch
        {
            host.Dispose();
            Directory.Delete(dir, recursive: true);
            throw;
        }
        var address = host.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        var api = new InProcessApi(dir, host, new Uri(address), keys);
        await api.WaitReadyAsync();
        return api;
    }

    private async Task WaitReadyAsync()
    {
        using var http = Client();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!(await http.GetAsync(new Uri("/readyz", UriKind.Relative))).IsSuccessStatusCode)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("the in-process api was not ready within 60 s");
            }
            await Task.Delay(100);
        }
    }

    public HttpClient Client(string? key = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        return client;
    }

    /// <summary>A batch of ingestion's with these truck positions and no bin readings, as an ingestion replica publishes it.</summary>
    public Task PublishPositionsAsync(params VehiclePositionUpdate[] positions) =>
        Bus.Publish(new ReadingsStored("routes-test/1", Interlocked.Increment(ref _sequence), DateTimeOffset.UtcNow, []) { Vehicles = positions });

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        if (_host is IAsyncDisposable d)
        {
            await d.DisposeAsync();
        }
        else
        {
            _host.Dispose();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }
}
