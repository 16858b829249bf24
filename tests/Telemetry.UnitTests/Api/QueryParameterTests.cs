using Telemetry.Api.Endpoints;

namespace Telemetry.UnitTests.Api;

public class QueryParameterTests
{
    [Theory]
    [InlineData("30s", 30)]
    [InlineData("10m", 600)]
    [InlineData("1h", 3600)]
    [InlineData("1d", 86400)]
    [InlineData("7d", 604800)]
    public void Durations_take_a_number_and_a_unit(string text, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), QueryParameters.Duration("every", text));

    [Theory]
    [InlineData("")]
    [InlineData("0m")]
    [InlineData("1")]
    [InlineData("1w")]
    [InlineData("-1h")]
    [InlineData("1.5h")]
    [InlineData("01:00:00")]
    [InlineData("9999999d")]
    public void A_bad_duration_names_the_parameter(string text)
    {
        var ex = Assert.Throws<QueryParameters.BadParameterException>(() => QueryParameters.Duration("every", text));
        Assert.Equal("every", ex.Parameter);
    }

    [Theory]
    [InlineData("2026-11-01T00:00:00Z")]
    [InlineData("2026-11-01T08:00:00+08:00")]
    [InlineData("2026-11-01T00:00:00.123Z")]
    public void Instants_are_rfc_3339_with_an_offset(string text) =>
        Assert.Equal(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero), QueryParameters.Instant("from", text)!.Value.AddTicks(-QueryParameters.Instant("from", text)!.Value.Ticks % TimeSpan.TicksPerSecond));

    [Theory]
    [InlineData("2026-11-01")]
    [InlineData("2026-11-01T00:00:00")]
    [InlineData("yesterday")]
    [InlineData("2026-13-01T00:00:00Z")]
    public void A_time_without_an_offset_or_not_a_time_is_refused(string text) =>
        Assert.Equal("to", Assert.Throws<QueryParameters.BadParameterException>(() => QueryParameters.Instant("to", text)).Parameter);

    [Fact]
    public void A_period_must_end_after_it_starts_and_last_at_most_the_limit()
    {
        Assert.Equal("to", Assert.Throws<QueryParameters.BadParameterException>(() =>
            QueryParameters.Period("2026-11-02T00:00:00Z", "2026-11-01T00:00:00Z", default, default, 366, true)).Parameter);
        Assert.Equal("to", Assert.Throws<QueryParameters.BadParameterException>(() =>
            QueryParameters.Period("2025-01-01T00:00:00Z", "2026-02-01T00:00:00Z", default, default, 366, true)).Parameter);
        Assert.Equal("from", Assert.Throws<QueryParameters.BadParameterException>(() =>
            QueryParameters.Period(null, "2026-02-01T00:00:00Z", default, default, 366, true)).Parameter);
        var now = new DateTimeOffset(2026, 12, 2, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal((now.AddDays(-1), now), QueryParameters.Period(null, null, now, TimeSpan.FromDays(1), 366, false));
    }

    [Fact]
    public void Echoed_values_are_short_and_without_control_characters()
    {
        var s = QueryParameters.Shorten(new string('x', 100) + "\n");
        Assert.True(s.Length <= 65);
        Assert.Equal("a?b", QueryParameters.Shorten("a\u0000b"));
    }

    [Theory]
    [InlineData(24, 8, 16)]
    [InlineData(1, 8, 0)]
    [InlineData(24, 0, 0)]
    [InlineData(24, -5, 5)]
    public void Day_buckets_start_at_local_midnight(int everyHours, int offsetHours, int expectedOriginHours)
    {
        var zone = TimeZoneInfo.CreateCustomTimeZone("test", TimeSpan.FromHours(offsetHours), "test", "test");
        Assert.Equal(TimeSpan.FromHours(expectedOriginHours), ApiEndpoints.LocalOrigin(zone, DateTimeOffset.UnixEpoch, TimeSpan.FromHours(everyHours)));
    }
}
