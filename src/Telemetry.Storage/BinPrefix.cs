namespace Telemetry.Storage;

internal static class BinPrefix
{
    /// <summary>A prefix goes into a GLOB or a regular expression: letters, digits, '-' and '_' only.</summary>
    public static void Check(string? prefix)
    {
        if (prefix is not null && !prefix.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            throw new ArgumentException($"bin prefix '{prefix}' may hold only letters, digits, '-' and '_'", nameof(prefix));
        }
    }
}
