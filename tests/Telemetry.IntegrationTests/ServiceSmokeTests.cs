using System.Net;
using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Telemetry.IntegrationTests;

/// <summary>Each production service answers: a broken service start fails the run here first.</summary>
public class ServiceSmokeTests
{
    [Fact]
    public async Task InfluxDB_accepts_a_point_and_returns_it_over_InfluxQL()
    {
        using var http = new HttpClient { BaseAddress = TestServices.InfluxUrl, Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal(HttpStatusCode.NoContent, (await http.GetAsync("/ping")).StatusCode);
        var db = "smoke_" + Guid.NewGuid().ToString("N")[..8];
        (await http.PostAsync("/query", new FormUrlEncodedContent(new Dictionary<string, string> { ["q"] = $"CREATE DATABASE {db}" }))).EnsureSuccessStatusCode();
        var write = await http.PostAsync($"/write?db={db}&precision=ms", new StringContent("fill,bin=JY-001,compartment=paper pct=63.5,seq=1042i 1764404100000"));
        Assert.Equal(HttpStatusCode.NoContent, write.StatusCode);
        var json = await http.GetStringAsync($"/query?db={db}&q={Uri.EscapeDataString("SELECT pct, seq FROM fill WHERE bin = 'JY-001'")}");
        using var doc = JsonDocument.Parse(json);
        var row = doc.RootElement.GetProperty("results")[0].GetProperty("series")[0].GetProperty("values")[0];
        Assert.Equal(63.5, row[1].GetDouble());
        Assert.Equal(1042, row[2].GetInt64());
        await http.PostAsync("/query", new FormUrlEncodedContent(new Dictionary<string, string> { ["q"] = $"DROP DATABASE {db}" }));
    }

    [Fact]
    public async Task RabbitMQ_carries_a_MassTransit_message_from_publisher_to_consumer()
    {
        var received = new TaskCompletionSource<SmokePing>(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Services.AddSingleton(received);
        builder.Services.Configure<MassTransitHostOptions>(o => o.WaitUntilStarted = true);
        builder.Services.AddMassTransit(x =>
        {
            x.AddConsumer<SmokePingConsumer>();
            x.UsingRabbitMq((context, cfg) =>
            {
                cfg.Host(TestServices.RabbitMqHost, TestServices.RabbitMqPort, "/", h =>
                {
                    h.Username("guest");
                    h.Password("guest");
                });
                cfg.ConfigureEndpoints(context);
            });
        });
        using var host = builder.Build();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await host.StartAsync(timeout.Token);
        try
        {
            var id = Guid.NewGuid();
            await host.Services.GetRequiredService<IPublishEndpoint>().Publish(new SmokePing(id), timeout.Token);
            var got = await received.Task.WaitAsync(timeout.Token);
            Assert.Equal(id, got.Id);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }
}

public sealed record SmokePing(Guid Id);

public sealed class SmokePingConsumer(TaskCompletionSource<SmokePing> received) : IConsumer<SmokePing>
{
    public Task Consume(ConsumeContext<SmokePing> context)
    {
        received.TrySetResult(context.Message);
        return Task.CompletedTask;
    }
}
