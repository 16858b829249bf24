using Telemetry.Fleet;

namespace Telemetry.Simulator;

/// <summary>
/// How residents use one material's compartment: deposits per day at an average kiosk, the mean
/// deposit weight, and the bulk density in the compartment (which turns weight into fill).
/// Figures are plausible for Chinese residential sorting kiosks, not measured.
/// </summary>
internal sealed record MaterialProfile(double DepositsPerDay, double MeanKg, double KgPerLitre, double EveningBias)
{
    private static readonly Dictionary<string, MaterialProfile> Known = new(StringComparer.Ordinal)
    {
        ["paper"] = new(12, 0.6, 0.08, 1.0),
        ["plastic"] = new(15, 0.25, 0.04, 1.0),
        ["metal"] = new(4, 0.3, 0.10, 1.0),
        ["glass"] = new(4, 0.8, 0.35, 1.1),
        ["textile"] = new(1, 1.5, 0.12, 0.8),
        ["kitchen"] = new(60, 1.0, 0.60, 1.5),
        ["hazardous"] = new(0.5, 0.15, 0.40, 0.8),
        ["residual"] = new(60, 1.2, 0.25, 1.2),
    };

    public static MaterialProfile For(Compartment c) =>
        Known.GetValueOrDefault(c.Id) ?? c.Stream switch
        {
            WasteStream.Kitchen => Known["kitchen"],
            WasteStream.Hazardous => Known["hazardous"],
            WasteStream.Residual => Known["residual"],
            _ => Known["plastic"],
        };
}
