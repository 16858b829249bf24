using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;
using Telemetry.Api.Access;
using Telemetry.Contracts.Devices;
using Telemetry.Fleet;
using Telemetry.IntegrationTests.Ingestion;
using Telemetry.Storage.InfluxDb;
using Xunit.Abstractions;

namespace Telemetry.IntegrationTests.Api;

/// <summary>
/// Ingestion and api as two real processes over real RabbitMQ, Mosquitto and influxd: a reading stored reaches
/// <c>/api/bins</c> within 2 s; with RabbitMQ stopped ingestion still stores and acknowledges, and the api catches up
/// when RabbitMQ returns. In the fault collection: it stops RabbitMQ.
/// </summary>
[Collection("faults")]
public sealed class LiveStateOverRabbitMqTests(ITestOutputHelper output) : IAsyncLifetime, IDisposable
{
    private static readonly FleetRegistry Registry = FleetRegistryLoader.LoadDefault();
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..8];
    private readonly string _key = ApiKeys.NewKey();
    private readonly int _port = TestServices.FreePort();
    private IngestionProcess? _ingestion;
    private IngestionProcess? _api;
    private IMqttClient? _device;
    private HttpClient? _http;
    private long _seq = 1;

    private string Database => "live_" + _suffix;

    private Dictionary<string, string> Common => new()
    {
        ["Storage:Backend"] = "influxdb",
        ["Storage:InfluxDb:Url"] = TestServices.InfluxUrl.ToString(),
        ["Storage:InfluxDb:ApiVersion"] = "1",
        ["Storage:InfluxDb:Bucket"] = Database,
        ["Bus:Transport"] = "rabbitmq",
        ["Bus:RabbitMq:Host"] = TestServices.RabbitMqHost,
        ["Bus:RabbitMq:Port"] = TestServices.RabbitMqPort.ToString(CultureInfo.InvariantCulture),
        ["Bus:PublishTimeout"] = "00:00:02",
    };

    public async Task InitializeAsync()
    {
        await using (var store = new InfluxDbStore(new InfluxDbStoreOptions { Url = TestServices.InfluxUrl, ApiVersion = 1, Bucket = Database, CreateDatabase = true }))
        {
            await store.InitializeAsync(CancellationToken.None);
        }
        var ingestion = Common;
        ingestion["Mqtt:Server"] = TestServices.Mosquitto.ToString();
        ingestion["Mqtt:ClientId"] = "live-ingest-" + _suffix;
        _ingestion = await IngestionProcess.StartAsync(ingestion);

        var api = Common;
        api["Urls"] = $"http://127.0.0.1:{_port}";
        api["Api:Keys:tester:Role"] = "analyst";
        api["Api:Keys:tester:Sha256"] = ApiKeys.Hash(_key);
        _api = await IngestionProcess.StartAsync(api, waitConnected: false, roles: "api");
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}"), Timeout = TimeSpan.FromSeconds(5) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _key);
        await WaitUntilAsync(async () => (await TryGetAsync("/readyz"))?.IsSuccessStatusCode == true, "the api is ready", TimeSpan.FromSeconds(60));
        // The api's temporary queue is bound once its bus is up: wait until an event gets through.
        var bin = Registry.Bins[1];
        var probe = await PublishFillAsync(bin, 11.5);
        await WaitForFillAsync(bin, probe, TimeSpan.FromSeconds(60));

        _device = new MqttClientFactory().CreateMqttClient();
    }

    public void Dispose()
    {
        _http?.Dispose();
        _device?.Dispose();
    }

    public async Task DisposeAsync()
    {
        if (_api is not null)
        {
            output.WriteLine("api:\n" + _api.Output);
            await _api.DisposeAsync();
        }
        if (_ingestion is not null)
        {
            output.WriteLine("ingestion:\n" + _ingestion.Output);
            await _ingestion.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_stored_reading_reaches_api_bins_within_two_seconds()
    {
        var bin = Registry.Bins[0];
        for (var i = 0; i < 3; i++)
        {
            var pct = 20.25 + i;
            var sent = Stopwatch.StartNew();
            await PublishFillAsync(bin, pct);
            await WaitForFillAsync(bin, pct, TimeSpan.FromSeconds(10));
            output.WriteLine($"fill {pct} in /api/bins {sent.ElapsedMilliseconds} ms after the broker acknowledged it");
            Assert.True(sent.Elapsed < TimeSpan.FromSeconds(2), $"the reading reached /api/bins after {sent.ElapsedMilliseconds} ms");
        }
    }

    [Fact]
    public async Task With_RabbitMQ_stopped_ingestion_stores_and_acknowledges_and_the_api_catches_up_when_it_returns()
    {
        var bin = Registry.Bins[2];
        await TestServicesControl.StopAsync("rabbitmq");
        try
        {
            var statuses = _ingestion!.Statuses;
            var acknowledgedBefore = statuses.Count > 0 ? statuses[^1].Acknowledged : 0;
            await PublishFillAsync(bin, 66.5);
            // Stored and acknowledged although the bus is down.
            await _ingestion.WaitForStatusAsync(s => s.Acknowledged > acknowledgedBefore, "acknowledging with RabbitMQ down", TimeSpan.FromSeconds(30));
            await using (var store = new InfluxDbStore(new InfluxDbStoreOptions { Url = TestServices.InfluxUrl, ApiVersion = 1, Bucket = Database }))
            {
                var latest = await store.GetLatestAsync(CancellationToken.None);
                Assert.Contains(latest, c => c.BinId == bin.Id && c.FillPct == 66.5);
            }
            // The api still answers (from memory), without the new reading.
            Assert.NotEqual(66.5, await FillAsync(bin));
            Assert.False(_api!.HasExited, _api.Output);
            Assert.False(_ingestion.HasExited, _ingestion.Output);
        }
        finally
        {
            await TestServicesControl.StartAsync("rabbitmq");
        }
        // No further reading: the api must catch up by itself once its bus is back.
        await WaitForFillAsync(bin, 66.5, TimeSpan.FromSeconds(90));
        // And live updates flow again.
        var sent = Stopwatch.StartNew();
        var after = await PublishFillAsync(bin, 67.5);
        await WaitForFillAsync(bin, after, TimeSpan.FromSeconds(60));
        output.WriteLine($"after the outage a new reading reached /api/bins in {sent.ElapsedMilliseconds} ms");
    }

    private async Task<double> PublishFillAsync(Bin bin, double pct)
    {
        var client = _device ??= new MqttClientFactory().CreateMqttClient();
        if (!client.IsConnected)
        {
            await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(TestServices.Mosquitto.Host, TestServices.Mosquitto.Port)
                .WithClientId("live-device-" + _suffix).WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500).Build());
        }
        var ts = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        var compartments = string.Join(',', bin.Compartments.Select(c => $"{{\"id\":\"{c.Id}\",\"fillPct\":{pct.ToString(CultureInfo.InvariantCulture)}}}"));
        var payload = $"{{\"v\":1,\"ts\":\"{ts}\",\"seq\":{_seq++},\"compartments\":[{compartments}]}}";
        var result = await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(DeviceTopics.Fill(bin.Id))
            .WithPayload(Encoding.UTF8.GetBytes(payload)).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        Assert.True(result.IsSuccess, result.ReasonString);
        return pct;
    }

    private async Task<double?> FillAsync(Bin bin)
    {
        using var response = await _http!.GetAsync($"/api/bins/{bin.Id}");
        response.EnsureSuccessStatusCode();
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        // The raw reading: what this test follows is the reading reaching the api (fillPct, the cleaned level, may hold a jump back).
        var first = doc.RootElement.GetProperty("compartments")[0].GetProperty("rawFillPct");
        return first.ValueKind == JsonValueKind.Number ? first.GetDouble() : null;
    }

    private async Task WaitForFillAsync(Bin bin, double pct, TimeSpan timeout) =>
        await WaitUntilAsync(async () => await FillAsync(bin) == pct, $"/api/bins/{bin.Id} shows fill {pct}", timeout);

    private async Task<HttpResponseMessage?> TryGetAsync(string path)
    {
        try
        {
            return await _http!.GetAsync(path);
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    private Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan timeout) =>
        Eventually.UntilAsync(condition, what, timeout, TimeSpan.FromMilliseconds(20), ("the api", _api), ("ingestion", _ingestion));
}
