using System.Text;
using Telemetry.Api.Analytics;
using Telemetry.Fleet;
using Telemetry.Storage;

namespace Telemetry.UnitTests.Api;

public class DiversionTests
{
    private static readonly FleetRegistry Registry = FleetRegistryLoader.LoadDefault();
    private static readonly DateTimeOffset From = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset To = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private static DepositTotal D(string day, string community, string stream, string material, double kg) =>
        new(DateOnly.Parse(day, System.Globalization.CultureInfo.InvariantCulture), community, stream, material, kg);

    [Fact]
    public void Rate_is_recyclable_kitchen_and_hazardous_over_all_four_streams()
    {
        var c = Registry.Communities[0].Id;
        var report = Diversion.Compute([
            D("2026-11-02", c, "recyclable", "paper", 40),
            D("2026-11-02", c, "kitchen", "kitchen", 50),
            D("2026-11-03", c, "hazardous", "hazardous", 10),
            D("2026-11-03", c, "residual", "residual", 100),
        ], Registry, From, To, "community", null);
        Assert.Equal(0.5, report.Total.DiversionRate);
        var g = Assert.Single(report.Groups);
        Assert.Equal(c, g.Key);
        Assert.Equal(Registry.Communities[0].Name, g.Name);
        Assert.Equal(new StreamKg(40, 50, 10, 100), g.DepositedKg);
    }

    [Fact]
    public void Nothing_deposited_gives_a_null_rate_and_no_groups()
    {
        var report = Diversion.Compute([], Registry, From, To, "day", null);
        Assert.Null(report.Total.DiversionRate);
        Assert.Empty(report.Groups);
        Assert.Equal(StreamKg.Zero, report.Total);
    }

    [Fact]
    public void Groups_by_day_material_and_stream_are_ordered_by_key_and_named_by_it()
    {
        var c = Registry.Communities[0].Id;
        var deposits = new[]
        {
            D("2026-11-03", c, "recyclable", "plastic", 2),
            D("2026-11-02", c, "recyclable", "paper", 1),
            D("2026-11-02", c, "residual", "residual", 3),
        };
        var days = Diversion.Compute(deposits, Registry, From, To, "day", null);
        Assert.Equal(["2026-11-02", "2026-11-03"], days.Groups.Select(g => g.Key));
        Assert.All(days.Groups, g => Assert.Equal(g.Key, g.Name));
        Assert.Equal(0.25, days.Groups[0].DepositedKg.DiversionRate);
        var materials = Diversion.Compute(deposits, Registry, From, To, "material", null);
        Assert.Equal(["paper", "plastic", "residual"], materials.Groups.Select(g => g.Key));
        var streams = Diversion.Compute(deposits, Registry, From, To, "stream", null);
        Assert.Equal(["recyclable", "residual"], streams.Groups.Select(g => g.Key));
        Assert.Equal(3, streams.Groups[0].DepositedKg.Recyclable);
    }

    [Fact]
    public void Community_filter_keeps_only_that_community()
    {
        var a = Registry.Communities[0].Id;
        var b = Registry.Communities[1].Id;
        var report = Diversion.Compute([D("2026-11-02", a, "kitchen", "kitchen", 5), D("2026-11-02", b, "residual", "residual", 5)], Registry, From, To, "community", b);
        Assert.Equal(b, Assert.Single(report.Groups).Key);
        Assert.Equal(0.0, report.Total.DiversionRate);
    }

    [Fact]
    public void Csv_has_a_byte_order_mark_crlf_rows_a_total_and_an_empty_cell_for_a_null_rate()
    {
        var c = Registry.Communities[0].Id;
        var report = Diversion.Compute([D("2026-11-02", c, "recyclable", "paper", 1.5)], Registry, From, To, "community", null);
        var bytes = Diversion.Csv(report);
        Assert.Equal(new byte[] { 0xEF, 0xBB, 0xBF }, bytes[..3]);
        var text = Encoding.UTF8.GetString(bytes, 3, bytes.Length - 3);
        var lines = text.Split("\r\n");
        Assert.Equal("key,name,recyclableKg,kitchenKg,hazardousKg,residualKg,diversionRate", lines[0]);
        Assert.Equal($"{c},{Diversion.Field(Registry.Communities[0].Name)},1.5,0,0,0,1", lines[1]);
        Assert.Equal("total,total,1.5,0,0,0,1", lines[2]);
        Assert.Equal("", lines[3]);
        Assert.DoesNotContain('\n', text.Replace("\r\n", "", StringComparison.Ordinal));

        var empty = Encoding.UTF8.GetString(Diversion.Csv(Diversion.Compute([], Registry, From, To, "day", null)));
        Assert.EndsWith("total,total,0,0,0,0,\r\n", empty, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData("say \"hi\"", "\"say \"\"hi\"\"\"")]
    [InlineData("two\r\nlines", "\"two\r\nlines\"")]
    [InlineData("新园社区", "新园社区")]
    public void Csv_fields_are_quoted_as_rfc_4180_says(string value, string expected) => Assert.Equal(expected, Diversion.Field(value));
}
