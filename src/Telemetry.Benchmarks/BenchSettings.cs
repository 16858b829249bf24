using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Telemetry.Contracts.Configuration;
using Telemetry.Fleet;
using Telemetry.Ingestion;
using Telemetry.Ingestion.Decoding;
using Telemetry.Ingestion.Hosting;
using Telemetry.Storage;
using Telemetry.Storage.Hosting;

namespace Telemetry.Benchmarks;

/// <summary>
/// The settings a benchmark reads, bound and checked by the same options classes and validators as
/// the roles (so a wrong value names the same key), without a host.
/// </summary>
internal static class BenchSettings
{
    public const string FleetRegistryKey = "Fleet:Registry";
    public const string MqttServerKey = "Mqtt:Server";

    public static MqttOptions Mqtt(IConfiguration config) => Bind<MqttOptions>(config, MqttOptions.Section, new MqttOptionsValidator());

    public static IngestionOptions IngestionOptions(IConfiguration config) => Bind<IngestionOptions>(config, Telemetry.Ingestion.Hosting.IngestionOptions.Section, new IngestionOptionsValidator());

    public static MqttEndpoint MqttServer(IConfiguration config) => Mqtt(config).Endpoint();

    public static IngestionSettings Ingestion(IConfiguration config) => IngestionOptions(config).ToSettings(Mqtt(config));

    public static DecoderSettings Decoder(IConfiguration config) => IngestionOptions(config).ToDecoderSettings();

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

    public static Telemetry.Scheduling.SchedulingOptions Scheduling(IConfiguration config) =>
        Bind<Telemetry.Scheduling.SchedulingOptions>(config, Telemetry.Scheduling.SchedulingOptions.Section, new Telemetry.Scheduling.SchedulingOptionsValidator());

    public static Telemetry.Scheduling.AlertSettings Alerts(IConfiguration config, Telemetry.Scheduling.SchedulingOptions scheduling) =>
        Bind<Telemetry.Scheduling.AlertSettings>(config, Telemetry.Scheduling.AlertSettings.Section, new Telemetry.Scheduling.AlertSettingsValidator(Options.Create(scheduling)));

    public static Telemetry.Routing.Hosting.RoutingOptions Routing(IConfiguration config) =>
        Bind<Telemetry.Routing.Hosting.RoutingOptions>(config, Telemetry.Routing.Hosting.RoutingOptions.Section, new Telemetry.Routing.Hosting.RoutingOptionsValidator());

    public static ITelemetryStore CreateStore(IConfiguration config) =>
        StorageHostingExtensions.CreateStore(Bind<StorageOptions>(config, StorageOptions.Section, new StorageOptionsValidator()));

    private static T Bind<T>(IConfiguration config, string section, IValidateOptions<T> validator) where T : class, new()
    {
        var options = new T();
        config.GetSection(section).Bind(options);
        var result = validator.Validate(null, options);
        if (result.Failed)
        {
            var first = result.Failures.First();
            var colon = first.IndexOf(": ", StringComparison.Ordinal);
            throw colon > 0 ? new ConfigurationException(first[..colon], first[(colon + 2)..]) : new ConfigurationException(section, first);
        }
        return options;
    }
}
