using Microsoft.Extensions.Options;

namespace Telemetry.Messaging;

/// <summary>The <c>Bus</c> section (CONTRACT §4): the transport between roles.</summary>
public sealed class BusOptions
{
    public const string Section = "Bus";

    /// <summary><c>inmemory</c> (the roles of one process) or <c>rabbitmq</c> (across processes).</summary>
    public string Transport { get; set; } = "inmemory";

    public RabbitMqSection RabbitMq { get; set; } = new();

    /// <summary>How long one publish may wait for the transport before the event is given up (the publisher never blocks its role).</summary>
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often what stored batches changed is sent as events (batched per bin in between).</summary>
    public TimeSpan PublishInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    public bool IsRabbitMq => string.Equals(Transport, "rabbitmq", StringComparison.Ordinal);

    public sealed class RabbitMqSection
    {
        public string Host { get; set; } = "localhost";
        public int Port { get; set; } = 5672;
        public string Username { get; set; } = "guest";
        public string Password { get; set; } = "guest";
        public string VirtualHost { get; set; } = "/";
    }
}

internal sealed class BusOptionsValidator : IValidateOptions<BusOptions>
{
    public ValidateOptionsResult Validate(string? name, BusOptions options)
    {
        if (options.Transport is not ("inmemory" or "rabbitmq"))
        {
            return ValidateOptionsResult.Fail($"Bus:Transport: '{options.Transport}' is not a transport; use inmemory or rabbitmq");
        }
        if (options.PublishTimeout <= TimeSpan.Zero || options.PublishTimeout > TimeSpan.FromMinutes(5))
        {
            return ValidateOptionsResult.Fail($"Bus:PublishTimeout: '{options.PublishTimeout}' must be more than 0 and at most 00:05:00");
        }
        if (options.PublishInterval < TimeSpan.FromMilliseconds(10) || options.PublishInterval > TimeSpan.FromMinutes(1))
        {
            return ValidateOptionsResult.Fail($"Bus:PublishInterval: '{options.PublishInterval}' must be between 00:00:00.010 and 00:01:00");
        }
        if (!options.IsRabbitMq)
        {
            // Settings of a transport that is not selected are not checked (CONTRACT §4).
            return ValidateOptionsResult.Success;
        }
        var r = options.RabbitMq;
        if (string.IsNullOrWhiteSpace(r.Host) || Uri.CheckHostName(r.Host) == UriHostNameType.Unknown)
        {
            return ValidateOptionsResult.Fail($"Bus:RabbitMq:Host: '{r.Host}' is not a host name or address");
        }
        if (r.Port is < 1 or > 65535)
        {
            return ValidateOptionsResult.Fail($"Bus:RabbitMq:Port: '{r.Port}' must be 1-65535");
        }
        if (string.IsNullOrEmpty(r.Username))
        {
            return ValidateOptionsResult.Fail("Bus:RabbitMq:Username: must not be empty");
        }
        if (string.IsNullOrEmpty(r.VirtualHost))
        {
            return ValidateOptionsResult.Fail("Bus:RabbitMq:VirtualHost: must not be empty (the default virtual host is /)");
        }
        return ValidateOptionsResult.Success;
    }
}
