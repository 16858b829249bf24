namespace Telemetry.Fleet;

/// <summary>The places trucks start from and unload at.</summary>
public enum FacilityKind
{
    Depot,
    SortingCentre,
    KitchenSite,
    HazardousFacility,
    TransferStation,
}

public static class FacilityKinds
{
    public static readonly IReadOnlyList<FacilityKind> All =
        [FacilityKind.Depot, FacilityKind.SortingCentre, FacilityKind.KitchenSite, FacilityKind.HazardousFacility, FacilityKind.TransferStation];

    public static string Name(this FacilityKind kind) => kind switch
    {
        FacilityKind.Depot => "depot",
        FacilityKind.SortingCentre => "sorting-centre",
        FacilityKind.KitchenSite => "kitchen-site",
        FacilityKind.HazardousFacility => "hazardous-facility",
        FacilityKind.TransferStation => "transfer-station",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    public static FacilityKind Parse(string? name) =>
        TryParse(name, out var value) ? value : throw new FormatException($"unknown kind '{name}'");

    public static bool TryParse(string? name, out FacilityKind kind)
    {
        foreach (var k in All)
        {
            if (string.Equals(k.Name(), name, StringComparison.Ordinal))
            {
                kind = k;
                return true;
            }
        }
        kind = default;
        return false;
    }
}
