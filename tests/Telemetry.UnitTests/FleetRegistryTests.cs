using System.Text.Json.Nodes;
using Telemetry.Fleet;

namespace Telemetry.UnitTests;

public class FleetRegistryTests
{
    private static readonly string[] Mandatory = ["paper", "plastic", "metal", "glass", "kitchen", "hazardous", "residual"];

    [Fact]
    public void Shipped_Jiyang_registry_has_55_bins_in_23_communities()
    {
        var r = FleetRegistryLoader.LoadDefault();
        Assert.Equal("Jiyang", r.District);
        Assert.Equal("Asia/Shanghai", r.TimeZone.Id);
        Assert.Equal(23, r.Communities.Count);
        Assert.Equal(Enumerable.Range(1, 55).Select(i => $"JY-{i:D3}"), r.Bins.Select(b => b.Id));
        Assert.All(r.Bins, b => Assert.Subset(b.Compartments.Select(c => c.Id).ToHashSet(), Mandatory.ToHashSet()));
        Assert.All(r.Bins, b => Assert.True(r.Bounds.Contains(b.Location)));
        Assert.All(r.Communities, c => Assert.Contains(r.Bins, b => b.Community == c.Id));
        Assert.InRange(r.Communities.Sum(c => c.Residents), 28_000, 32_000);
        Assert.Equal(FacilityKinds.All.ToHashSet(), r.Facilities.Select(f => f.Kind).ToHashSet());
        Assert.Equal(20, r.Vehicles.Count(v => v.Stream == WasteStream.Recyclable));
        Assert.Equal(10, r.Vehicles.Count(v => v.Stream == WasteStream.Kitchen));
        Assert.Equal(1, r.Vehicles.Count(v => v.Stream == WasteStream.Hazardous));
        Assert.Contains(r.Vehicles, v => v.Stream == WasteStream.Residual);
        Assert.Equal((36.80, 37.30, 116.90, 117.50), (r.Bounds.South, r.Bounds.North, r.Bounds.West, r.Bounds.East));
    }

    [Fact]
    public void Shipped_registry_names_every_community_and_facility_and_addresses_every_bin_in_Chinese()
    {
        var r = FleetRegistryLoader.LoadDefault();
        static bool Chinese(string? s) => s is { Length: > 0 } && s.Any(c => c is >= '\u4e00' and <= '\u9fff');
        Assert.All(r.Communities, c => Assert.True(Chinese(c.NameZh) && c.NameZh!.EndsWith("社区", StringComparison.Ordinal), $"{c.Id}: '{c.NameZh}'"));
        Assert.All(r.Facilities, f => Assert.True(Chinese(f.NameZh), $"{f.Id}: '{f.NameZh}'"));
        Assert.All(r.Bins, b => Assert.True(Chinese(b.AddressZh), $"{b.Id}: '{b.AddressZh}'"));
        // A bin's Chinese address names its own community, as the English one does.
        Assert.All(r.Bins, b => Assert.StartsWith(r.FindCommunity(b.Community)!.NameZh!, b.AddressZh!, StringComparison.Ordinal));
        Assert.Equal("新苑社区", r.FindCommunity("c01")!.NameZh);
        Assert.Equal("新苑社区23号楼", r.FindBin("JY-001")!.AddressZh);
    }

    [Fact]
    public void Chinese_names_are_optional()
    {
        var node = JsonNode.Parse(DefaultJson())!;
        node["communities"]![0]!.AsObject().Remove("nameZh");
        node["bins"]![0]!.AsObject().Remove("addressZh");
        var r = FleetRegistryLoader.Parse(node.ToJsonString(), "x");
        Assert.Null(r.FindCommunity("c01")!.NameZh);
        Assert.Null(r.FindBin("JY-001")!.AddressZh);
        Assert.Equal("济北社区", r.FindCommunity("c02")!.NameZh);
    }

    [Fact]
    public void Compartment_streams_match_materials()
    {
        var r = FleetRegistryLoader.LoadDefault();
        foreach (var (bin, c) in r.AllCompartments())
        {
            Assert.Equal(WasteStreams.MaterialStreams[c.Id], c.Stream);
            Assert.True(c.Litres > 0 && c.MaxKg > 0, $"{bin.Id}/{c.Id}");
        }
    }

    public static TheoryData<string, string> Faults => new()
    {
        { "bins[1].id=JY-001", "bins[1] 'JY-001': duplicate bin id" },
        { "bins[0].community=c99", "bins[0] 'JY-001': unknown community 'c99'" },
        { "bins[2].compartments[0].stream=", "bins[2] 'JY-003' compartments[0] 'paper': compartment without stream" },
        { "bins[2].compartments[0].stream=compost", "unknown stream 'compost'" },
        { "bins[4].lat=40.1", "bins[4] 'JY-005': coordinates 40.1," },
        { "facilities[0].lon=100", "facilities[0] 'depot': coordinates" },
        { "vehicles[0].stream=glass", "vehicles[0] 'REC-01': vehicle for an unknown stream 'glass'" },
        { "vehicles[0].depot=nowhere", "vehicles[0] 'REC-01': unknown depot 'nowhere'" },
        { "vehicles[0].shiftStart=25:00", "vehicles[0] 'REC-01': shiftStart '25:00'" },
        { "vehicles[0].shiftEnd=16:00", "vehicles[1] 'REC-02': shift 07:00–15:00 starts with 'REC-01' (07:00–16:00) but ends otherwise" },
        { "bins[0].compartments[0].stream=kitchen", "material 'paper' belongs to stream 'recyclable'" },
        { "bins[0].compartments[1].id=paper", "bins[0] 'JY-001' compartments[1] 'paper': duplicate compartment id" },
        { "bins[0].compartments[0].litres=-5", "bins[0] 'JY-001' compartments[0] 'paper': litres must be a positive number" },
        { "communities[1].id=c01", "communities[1] 'c01': duplicate community id" },
        { "timeZone=Mars/Olympus", "timeZone: unknown time zone 'Mars/Olympus'" },
        { "bins[3].id=JY/004", "bins[3]: id missing or not usable as an MQTT topic level" },
        { "facilities[0].kind=garage", "facilities[0] 'depot': unknown kind 'garage'" },
        { "communities[2].nameZh= ", "communities[2] 'c03': nameZh is blank" },
        { "facilities[1].nameZh=\u0007", "facilities[1] 'sorting-centre': nameZh contains a control character" },
        { "bins[5].addressZh=" + new string('楼', 201), "bins[5] 'JY-006': addressZh is longer than 200 characters" },
        { "bins[6].address=line\nbreak", "bins[6] 'JY-007': address contains a control character" },
    };

