using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using MQTTnet.Protocol;
using MQTTnet.Server;
using Telemetry.Contracts.Configuration;
using Telemetry.Ingestion;
using Telemetry.Ingestion.Decoding;
using Telemetry.Ingestion.Mqtt;
using Telemetry.Ingestion.Pipeline;

namespace Telemetry.UnitTests;

/// <summary>The MQTT source against MQTTnet's in-process broker or no broker at all: what it announces, refuses and reports.</summary>
public class MqttIngestionSourceTests
{
    private static IngestionSettings SettingsFor(int port, string? username = null, string? password = null) => new()
    {
        Broker = new MqttEndpoint(false, "127.0.0.1", port, false),
        ClientId = "source-test-" + Guid.NewGuid().ToString("N")[..6],
        Username = username,
        Password = password,
        ReceiveMaximum = 10,
    };

    private static IngestionPipeline PipelineFor(IngestionSettings settings) =>
        new(new DeviceMessageDecoder(DecoderTests.Registry, new DecoderSettings()),
            new ResilientStoreWriter(new FakeStore(), settings.ClientId, new IngestionMetrics(), NullLogger.Instance),
            settings, new IngestionMetrics(), TimeProvider.System, NullLogger.Instance);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task UntilAsync(Func<bool> condition, string what)
    {
        var until = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, $"timed out waiting for {what}");
            await Task.Delay(10);
        }
    }

    private static async Task<MqttServer> StartBrokerAsync(int port, Action<ValidatingConnectionEventArgs> validate, Action<InterceptingSubscriptionEventArgs>? subscribing = null)
    {
        var server = new MqttServerFactory().CreateMqttServer(new MqttServerOptionsBuilder()
            .WithDefaultEndpoint().WithDefaultEndpointBoundIPAddress(IPAddress.Loopback).WithDefaultEndpointBoundIPV6Address(IPAddress.None)
            .WithDefaultEndpointPort(port).Build());
        server.ValidatingConnectionAsync += e =>
        {
            validate(e);
            return Task.CompletedTask;
        };
        server.InterceptingSubscriptionAsync += e =>
        {
            subscribing?.Invoke(e);
            return Task.CompletedTask;
        };
        await server.StartAsync();
        return server;
    }

    [Fact]
    public async Task An_unreachable_broker_is_reported_once_a_minute_with_how_long_and_how_much_is_held()
    {
        var start = new DateTimeOffset(2026, 11, 29, 8, 0, 0, TimeSpan.Zero);
        var network = new FakeTimeProvider(start);
        var logger = new RecordingLogger();
        var settings = SettingsFor(FreePort()); // nothing listens there: every attempt is refused at once
        var pipeline = PipelineFor(settings);
        for (var i = 0; i < 3; i++)
        {
            // Held while the pipeline is not running: what an outage leaves in hand.
            await pipeline.EnqueueAsync(new InboundMessage("bins/JY-001/fill", Encoding.UTF8.GetBytes("{}"), start, InboundMessage.NoAcknowledgement), CancellationToken.None);
        }
        var source = new MqttIngestionSource(settings, pipeline, TimeProvider.System, logger, network);
        using var stop = new CancellationTokenSource();
        var running = source.RunAsync(stop.Token);

        // The first failure says why at once.
        await UntilAsync(() => logger.Warnings("reconnecting in").Count > 0, "the first failed attempt");
        Assert.Equal(start, source.DisconnectedSince);
        Assert.NotNull(source.LastDisconnectReason);
        Assert.False(source.IsConnected);

        for (var minute = 1; minute <= 3; minute++)
        {
            network.Advance(TimeSpan.FromMinutes(1));
            await UntilAsync(() => logger.Warnings("no connection for").Count == minute, $"the report after {minute} minute(s)");
            var report = logger.Warnings("no connection for")[^1];
            Assert.Contains($"no connection for {minute * 60} s", report, StringComparison.Ordinal);
            Assert.Contains("3 message(s)", report, StringComparison.Ordinal);
        }
        Assert.Equal(start, source.DisconnectedSince); // real time since the outage began, not since the last attempt
        // The same failure again is not a new warning at every attempt: the minute reports cover it.
        Assert.Single(logger.Warnings("reconnecting in"));

        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(20));
    }

    [Theory]
    [InlineData(null, null, MqttConnectReasonCode.NotAuthorized, "Mqtt:Username")]
    [InlineData("telemetry-ingest", "wrong", MqttConnectReasonCode.BadUserNameOrPassword, "Mqtt:Password")]
    [InlineData("telemetry-ingest", "wrong", MqttConnectReasonCode.NotAuthorized, "Mqtt:Password")]
    public async Task Credentials_refused_on_the_first_connection_stop_the_source_naming_the_key(string? username, string? password, MqttConnectReasonCode refusal, string key)
    {
        var port = FreePort();
        using var broker = await StartBrokerAsync(port, e => e.ReasonCode = refusal);
        var source = new MqttIngestionSource(SettingsFor(port, username, password), PipelineFor(SettingsFor(port)), TimeProvider.System, NullLogger.Instance);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var ex = await Assert.ThrowsAsync<ConfigurationException>(() => source.RunAsync(stop.Token));
        Assert.Equal(key, ex.Key);
        Assert.False(stop.IsCancellationRequested, "the source retried instead of stopping");
    }

    [Fact]
    public async Task A_subscription_refused_on_the_first_connection_stops_the_source_naming_Mqtt_Username()
    {
        var port = FreePort();
        using var broker = await StartBrokerAsync(port, _ => { }, e =>
        {
            e.ProcessSubscription = false;
            e.Response.ReasonCode = MqttSubscribeReasonCode.NotAuthorized;
        });
        var settings = SettingsFor(port, "JY-001", "test-JY-001");
        var source = new MqttIngestionSource(settings, PipelineFor(settings), TimeProvider.System, NullLogger.Instance);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var ex = await Assert.ThrowsAsync<ConfigurationException>(() => source.RunAsync(stop.Token));
        Assert.Equal("Mqtt:Username", ex.Key);
        Assert.Contains("bins/#", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Once_connected_a_later_refusal_is_retried_not_fatal()
    {
        var port = FreePort();
        var refuse = false;
        var broker = await StartBrokerAsync(port, e => e.ReasonCode = Volatile.Read(ref refuse) ? MqttConnectReasonCode.NotAuthorized : MqttConnectReasonCode.Success);
        var logger = new RecordingLogger();
        var settings = SettingsFor(port, "telemetry-ingest", "secret");
        var source = new MqttIngestionSource(settings, PipelineFor(settings), TimeProvider.System, logger);
        using var stop = new CancellationTokenSource();
        var running = source.RunAsync(stop.Token);
        try
        {
            await UntilAsync(() => source.IsConnected, "the first connection");
            // The password file being rewritten, say: the broker refuses for a while.
            Volatile.Write(ref refuse, true);
            await broker.StopAsync();
            broker.Dispose();
            broker = await StartBrokerAsync(port, e => e.ReasonCode = Volatile.Read(ref refuse) ? MqttConnectReasonCode.NotAuthorized : MqttConnectReasonCode.Success);
            await UntilAsync(() => source.LastDisconnectReason?.Contains("NotAuthorized", StringComparison.Ordinal) == true, "the refused attempt");
            Assert.False(running.IsCompleted, "a refusal after a first connection ended the source");
            Assert.Contains(logger.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Error && e.Message.Contains("NotAuthorized", StringComparison.Ordinal));
            Volatile.Write(ref refuse, false);
            await UntilAsync(() => source.IsConnected, "the connection after the refusals");
        }
        finally
        {
            await stop.CancelAsync();
            await running.WaitAsync(TimeSpan.FromSeconds(20));
            broker.Dispose();
        }
    }

    [Fact]
    public async Task The_client_announces_its_Maximum_Packet_Size_and_Receive_Maximum()
    {
        var port = FreePort();
        var announced = new TaskCompletionSource<(uint MaxPacket, ushort ReceiveMaximum, bool? CleanSession)>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var broker = await StartBrokerAsync(port, e => announced.TrySetResult((e.MaximumPacketSize, e.ReceiveMaximum, e.CleanSession)));
        var settings = SettingsFor(port) with { MaximumPacketSize = 100_000 };
        var source = new MqttIngestionSource(settings, PipelineFor(settings), TimeProvider.System, NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        var running = source.RunAsync(stop.Token);
        Assert.Equal((100_000u, (ushort)10, (bool?)false), await announced.Task.WaitAsync(TimeSpan.FromSeconds(20)));
        await UntilAsync(() => source.IsConnected, "the subscription");
        Assert.Null(source.DisconnectedSince);
        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(65_536, new IngestionSettings { Broker = MqttEndpoint.EmbeddedDefault, ClientId = "x" }.MaximumPacketSize);
    }

    [Fact]
    public async Task A_lost_connection_is_a_warning_with_the_broker_s_reason_and_sets_DisconnectedSince()
    {
        var port = FreePort();
        var broker = await StartBrokerAsync(port, _ => { });
        var logger = new RecordingLogger();
        var settings = SettingsFor(port);
        var source = new MqttIngestionSource(settings, PipelineFor(settings), TimeProvider.System, logger);
        using var stop = new CancellationTokenSource();
        var running = source.RunAsync(stop.Token);
        try
        {
            await UntilAsync(() => source.IsConnected, "the first connection");
            var before = TimeProvider.System.GetUtcNow();
            await broker.StopAsync(); // MQTTnet's broker says DISCONNECT "server shutting down" to each client
            broker.Dispose();
            await UntilAsync(() => logger.Warnings("connection lost").Count > 0, "the warning");
            Assert.Contains("ServerShuttingDown", logger.Warnings("connection lost")[0], StringComparison.Ordinal);
            Assert.NotNull(source.LastDisconnectReason); // by now perhaps the refused reconnection, which is later
            await UntilAsync(() => source.DisconnectedSince is not null, "DisconnectedSince");
            Assert.InRange(source.DisconnectedSince!.Value, before, TimeProvider.System.GetUtcNow());
            Assert.False(source.IsConnected);

            broker = await StartBrokerAsync(port, _ => { });
            await UntilAsync(() => source.IsConnected, "the reconnection");
            Assert.Null(source.DisconnectedSince);
        }
        finally
        {
            await stop.CancelAsync();
            await running.WaitAsync(TimeSpan.FromSeconds(20));
            broker.Dispose();
        }
    }
}
