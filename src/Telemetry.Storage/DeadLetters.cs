using System.Text;

namespace Telemetry.Storage;

/// <summary>Builds dead letters as CONTRACT §3 stores them.</summary>
public static class DeadLetters
{
    public const int MaxPayloadBytes = 1024;
    public const string UnknownBin = "unknown";

    public static DeadLetter Create(DateTimeOffset receivedAt, string reason, string? binId, string ingester, string topic, ReadOnlySpan<byte> payload, string error) =>
        new(receivedAt, reason, binId ?? UnknownBin, ingester, SafeText(Encoding.UTF8.GetBytes(topic ?? ""), 1024), SafeText(payload, MaxPayloadBytes), error);

    /// <summary>
    /// At most <paramref name="maxBytes"/> bytes of UTF-8, cut at a character boundary, with
    /// invalid sequences replaced by U+FFFD. Never longer than the limit in UTF-8.
    /// </summary>
    public static string SafeText(ReadOnlySpan<byte> bytes, int maxBytes)
    {
        // Decoding replaces invalid sequences; re-encoding then cutting at a boundary keeps the byte limit.
        var text = Encoding.UTF8.GetString(bytes.Length > maxBytes * 2 ? bytes[..(maxBytes * 2)] : bytes);
        var encoded = Encoding.UTF8.GetBytes(text);
        if (encoded.Length <= maxBytes)
        {
            return text;
        }
        var cut = maxBytes;
        while (cut > 0 && (encoded[cut] & 0xC0) == 0x80)
        {
            cut--;
        }
        return Encoding.UTF8.GetString(encoded, 0, cut);
    }
}
