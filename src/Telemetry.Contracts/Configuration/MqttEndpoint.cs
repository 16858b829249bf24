using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Telemetry.Contracts.Configuration;

/// <summary>
/// A value of <c>Mqtt:Server</c>: <c>embedded</c>, or <c>mqtt://host:port</c> / <c>mqtts://host:port</c>
/// (port defaults to 1883 and 8883).
/// </summary>
public sealed record MqttEndpoint(bool Embedded, string Host, int Port, bool Tls)
{
    public const string EmbeddedName = "embedded";
    public const int EmbeddedPort = 1883;

    public static MqttEndpoint EmbeddedDefault { get; } = new(true, "127.0.0.1", EmbeddedPort, false);

    public static bool TryParse(string? value, [NotNullWhen(true)] out MqttEndpoint? endpoint, out string error)
    {
        endpoint = null;
        error = "";
        if (string.IsNullOrWhiteSpace(value) || string.Equals(value, EmbeddedName, StringComparison.OrdinalIgnoreCase))
        {
            endpoint = EmbeddedDefault;
            return true;
        }
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme is not ("mqtt" or "mqtts") || string.IsNullOrEmpty(uri.Host))
        {
            error = $"'{value}' is not 'embedded', mqtt://host:port or mqtts://host:port";
            return false;
        }
        if (uri.AbsolutePath is not ("" or "/") || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.UserInfo))
        {
            error = $"'{value}' must be only scheme, host and port (credentials go in Mqtt:Username and Mqtt:Password)";
            return false;
        }
        var tls = uri.Scheme == "mqtts";
        var port = uri.IsDefaultPort || uri.Port <= 0 ? (tls ? 8883 : 1883) : uri.Port;
        endpoint = new MqttEndpoint(false, uri.Host, port, tls);
        return true;
    }

    public static MqttEndpoint Parse(string? value) =>
        TryParse(value, out var e, out var error) ? e : throw new FormatException(error);

    public override string ToString() => Embedded
        ? $"embedded (127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)})"
        : $"{(Tls ? "mqtts" : "mqtt")}://{Host}:{Port.ToString(CultureInfo.InvariantCulture)}";
}
