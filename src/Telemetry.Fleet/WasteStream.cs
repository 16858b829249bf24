namespace Telemetry.Fleet;

/// <summary>China's four-category sorting: every compartment belongs to one stream.</summary>
public enum WasteStream
{
    Recyclable,
    Kitchen,
    Hazardous,
    Residual,
}

/// <summary>Names of streams and materials as they appear in the registry, on the wire and in the store.</summary>
public static class WasteStreams
{
    public static readonly IReadOnlyList<WasteStream> All =
        [WasteStream.Recyclable, WasteStream.Kitchen, WasteStream.Hazardous, WasteStream.Residual];

    /// <summary>Known materials (compartment ids) and the only stream each may belong to.</summary>
    public static readonly IReadOnlyDictionary<string, WasteStream> MaterialStreams = new Dictionary<string, WasteStream>(StringComparer.Ordinal)
    {
        ["paper"] = WasteStream.Recyclable,
        ["plastic"] = WasteStream.Recyclable,
        ["metal"] = WasteStream.Recyclable,
        ["glass"] = WasteStream.Recyclable,
        ["textile"] = WasteStream.Recyclable,
        ["kitchen"] = WasteStream.Kitchen,
        ["hazardous"] = WasteStream.Hazardous,
        ["residual"] = WasteStream.Residual,
    };

    public static string Name(this WasteStream stream) => stream switch
    {
        WasteStream.Recyclable => "recyclable",
        WasteStream.Kitchen => "kitchen",
        WasteStream.Hazardous => "hazardous",
        WasteStream.Residual => "residual",
        _ => throw new ArgumentOutOfRangeException(nameof(stream), stream, null),
    };

    public static WasteStream Parse(string? name) =>
        TryParse(name, out var value) ? value : throw new FormatException($"unknown stream '{name}'");

    public static bool TryParse(string? name, out WasteStream stream)
    {
        foreach (var s in All)
        {
            if (string.Equals(s.Name(), name, StringComparison.Ordinal))
            {
                stream = s;
                return true;
            }
        }
        stream = default;
        return false;
    }

    /// <summary>The kind of facility a stream's trucks unload at.</summary>
    public static FacilityKind Destination(this WasteStream stream) => stream switch
    {
        WasteStream.Recyclable => FacilityKind.SortingCentre,
        WasteStream.Kitchen => FacilityKind.KitchenSite,
        WasteStream.Hazardous => FacilityKind.HazardousFacility,
        WasteStream.Residual => FacilityKind.TransferStation,
        _ => throw new ArgumentOutOfRangeException(nameof(stream), stream, null),
    };
}
