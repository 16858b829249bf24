using Microsoft.Extensions.Options;

namespace Telemetry.Host.Hosting;

/// <summary>The <c>Host</c> section: how the process reports and stops.</summary>
public sealed class HostSettings
{
    public const string Section = "Host";

    /// <summary>How often the roles' progress is printed.</summary>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary><c>text</c>: a line for people; <c>json</c>: one JSON object per line for programs.</summary>
    public string ProgressFormat { get; set; } = "text";

    /// <summary>How long a stop may take to finish writes and acknowledgements in flight.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public bool Json => string.Equals(ProgressFormat, "json", StringComparison.OrdinalIgnoreCase);
}

/// <summary>The <c>Health</c> section (CONTRACT §4).</summary>
public sealed class HealthSettings
{
    public const string Section = "Health";

    /// <summary>Where a process without the api role serves <c>/healthz</c> and <c>/readyz</c>; off when empty.</summary>
    public string? Url { get; set; }
}

internal sealed class HostSettingsValidator : IValidateOptions<HostSettings>
{
    public ValidateOptionsResult Validate(string? name, HostSettings options)
    {
        var failures = new List<string>();
        if (options.ProgressInterval <= TimeSpan.Zero)
        {
            failures.Add($"Host:ProgressInterval: '{options.ProgressInterval}' is not a positive TimeSpan such as 00:00:10");
        }
        if (options.ShutdownTimeout <= TimeSpan.Zero)
        {
            failures.Add($"Host:ShutdownTimeout: '{options.ShutdownTimeout}' is not a positive TimeSpan such as 00:00:30");
        }
        if (!string.Equals(options.ProgressFormat, "text", StringComparison.OrdinalIgnoreCase) && !options.Json)
        {
            failures.Add($"Host:ProgressFormat: must be text or json, not '{options.ProgressFormat}'");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

internal sealed class HealthSettingsValidator : IValidateOptions<HealthSettings>
{
    public ValidateOptionsResult Validate(string? name, HealthSettings options) =>
        string.IsNullOrEmpty(options.Url) || HealthUrlIsValid(options.Url)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"Health:Url: '{options.Url}' is not an http URL with a host and port such as http://0.0.0.0:8081");

    internal static bool HealthUrlIsValid(string url) =>
        Uri.TryCreate(url.Replace("://*:", "://0.0.0.0:", StringComparison.Ordinal).Replace("://+:", "://0.0.0.0:", StringComparison.Ordinal), UriKind.Absolute, out var uri)
        && uri.Scheme == Uri.UriSchemeHttp && !string.IsNullOrEmpty(uri.Host) && uri.AbsolutePath == "/";
}
