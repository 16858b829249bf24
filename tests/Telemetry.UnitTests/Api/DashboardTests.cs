using Telemetry.Scheduling;
using Telemetry.Scheduling.Signal;
using Telemetry.Api;
using Telemetry.Api.Endpoints;
using Telemetry.Fleet;

namespace Telemetry.UnitTests.Api;

public class DashboardTests
{
    private static readonly FleetClock Clock = new(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero), 60);

    // Published pairs: Beijing railway station and Tiananmen, WGS 84 → GCJ-02 (five decimals).
    [Theory]
    [InlineData(39.90105, 116.42079, 39.90245, 116.42703)]
    [InlineData(39.90734, 116.39089, 39.90874, 116.39713)]
    public void Gcj02_conversion_matches_published_pairs(double lat, double lon, double gcjLat, double gcjLon)
    {
        var p = MapDatums.ToGcj02(new GeoPoint(lat, lon));
        Assert.Equal(gcjLat, p.Latitude, 0.00002);
        Assert.Equal(gcjLon, p.Longitude, 0.00002);
    }

    [Fact]
    public void In_Jiyang_the_two_datums_are_hundreds_of_metres_apart_and_outside_China_the_same()
    {
        var registry = FleetRegistryLoader.LoadDefault();
        foreach (var bin in registry.Bins)
        {
            var moved = MapDatum.Gcj02.ToMap(bin.Location);
            Assert.InRange(Metres(bin.Location, moved), 250, 700);
            Assert.Equal(bin.Location, MapDatum.Wgs84.ToMap(bin.Location));
        }
        var tokyo = new GeoPoint(35.6812, 139.7671);
        Assert.Equal(tokyo, MapDatums.ToGcj02(tokyo));
    }

    [Theory]
    [InlineData("wgs84", MapDatum.Wgs84)]
    [InlineData("GCJ-02", MapDatum.Gcj02)]
    [InlineData("gcj02", MapDatum.Gcj02)]
    public void Datum_names_parse(string text, MapDatum expected)
    {
        Assert.True(MapDatums.TryParse(text, out var d));
        Assert.Equal(expected, d);
        Assert.False(MapDatums.TryParse("bd09", out _));
    }

    [Fact]
    public void Fleet_info_draws_markers_in_the_tiles_datum_and_carries_both_languages()
    {
        var registry = FleetRegistryLoader.LoadDefault();
        var thresholds = new DisplayThresholds { CollectionPct = 70, OverflowPct = 90, LowBatteryPct = 20 };
        var plain = FleetInfo.Of(registry, new MapOptions(), thresholds, Clock);
        var chinese = FleetInfo.Of(registry, new MapOptions { TileUrl = "http://tiles.local/{z}/{x}/{y}.png", TileDatum = "gcj02" }, thresholds, Clock);

        Assert.Equal("Asia/Shanghai", plain.TimeZone);
        Assert.Equal(Clock, plain.Clock);
        Assert.Equal(55, plain.Bins.Count);
        Assert.Equal("wgs84", plain.Map.TileDatum);
        Assert.Null(plain.Map.TileUrl);
        var bin = plain.Bins[0];
        Assert.Equal((bin.Latitude, bin.Longitude), (bin.Map.Latitude, bin.Map.Longitude));
        var moved = chinese.Bins[0];
        var expected = MapDatums.ToGcj02(new GeoPoint(moved.Latitude, moved.Longitude));
        Assert.Equal(expected.Latitude, moved.Map.Latitude, 0.0000001);
        Assert.Equal(expected.Longitude, moved.Map.Longitude, 0.0000001);
        Assert.NotEqual(moved.Latitude, moved.Map.Latitude);
        Assert.Equal("gcj02", chinese.Map.TileDatum);

        Assert.Equal("新苑社区", plain.Communities.Single(c => c.Id == "c01").NameZh);
        Assert.Equal(("济阳区", "济南市"), (plain.DistrictZh, plain.CityZh));
        Assert.Equal("新苑社区23号楼", plain.Bins.Single(b => b.Id == "JY-001").AddressZh);
        Assert.All(plain.Facilities, f => Assert.False(string.IsNullOrEmpty(f.NameZh)));
        Assert.Equal((70.0, 90.0, 20.0, 40.0), (plain.Thresholds.CollectionPct, plain.Thresholds.OverflowPct, plain.Thresholds.LowBatteryPct, plain.Thresholds.LowerPct));
        Assert.Equal(7, bin.Compartments.Count);
    }

    [Theory]
    [InlineData("http://tiles.local/{z}/{x}/{y}.png", "http://tiles.local")]
    [InlineData("https://tiles.example.cn:8443/map/{z}/{x}/{y}", "https://tiles.example.cn:8443")]
    [InlineData("http://{s}.tiles.local/{z}/{x}/{y}.png", "http://*.tiles.local")]
    [InlineData("http://tiles.local/{z}/{x}.png", null)]
    [InlineData("ftp://tiles.local/{z}/{x}/{y}.png", null)]
    [InlineData("http://tiles.local/{z}/{x}/{y}.png; script-src *", null)]
    [InlineData("http://tiles.local/{z}/{x}/{y}.png' 'unsafe-inline", null)]
    [InlineData("http://x{s}.tiles.local/{z}/{x}/{y}.png", "http://*.tiles.local")]
    [InlineData("http://webrd0{s}.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}&style=8", "http://*.is.autonavi.com")]
    [InlineData("http://tiles.local/{s}/{z}/{x}/{y}.png", "http://tiles.local")]
    [InlineData("http://tiles{s}/{z}/{x}/{y}.png", null)]
    [InlineData("http://[::1]:8080/{z}/{x}/{y}.png", null)]
    [InlineData("http://10.0.0.5:8080/{z}/{x}/{y}.png", "http://10.0.0.5:8080")]
    [InlineData("http://瓦片.local/{z}/{x}/{y}.png", null)]
    [InlineData("http://tiles.local/{z}/{x}/{y}.png?key={key}", null)]
    public void Tile_origin_is_the_templates_origin_or_refused(string template, string? origin)
    {
        Assert.Equal(origin, ApiOptionsValidator.TileOrigin(template));
    }

    [Fact]
    public void Map_settings_are_validated_naming_the_key()
    {
        Assert.Null(ApiOptionsValidator.ValidateMap(new MapOptions()));
        Assert.Null(ApiOptionsValidator.ValidateMap(new MapOptions { TileUrl = "http://tiles.local/{z}/{x}/{y}.png", TileDatum = "gcj02" }));
        Assert.StartsWith("Api:Map:TileDatum:", ApiOptionsValidator.ValidateMap(new MapOptions { TileDatum = "bd09" }), StringComparison.Ordinal);
        Assert.StartsWith("Api:Map:TileUrl:", ApiOptionsValidator.ValidateMap(new MapOptions { TileUrl = "tiles" }), StringComparison.Ordinal);
        Assert.StartsWith("Api:Map:MaxZoom:", ApiOptionsValidator.ValidateMap(new MapOptions { MaxZoom = 40 }), StringComparison.Ordinal);
        Assert.StartsWith("Api:Map:TileSubdomains:", ApiOptionsValidator.ValidateMap(new MapOptions { TileSubdomains = "a b" }), StringComparison.Ordinal);
    }

    [Fact]
    public void The_content_security_policy_allows_only_the_host_and_the_tile_server_for_images()
    {
        var plain = Dashboard.Policy(null);
        Assert.Contains("default-src 'self'", plain, StringComparison.Ordinal);
        Assert.Contains("script-src 'self';", plain, StringComparison.Ordinal);
        Assert.Contains("connect-src 'self';", plain, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe", plain, StringComparison.Ordinal);
        Assert.DoesNotContain("http", plain, StringComparison.Ordinal);
        var tiles = Dashboard.Policy("http://tiles.local");
        Assert.Contains("img-src 'self' data: blob: http://tiles.local;", tiles, StringComparison.Ordinal);
        Assert.Contains("connect-src 'self';", tiles, StringComparison.Ordinal);
    }

    [Fact]
    public void Threshold_settings_are_validated_naming_the_key()
    {
        var v = new SchedulingOptionsValidator();
        Assert.True(v.Validate(null, new SchedulingOptions { ThresholdPct = 80 }).Succeeded);
        Assert.Contains("Scheduling:ThresholdPct", v.Validate(null, new SchedulingOptions { ThresholdPct = 120 }).FailureMessage, StringComparison.Ordinal);
        var a = new AlertThresholdOptionsValidator();
        Assert.Contains("Alerts:OverflowPct", a.Validate(null, new AlertThresholdOptions { OverflowPct = 0 }).FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Alerts:LowBatteryPct", a.Validate(null, new AlertThresholdOptions { LowBatteryPct = -1 }).FailureMessage, StringComparison.Ordinal);
        // Overflow must be fuller than the collection threshold, or the dashboard's orange band could never show.
        var crossed = new AlertThresholdOptionsValidator(Microsoft.Extensions.Options.Options.Create(new SchedulingOptions { ThresholdPct = 95 }));
        Assert.Contains("Scheduling:ThresholdPct", crossed.Validate(null, new AlertThresholdOptions { OverflowPct = 95 }).FailureMessage, StringComparison.Ordinal);
        Assert.True(crossed.Validate(null, new AlertThresholdOptions { OverflowPct = 98 }).Succeeded);
    }

    private static double Metres(GeoPoint a, GeoPoint b)
    {
        const double R = 6_371_000;
        var dLat = (b.Latitude - a.Latitude) * Math.PI / 180;
        var dLon = (b.Longitude - a.Longitude) * Math.PI / 180 * Math.Cos(a.Latitude * Math.PI / 180);
        return R * Math.Sqrt(dLat * dLat + dLon * dLon);
    }
}
