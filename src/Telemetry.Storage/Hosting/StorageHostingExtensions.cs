using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Telemetry.Storage.InfluxDb;
using Telemetry.Storage.Sqlite;

namespace Telemetry.Storage.Hosting;

public static class StorageHostingExtensions
{
    /// <summary>
    /// The store selected by <c>Storage:Backend</c>, as one <see cref="ITelemetryStore"/> for the
    /// process; its settings are bound once and validated at start. The role that uses it
    /// initializes it (the store may be unreachable at start: that is waited for, not fatal).
    /// </summary>
    public static IHostApplicationBuilder AddTelemetryStore(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>();
        builder.Services.AddSingleton(sp => CreateStore(sp.GetRequiredService<IOptions<StorageOptions>>().Value));
        return builder;
    }

    public static ITelemetryStore CreateStore(StorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.IsInfluxDb
            ? new InfluxDbStore(options.ToInfluxDbOptions())
            : new SqliteStore(options.Sqlite.Path);
    }
}
