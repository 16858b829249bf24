using System.Text;
using System.Text.Unicode;

namespace Telemetry.Storage;

/// <summary>Builds dead letters as CONTRACT §3 stores them.</summary>
public static class DeadLetters
{
    /// <summary>The most payload bytes a dead letter keeps: the device payload limit, so a payload within it is kept whole.</summary>
    public const int MaxPayloadBytes = 4096;

    /// <summary>The most topic bytes a dead letter keeps (UTF-8, cut at a character boundary).</summary>
    public const int MaxTopicBytes = 1024;

    /// <summary>Marks a payload kept as Base64 because its bytes are not valid UTF-8.</summary>
    public const string Base64Prefix = "base64:";

    public const string UnknownBin = "unknown";

    public static DeadLetter Create(DateTimeOffset receivedAt, string reason, string? binId, string ingester, string topic, ReadOnlySpan<byte> payload, string error) =>
        new(receivedAt, reason, binId ?? UnknownBin, ingester, SafeText(Encoding.UTF8.GetBytes(topic ?? ""), MaxTopicBytes), PayloadText(payload), error);

    /// <summary>
    /// The dead letter's <c>payload</c> field (CONTRACT §3): the first <see cref="MaxPayloadBytes"/> bytes
    /// as text when they are valid UTF-8, else <see cref="Base64Prefix"/> and their Base64.
    /// </summary>
    /// <remarks>
    /// The bytes are judged as they are cut: when the cut at 4,096 bytes splits a UTF-8 sequence (only a
    /// <c>too-large</c> payload is cut), those bytes are not valid UTF-8 and the payload is kept as Base64,
    /// so that what is stored is always exactly the first 4,096 bytes, never a shortened or repaired text.
    /// A valid UTF-8 payload that itself starts with <c>base64:</c> is kept as text, as the contract says;
    /// the reason (<c>malformed-json</c> for invalid UTF-8) tells the two apart.
    /// </remarks>
    public static string PayloadText(ReadOnlySpan<byte> payload)
    {
        var kept = payload.Length > MaxPayloadBytes ? payload[..MaxPayloadBytes] : payload;
        return Utf8.IsValid(kept) ? Encoding.UTF8.GetString(kept) : Base64Prefix + Convert.ToBase64String(kept);
    }

    /// <summary>
    /// At most <paramref name="maxBytes"/> bytes of UTF-8, cut at a character boundary, with
    /// invalid sequences replaced by U+FFFD. Never longer than the limit in UTF-8. (Topics: MQTT
    /// topic names are UTF-8 strings already.)
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
