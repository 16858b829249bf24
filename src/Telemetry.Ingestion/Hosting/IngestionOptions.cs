using Microsoft.Extensions.Options;
using Telemetry.Contracts.Configuration;
using Telemetry.Ingestion.Decoding;

namespace Telemetry.Ingestion.Hosting;

/// <summary>The <c>Mqtt</c> section (CONTRACT §4): the broker ingestion subscribes to.</summary>
public sealed class MqttOptions
{
    public const string Section = "Mqtt";

    /// <summary><c>embedded</c>, or <c>mqtt://host:port</c> / <c>mqtts://host:port</c>.</summary>
    public string Server { get; set; } = MqttEndpoint.EmbeddedName;
    public string? Username { get; set; }
    public string? Password { get; set; }

    /// <summary>Empty: a plain <c>bins/#</c> subscription (one replica; the only setup whose queue survives a Mosquitto restart).</summary>
    public string SharedGroup { get; set; } = "";

    public string? ClientId { get; set; }

    /// <summary>Port of the embedded broker (set by <c>demo --mqtt-port</c>; not a configuration key).</summary>
    public int EmbeddedPort { get; set; } = MqttEndpoint.EmbeddedPort;

    public MqttEndpoint Endpoint()
    {
        var endpoint = MqttEndpoint.Parse(Server);
        return endpoint.Embedded ? endpoint with { Port = EmbeddedPort } : endpoint;
    }
}

/// <summary>The <c>Ingestion</c> section: validation limits, batching and flow control.</summary>
public sealed class IngestionOptions
{
    public const string Section = "Ingestion";

    /// <summary>Oldest accepted reading (CONTRACT §4).</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How long the broker keeps this replica's session while it is away.</summary>
    public TimeSpan SessionExpiry { get; set; } = TimeSpan.FromDays(7);

    public int BatchSize { get; set; } = 5000;

    public TimeSpan BatchAge { get; set; } = TimeSpan.FromMilliseconds(10);

    public int ReceiveMaximum { get; set; } = 5000;

    /// <summary>MQTT 5 Maximum Packet Size announced to the broker, bytes (the whole packet).</summary>
    public int MaxPacketSize { get; set; } = 65536;
}

/// <summary>Checks <c>Mqtt:*</c>; each failure names its key.</summary>
public sealed class MqttOptionsValidator : IValidateOptions<MqttOptions>
{
    public ValidateOptionsResult Validate(string? name, MqttOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (!MqttEndpoint.TryParse(options.Server, out _, out var error))
        {
            failures.Add($"Mqtt:Server: {error}");
        }
        if (options.SharedGroup.IndexOfAny(['/', '+', '#', ' ']) >= 0)
        {
            failures.Add($"Mqtt:SharedGroup: '{options.SharedGroup}' must contain no '/', '+', '#' or spaces (empty: a plain subscription, for a single replica)");
        }
        if (options.ClientId is { } id && (id.Length == 0 || id.Length > 128))
        {
            failures.Add("Mqtt:ClientId: must be 1 to 128 characters");
        }
        if (options.Password is not null && options.Username is null)
        {
            failures.Add("Mqtt:Username: required when Mqtt:Password is set");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Checks <c>Ingestion:*</c>; each failure names its key.</summary>
public sealed class IngestionOptionsValidator : IValidateOptions<IngestionOptions>
{
    public ValidateOptionsResult Validate(string? name, IngestionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        Positive(failures, "Ingestion:MaxAge", options.MaxAge);
        Positive(failures, "Ingestion:SessionExpiry", options.SessionExpiry);
        Positive(failures, "Ingestion:BatchAge", options.BatchAge);
        Range(failures, "Ingestion:BatchSize", options.BatchSize, 1, 100_000);
        Range(failures, "Ingestion:ReceiveMaximum", options.ReceiveMaximum, 1, ushort.MaxValue);
        // Below 4,096 bytes plus headers a valid message could not arrive; above 256 MiB is MQTT's own limit.
        Range(failures, "Ingestion:MaxPacketSize", options.MaxPacketSize, IngestionSettings.MinimumPacketSize, IngestionSettings.LargestPacketSize);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Positive(List<string> failures, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            failures.Add($"{key}: '{value}' is not a positive TimeSpan such as 7.00:00:00 or 00:00:00.050");
        }
    }

    private static void Range(List<string> failures, string key, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            failures.Add($"{key}: '{value}' is not a whole number from {min} to {max}");
        }
    }
}

public static class IngestionOptionsExtensions
{
    public static IngestionSettings ToSettings(this IngestionOptions ingestion, MqttOptions mqtt, string? defaultClientId = null) => new()
    {
        Broker = mqtt.Endpoint(),
        Username = mqtt.Username,
        Password = mqtt.Password,
        SharedGroup = mqtt.SharedGroup,
        ClientId = mqtt.ClientId ?? defaultClientId ?? IngestionSettings.DefaultClientId(),
        SessionExpiry = ingestion.SessionExpiry,
        BatchSize = ingestion.BatchSize,
        BatchAge = ingestion.BatchAge,
        ReceiveMaximum = ingestion.ReceiveMaximum,
        MaximumPacketSize = ingestion.MaxPacketSize,
    };

    public static DecoderSettings ToDecoderSettings(this IngestionOptions ingestion) => new() { MaxAge = ingestion.MaxAge };
}
