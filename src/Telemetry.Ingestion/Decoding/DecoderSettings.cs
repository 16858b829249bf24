namespace Telemetry.Ingestion.Decoding;

/// <summary>The clock rules of the decoder (CONTRACT §2): how far ahead and how old a reading may be.</summary>
public sealed record DecoderSettings
{
    /// <summary>Readings further ahead of the receiver's clock than this are rejected.</summary>
    public TimeSpan MaxFutureSkew { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Readings older than this (<c>Ingestion:MaxAge</c>) are rejected.</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromDays(7);
}
