using Telemetry.Ingestion.Decoding;

namespace Telemetry.UnitTests;

public class Rfc3339Tests
{
    [Theory]
    [InlineData("2026-11-29T08:15:00Z", "2026-11-29T08:15:00.0000000Z")]
    [InlineData("2026-11-29T16:15:00+08:00", "2026-11-29T08:15:00.0000000Z")]
    [InlineData("2026-11-29T08:15:00-00:00", "2026-11-29T08:15:00.0000000Z")]
    [InlineData("2026-11-29t08:15:00.123456789z", "2026-11-29T08:15:00.1234567Z")]
    [InlineData("2028-02-29T00:00:00Z", "2028-02-29T00:00:00.0000000Z")]
    [InlineData("2026-01-01T00:30:00+01:00", "2025-12-31T23:30:00.0000000Z")]
    public void Valid_timestamps_parse_to_utc(string text, string expected)
    {
        Assert.True(Rfc3339.TryParse(text, out var value));
        Assert.Equal(expected, value.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("2026-11-29 08:15:00Z")]
    [InlineData("2026-11-29T08:15:00")]
    [InlineData("2026-11-29T08:15Z")]
    [InlineData("2026-11-29T08:15:00.Z")]
    [InlineData("2026-11-29T24:00:00Z")]
    [InlineData("2026-11-29T08:60:00Z")]
    [InlineData("2026-11-29T08:15:60Z")]
    [InlineData("2026-02-29T08:15:00Z")]
    [InlineData("2026-13-01T08:15:00Z")]
    [InlineData("0000-01-01T00:00:00Z")]
    [InlineData("2026-11-29T08:15:00+0800")]
    [InlineData("2026-11-29T08:15:00+24:00")]
    [InlineData("2026-11-29T08:15:00Z ")]
    [InlineData("+2026-11-29T08:15:00Z")]
    [InlineData("2026-11-29T08:15:00UTC")]
    [InlineData("29/11/2026 08:15:00")]
    [InlineData("")]
    public void Lenient_forms_are_refused(string text) => Assert.False(Rfc3339.TryParse(text, out _));

    [Fact]
    public void Truncation_drops_sub_millisecond_ticks()
    {
        Assert.True(Rfc3339.TryParse("2026-11-29T08:15:00.1239999Z", out var t));
        Assert.Equal(123, Rfc3339.TruncateToMilliseconds(t).Millisecond);
        Assert.Equal(0, Rfc3339.TruncateToMilliseconds(t).UtcTicks % TimeSpan.TicksPerMillisecond);
    }
}
