using System.Net;
using System.Net.Sockets;
using Telemetry.Contracts.Configuration;

namespace Telemetry.IntegrationTests;

/// <summary>
/// The real services scripts/test.sh started for this run. A missing one fails the test that needs
/// it: integration tests are never skipped silently.
/// </summary>
internal static class TestServices
{
    public static MqttEndpoint Mosquitto => MqttEndpoint.Parse(Required("TELEMETRY_TEST_MQTT"));

    /// <summary>The Mosquitto listener with per-device passwords (test-{binId}) and the bins/%u/# ACL.</summary>
    public static MqttEndpoint MosquittoWithAcl => MqttEndpoint.Parse(Required("TELEMETRY_TEST_MQTT_AUTH"));

    /// <summary>
    /// The Mosquitto listener configured like deploy/: passwords, deploy/'s ACL (ingestion users
    /// telemetry-ingest-1 and -2, password test-{user}), client id = username, no topic aliases.
    /// </summary>
    public static MqttEndpoint MosquittoLikeDeploy => MqttEndpoint.Parse(Required("TELEMETRY_TEST_MQTT_PROD"));

    /// <summary>The test Mosquitto's max_packet_size (deploy/'s): a device's larger packet is refused.</summary>
    public static int MosquittoMaxPacketSize => int.Parse(Required("TELEMETRY_TEST_MQTT_MAX_PACKET_SIZE"), System.Globalization.CultureInfo.InvariantCulture);

    public static string RabbitMqHost => Required("TELEMETRY_TEST_RABBITMQ_HOST");

    public static ushort RabbitMqPort => ushort.Parse(Required("TELEMETRY_TEST_RABBITMQ_PORT"), System.Globalization.CultureInfo.InvariantCulture);

    public static Uri InfluxUrl => new(Required("TELEMETRY_TEST_INFLUX_URL"));

    /// <summary>The influxd with authentication on (<c>[http] auth-enabled = true</c>).</summary>
    public static Uri InfluxAuthUrl => new(Required("TELEMETRY_TEST_INFLUX_AUTH_URL"));

    /// <summary>Its admin user.</summary>
    public static (string User, string Password) InfluxAuthAdmin => Credentials("TELEMETRY_TEST_INFLUX_AUTH_ADMIN");

    /// <summary>Its user without admin rights; granted nothing until a test grants it rights on a database.</summary>
    public static (string User, string Password) InfluxAuthUser => Credentials("TELEMETRY_TEST_INFLUX_AUTH_USER");

    /// <summary>
    /// The headless browser of the browser tests: Debian's chromium, which scripts/services.sh installs (with
    /// fonts-noto-cjk) and names in TELEMETRY_TEST_CHROMIUM. Missing, it fails the test: never a skip.
    /// </summary>
    public static string Chromium
    {
        get
        {
            const string name = "TELEMETRY_TEST_CHROMIUM";
            var path = Environment.GetEnvironmentVariable(name);
            if (string.IsNullOrEmpty(path))
            {
                throw new InvalidOperationException(
                    $"{name} is not set. The browser tests need Debian's chromium: run them through scripts/test.sh, which installs it " +
                    "(apt-get install chromium fonts-noto-cjk) and sets the variable to /usr/bin/chromium.");
            }
            return File.Exists(path)
                ? path
                : throw new InvalidOperationException(
                    $"{name}={path}, but there is no such file. Install Debian's chromium (scripts/services.sh start does, as root) " +
                    "or point the variable at the browser.");
        }
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static (string User, string Password) Credentials(string name)
    {
        var value = Required(name);
        var colon = value.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 ? (value[..colon], value[(colon + 1)..]) : throw new InvalidOperationException($"{name} must be user:password, not '{value}'");
    }

    private static string Required(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{name} is not set. Integration tests need real services: run them through scripts/test.sh, which installs and starts Mosquitto, RabbitMQ and InfluxDB.");
}
