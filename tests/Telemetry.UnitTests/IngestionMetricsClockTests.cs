using Microsoft.Extensions.Time.Testing;
using Telemetry.Ingestion.Pipeline;

namespace Telemetry.UnitTests;

public class IngestionMetricsClockTests
{
    [Fact]
    public void The_last_stored_time_comes_from_the_clock_given()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero));
        using var metrics = new IngestionMetrics(time: clock);
        metrics.Stored(3, [], TimeSpan.FromMilliseconds(5));
        Assert.Equal(clock.GetUtcNow(), metrics.LastStoredAt);
    }
}
