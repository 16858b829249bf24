using System.Globalization;

namespace Telemetry.Routing.Cvrp;

/// <summary>
/// Reads the best known values of a folder of instances (<c>BEST.tsv</c>): tab-separated, a header row naming the columns,
/// of which <c>name</c> (the instance's NAME) and <c>best_known_value</c> are used; other columns (optimality, source) are
/// left to people.
/// </summary>
public static class BestKnownValues
{
    public const string FileName = "BEST.tsv";

    public static IReadOnlyDictionary<string, double> ReadFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var reader = new StreamReader(path);
        return Read(reader, path);
    }

    public static IReadOnlyDictionary<string, double> Read(TextReader reader, string file)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(file);
        var header = reader.ReadLine() ?? throw new CvrpFormatException(file, 0, "is empty (a header with the columns name and best_known_value expected)");
        var columns = header.Split('\t').Select(c => c.Trim()).ToArray();
        var nameAt = Array.IndexOf(columns, "name");
        var valueAt = Array.IndexOf(columns, "best_known_value");
        if (nameAt < 0 || valueAt < 0)
        {
            throw new CvrpFormatException(file, 1, $"the header lacks the column {(nameAt < 0 ? "name" : "best_known_value")} (columns are separated by tabs)");
        }
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        var line = 1;
        while (reader.ReadLine() is { } text)
        {
            line++;
            if (text.Trim().Length == 0)
            {
                continue;
            }
            var fields = text.Split('\t');
            if (fields.Length <= Math.Max(nameAt, valueAt))
            {
                throw new CvrpFormatException(file, line, $"{fields.Length} columns where the header has {columns.Length}");
            }
            var name = fields[nameAt].Trim();
            var value = fields[valueAt].Trim();
            if (name.Length == 0)
            {
                throw new CvrpFormatException(file, line, "empty name");
            }
            if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var best) || !double.IsFinite(best) || best <= 0)
            {
                throw new CvrpFormatException(file, line, $"best_known_value '{value}' of {name} is not a positive number");
            }
            if (!values.TryAdd(name, best))
            {
                throw new CvrpFormatException(file, line, $"{name} given twice");
            }
        }
        return values;
    }
}
