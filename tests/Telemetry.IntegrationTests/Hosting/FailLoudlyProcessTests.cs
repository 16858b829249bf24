using Telemetry.IntegrationTests.Ingestion;
using Xunit.Abstractions;

namespace Telemetry.IntegrationTests.Hosting;

/// <summary>
/// <c>telemetry run --roles ingestion</c> as an operator starts it, against real Mosquitto and real
/// influxd, with something wrong: the process must say what and stop (or wait, saying so), never
/// run on quietly.
/// </summary>
public sealed class FailLoudlyProcessTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("telemetry-loud-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Dictionary<string, string> Settings(params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string>
        {
            ["Mqtt:Server"] = TestServices.Mosquitto.ToString(),
            ["Mqtt:ClientId"] = $"loud-{Guid.NewGuid():N}",
            ["Storage:Sqlite:Path"] = Path.Combine(_dir, "ok.db"),
        };
        foreach (var (k, v) in extra)
        {
            settings[k] = v;
        }
        return settings;
    }

    private async Task<string> ExitsWithAsync(int code, Dictionary<string, string> settings)
    {
        await using var process = await IngestionProcess.StartAsync(settings, waitConnected: false);
        var exit = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        output.WriteLine(process.Output);
        Assert.Equal(code, exit);
        return process.Output;
    }

    [Fact]
    public async Task A_wrong_MQTT_password_exits_2_naming_Mqtt_Password()
    {
        var text = await ExitsWithAsync(2, Settings(("Mqtt:Server", TestServices.MosquittoWithAcl.ToString()),
            ("Mqtt:Username", "telemetry-ingest"), ("Mqtt:Password", "wrong-password")));
        Assert.Contains("ERR Configuration error: Mqtt:Password:", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_InfluxDB_password_exits_2_naming_the_key()
    {
        var user = TestServices.InfluxAuthUser.User;
        var text = await ExitsWithAsync(2, Settings(("Storage:Backend", "influxdb"), ("Storage:InfluxDb:Url", TestServices.InfluxAuthUrl.ToString()),
            ("Storage:InfluxDb:ApiVersion", "1"), ("Storage:InfluxDb:Username", user), ("Storage:InfluxDb:Password", "wrong-password")));
        Assert.Matches(@"ERR Configuration error: Storage:InfluxDb:(Password|Username):", text);
    }

    [Fact]
    public async Task A_SQLite_file_that_is_not_a_database_exits_2_naming_the_path()
    {
        var path = Path.Combine(_dir, "not-a-db.db");
        await File.WriteAllTextAsync(path, new string('x', 8192));
        var text = await ExitsWithAsync(2, Settings(("Storage:Sqlite:Path", path)));
        Assert.Contains("ERR Configuration error: Storage:Sqlite:Path:", text, StringComparison.Ordinal);
        Assert.Contains(path, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_SQLite_path_that_cannot_be_written_exits_2_naming_the_path()
    {
        // Tests run as root, which writes through file modes; /proc refuses new files to everyone.
        const string path = "/proc/telemetry-cannot-write.db";
        var text = await ExitsWithAsync(2, Settings(("Storage:Sqlite:Path", path)));
        Assert.Contains("ERR Configuration error: Storage:Sqlite:Path:", text, StringComparison.Ordinal);
        Assert.Contains(path, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_store_is_waited_for_and_said_at_once_and_the_process_keeps_running()
    {
        var closed = TestServices.FreePort();
        await using var process = await IngestionProcess.StartAsync(Settings(("Storage:Backend", "influxdb"),
            ("Storage:InfluxDb:Url", $"http://127.0.0.1:{closed}"), ("Storage:InfluxDb:ApiVersion", "1")), waitConnected: false);
        await process.WaitForOutputAsync("not ready", TimeSpan.FromSeconds(15));
        var status = await process.WaitForStatusAsync(s => !s.StoreReady, "reporting the store not open", TimeSpan.FromSeconds(15));
        Assert.False(status.StoreReady);
        Assert.False(process.HasExited);
        output.WriteLine(process.Output);
    }
}