    [Theory]
    [MemberData(nameof(Faults))]
    public void Registry_with_a_fault_is_refused_naming_entry_and_fault(string mutation, string expected)
    {
        var json = Mutate(mutation);
        var ex = Assert.Throws<RegistryException>(() => FleetRegistryLoader.Parse(json, "test.json"));
        Assert.Contains(ex.Errors, e => e.Contains(expected, StringComparison.Ordinal));
        Assert.Contains("test.json", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_property_and_broken_json_are_refused_with_location()
    {
        var node = JsonNode.Parse(DefaultJson())!;
        node["bins"]![0]!["colour"] = "green";
        var ex = Assert.Throws<RegistryException>(() => FleetRegistryLoader.Parse(node.ToJsonString(), "x"));
        Assert.Contains("colour", ex.Message, StringComparison.Ordinal);

        var broken = Assert.Throws<RegistryException>(() => FleetRegistryLoader.Parse("{\"district\": ", "x"));
        Assert.Contains("not a valid registry document", broken.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_file_names_the_setting()
    {
        var ex = Assert.Throws<RegistryException>(() => FleetRegistryLoader.Load("/nonexistent/registry.json"));
        Assert.Contains("Fleet:Registry", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Serialized_registry_loads_back_identically()
    {
        var r = FleetRegistryLoader.LoadDefault();
        var again = FleetRegistryLoader.Parse(FleetRegistryLoader.Serialize(r), "roundtrip");
        Assert.Equal(r.Bins.Select(b => (b.Id, b.Community, b.Location, b.Compartments.Count)), again.Bins.Select(b => (b.Id, b.Community, b.Location, b.Compartments.Count)));
        Assert.Equal(r.Vehicles, again.Vehicles);
        Assert.Equal(r.Facilities, again.Facilities);
        Assert.Equal(r.Facilities.Select(f => f.NameZh), again.Facilities.Select(f => f.NameZh));
        Assert.Equal(r.Communities.Select(c => (c.Id, c.Name, c.NameZh)), again.Communities.Select(c => (c.Id, c.Name, c.NameZh)));
        Assert.Equal(r.Bins.Select(b => (b.Address, b.AddressZh)), again.Bins.Select(b => (b.Address, b.AddressZh)));
    }

    [Fact]
    public void Synthesized_fleet_keeps_registry_bins_and_adds_unique_ids_inside_the_district()
    {
        var r = FleetRegistryLoader.LoadDefault();
        var big = FleetSynthesizer.Resize(r, 1000);
        Assert.Equal(1000, big.Bins.Select(b => b.Id).Distinct().Count());
        Assert.Equal(r.Bins.Select(b => b.Id), big.Bins.Take(55).Select(b => b.Id));
        Assert.Equal("JY-056", big.Bins[55].Id);
        Assert.Equal("JY-1000", big.Bins[999].Id);
        Assert.All(big.Bins, b => Assert.True(big.Bounds.Contains(b.Location)));
        // Deterministic: the simulator and an ingestion given the same N agree.
        Assert.Equal(big.Bins.Select(b => b.Location), FleetSynthesizer.Resize(r, 1000).Bins.Select(b => b.Location));
        Assert.Equal(10, FleetSynthesizer.Resize(r, 10).Bins.Count);
    }

    private static string DefaultJson()
    {
        using var s = typeof(FleetRegistryLoader).Assembly.GetManifestResourceStream("Telemetry.Fleet.Registry.jiyang.json")!;
        return new StreamReader(s).ReadToEnd();
    }

    // "bins[2].compartments[0].stream=value": sets (or, with an empty value, removes) one property.
    private static string Mutate(string mutation)
    {
        var node = JsonNode.Parse(DefaultJson())!;
        var (path, value) = (mutation[..mutation.IndexOf('=', StringComparison.Ordinal)], mutation[(mutation.IndexOf('=', StringComparison.Ordinal) + 1)..]);
        var parts = path.Split('.');
        JsonNode current = node;
        foreach (var part in parts[..^1])
        {
            current = Step(current, part);
        }
        var last = parts[^1];
        var obj = current.AsObject();
        if (value.Length == 0)
        {
            obj.Remove(last);
        }
        else if (double.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var d) && !value.Contains(':', StringComparison.Ordinal))
        {
            obj[last] = d;
        }
        else
        {
            obj[last] = value;
        }
        return node.ToJsonString();
    }

    private static JsonNode Step(JsonNode node, string part)
    {
        var bracket = part.IndexOf('[', StringComparison.Ordinal);
        if (bracket < 0)
        {
            return node[part]!;
        }
        var name = part[..bracket];
        var index = int.Parse(part[(bracket + 1)..^1], System.Globalization.CultureInfo.InvariantCulture);
        return node[name]![index]!;
    }
}
