using Microsoft.Extensions.Configuration;
using Telemetry.Contracts.Configuration;
using Telemetry.Fleet;

namespace Telemetry.Host.Hosting;

/// <summary>The few settings the commands without a host (<c>simulate</c>) read directly.</summary>
internal static class Settings
{
    public const string FleetRegistryKey = "Fleet:Registry";
    public const string MqttServerKey = "Mqtt:Server";

    /// <summary>The registry named by <c>Fleet:Registry</c> (the shipped Jiyang one by default).</summary>
    public static FleetRegistry LoadRegistry(IConfiguration config)
    {
        try
        {
            return FleetRegistryLoader.Load(config[FleetRegistryKey]);
        }
        catch (RegistryException ex)
        {
            throw new ConfigurationException(FleetRegistryKey, ex.Message);
        }
    }

    public static MqttEndpoint MqttServer(IConfiguration config) =>
        MqttEndpoint.TryParse(config[MqttServerKey], out var endpoint, out var error)
            ? endpoint
            : throw new ConfigurationException(MqttServerKey, error);
}
