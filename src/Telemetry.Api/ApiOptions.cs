using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Telemetry.Api;

/// <summary>The <c>Api</c> section (CONTRACT §4, §6).</summary>
public sealed class ApiOptions
{
    public const string Section = "Api";

    /// <summary><c>Api:Keys:{name}:Role</c> and <c>:Sha256</c>: one key per person; the key itself is never configured.</summary>
    public Dictionary<string, ApiKeyOptions> Keys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>How often the fleet's live state is checked against the store, in case an event was lost unnoticed (the last one before a quiet spell).</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromMinutes(5);
}

public sealed class ApiKeyOptions
{
    public string? Role { get; set; }
    public string? Sha256 { get; set; }
}

/// <summary>The roles of CONTRACT §6.</summary>
public static class ApiRoles
{
    public const string Dispatcher = "dispatcher";
    public const string Analyst = "analyst";
    public const string Admin = "admin";

    public static readonly string[] All = [Dispatcher, Analyst, Admin];
}

internal sealed partial class ApiOptionsValidator : IValidateOptions<ApiOptions>
{
    public ValidateOptionsResult Validate(string? name, ApiOptions options)
    {
        if (options.Keys.Count == 0)
        {
            return ValidateOptionsResult.Fail("Api:Keys: the api role needs at least one key (make one with `telemetry keys new --role admin --name NAME` and configure the two Api:Keys:NAME:* settings it prints)");
        }
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (keyName, key) in options.Keys.OrderBy(k => k.Key, StringComparer.Ordinal))
        {
            if (!KeyName().IsMatch(keyName))
            {
                return ValidateOptionsResult.Fail($"Api:Keys:{keyName}: a key's name is 1-64 letters, digits, '.', '_' or '-'");
            }
            if (string.IsNullOrEmpty(key.Role))
            {
                return ValidateOptionsResult.Fail($"Api:Keys:{keyName}:Role: missing; one of {string.Join(", ", ApiRoles.All)}");
            }
            if (!ApiRoles.All.Contains(key.Role, StringComparer.Ordinal))
            {
                return ValidateOptionsResult.Fail($"Api:Keys:{keyName}:Role: '{key.Role}' is not a role; one of {string.Join(", ", ApiRoles.All)}");
            }
            if (string.IsNullOrEmpty(key.Sha256))
            {
                return ValidateOptionsResult.Fail($"Api:Keys:{keyName}:Sha256: missing; the lowercase hex SHA-256 of the key (telemetry keys new prints it)");
            }
            if (!Sha256Hex().IsMatch(key.Sha256))
            {
                return ValidateOptionsResult.Fail($"Api:Keys:{keyName}:Sha256: not 64 lowercase hex digits (the SHA-256 of the key's UTF-8 bytes, never the key itself)");
            }
            if (seen.TryGetValue(key.Sha256, out var other))
            {
                return ValidateOptionsResult.Fail($"Api:Keys:{keyName}:Sha256: the same key as Api:Keys:{other}; each person has a key of their own");
            }
            seen[key.Sha256] = keyName;
        }
        if (options.ReconcileInterval < TimeSpan.FromSeconds(1) || options.ReconcileInterval > TimeSpan.FromDays(1))
        {
            return ValidateOptionsResult.Fail($"Api:ReconcileInterval: '{options.ReconcileInterval}' must be between 00:00:01 and 1.00:00:00");
        }
        return ValidateOptionsResult.Success;
    }

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    internal static partial Regex KeyName();

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256Hex();
}
