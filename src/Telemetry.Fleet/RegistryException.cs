namespace Telemetry.Fleet;

/// <summary>A fleet registry that cannot be used; <see cref="Errors"/> names each entry and its fault.</summary>
public sealed class RegistryException : Exception
{
    public RegistryException(string source, IReadOnlyList<string> errors)
        : base(FormatMessage(source, errors))
    {
        Source = source;
        Errors = errors;
    }

    public RegistryException()
        : this("registry", ["invalid registry"])
    {
    }

    public RegistryException(string message)
        : this("registry", [message])
    {
    }

    public RegistryException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [message];
    }

    public IReadOnlyList<string> Errors { get; }

    private static string FormatMessage(string source, IReadOnlyList<string> errors)
    {
        const int shown = 20;
        var lines = errors.Take(shown).Select(e => "  - " + e);
        var more = errors.Count > shown ? $"\n  ... and {errors.Count - shown} more" : "";
        return $"Fleet registry '{source}' is invalid ({errors.Count} error{(errors.Count == 1 ? "" : "s")}):\n{string.Join('\n', lines)}{more}";
    }
}
