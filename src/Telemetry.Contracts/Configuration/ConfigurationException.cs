namespace Telemetry.Contracts.Configuration;

/// <summary>A setting that is missing or wrong; the message names the key. The program stops at start.</summary>
public sealed class ConfigurationException : Exception
{
    public ConfigurationException(string key, string problem)
        : base($"Configuration error: {key}: {problem}")
    {
        Key = key;
    }

    public ConfigurationException()
        : this("(unknown)", "invalid setting")
    {
    }

    public ConfigurationException(string message)
        : this("(unknown)", message)
    {
    }

    public ConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Key = "(unknown)";
    }

    public string Key { get; } = "(unknown)";
}
