using System.Globalization;
using System.Text.RegularExpressions;

namespace Telemetry.Routing.Cvrp;

/// <summary>
/// Reads CVRPLIB (TSPLIB-style) files of TYPE CVRP with EUC_2D coordinates: the keywords NAME, COMMENT, TYPE, DIMENSION,
/// EDGE_WEIGHT_TYPE and CAPACITY, then NODE_COORD_SECTION, DEMAND_SECTION, DEPOT_SECTION (one depot, closed by -1) and EOF.
/// Leading and trailing spaces are ignored (the A set pads its lines). The number of vehicles is the <c>k</c> of the name
/// (<c>A-n32-k5</c>: 5). Anything else (another TYPE or EDGE_WEIGHT_TYPE, keywords such as DISTANCE that would change the
/// problem, a count that does not match DIMENSION) is refused with the file, the line and the problem.
/// </summary>
public static partial class CvrpParser
{
    private static readonly string[] Keywords = ["NAME", "COMMENT", "TYPE", "DIMENSION", "EDGE_WEIGHT_TYPE", "CAPACITY"];

    public static CvrpInstance ParseFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var reader = new StreamReader(path);
        return Parse(reader, path);
    }

    public static CvrpInstance Parse(TextReader reader, string file)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(file);
        return new Reader(reader, file).Read();
    }

    /// <summary>The <c>k</c> of a CVRPLIB name (<c>-kN</c> at its end), or null.</summary>
    public static int? VehiclesOf(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var m = VehiclesSuffix().Match(name);
        return m.Success && int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var k) && k > 0 ? k : null;
    }

    [GeneratedRegex(@"-k([0-9]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex VehiclesSuffix();

    private sealed class Reader(TextReader reader, string file)
    {
        private readonly Dictionary<string, (string Value, int Line)> _keys = new(StringComparer.Ordinal);
        private int _line;
        private CvrpPoint[]? _nodes;
        private int[]? _demands;
        private int? _depot;
        private bool _eof;

        public CvrpInstance Read()
        {
            while (Next() is { } text)
            {
                if (_eof)
                {
                    throw Error($"'{Shorten(text)}' after EOF");
                }
                var colon = text.IndexOf(':', StringComparison.Ordinal);
                var keyword = (colon >= 0 ? text[..colon] : text).Trim();
                switch (keyword)
                {
                    case "NODE_COORD_SECTION":
                        NoValue(colon, keyword);
                        Once(_nodes is null, keyword);
                        _nodes = ReadCoordinates();
                        break;
                    case "DEMAND_SECTION":
                        NoValue(colon, keyword);
                        Once(_demands is null, keyword);
                        _demands = ReadDemands();
                        break;
                    case "DEPOT_SECTION":
                        NoValue(colon, keyword);
                        Once(_depot is null, keyword);
                        _depot = ReadDepot();
                        break;
                    case "EOF":
                        NoValue(colon, keyword);
                        _eof = true;
                        break;
                    default:
                        if (!Keywords.Contains(keyword, StringComparer.Ordinal))
                        {
                            throw Error(colon >= 0
                                ? $"unknown keyword '{Shorten(keyword)}' (this reader takes {string.Join(", ", Keywords)} and the sections NODE_COORD_SECTION, DEMAND_SECTION, DEPOT_SECTION)"
                                : $"'{Shorten(text)}' is neither a 'KEYWORD : value' line nor a section");
                        }
                        if (colon < 0)
                        {
                            throw Error($"{keyword} has no ': value'");
                        }
                        if (_keys.TryGetValue(keyword, out var earlier))
                        {
                            throw Error($"{keyword} given twice (first on line {earlier.Line})");
                        }
                        if (_nodes is not null || _demands is not null || _depot is not null)
                        {
                            throw Error($"{keyword} after the data sections");
                        }
                        _keys[keyword] = (text[(colon + 1)..].Trim(), _line);
                        Check(keyword);
                        break;
                }
            }
            return Build();
        }

        private CvrpInstance Build()
        {
            var name = Required("NAME");
            Required("TYPE");
            Required("EDGE_WEIGHT_TYPE");
            var capacity = int.Parse(Required("CAPACITY"), CultureInfo.InvariantCulture);
            if (_nodes is null)
            {
                throw Error("no NODE_COORD_SECTION", 0);
            }
            if (_demands is null)
            {
                throw Error("no DEMAND_SECTION", 0);
            }
            if (_depot is not { } depot)
            {
                throw Error("no DEPOT_SECTION", 0);
            }
            if (!_eof)
            {
                throw Error("ends without EOF (a truncated file?)");
            }
            var k = VehiclesOf(name) ?? throw Error($"NAME '{name}' does not end in -kN (the number of vehicles)", _keys["NAME"].Line);
            return new CvrpInstance(name, _keys.TryGetValue("COMMENT", out var c) ? c.Value : null, capacity, k, _nodes, _demands, depot);
        }

        private void Check(string keyword)
        {
            var (value, _) = _keys[keyword];
            switch (keyword)
            {
                case "NAME" when value.Length == 0:
                    throw Error("NAME is empty");
                case "TYPE" when value != "CVRP":
                    throw Error($"TYPE '{Shorten(value)}' is not CVRP");
                case "EDGE_WEIGHT_TYPE" when value != "EUC_2D":
                    throw Error($"EDGE_WEIGHT_TYPE '{Shorten(value)}' is not EUC_2D (the only one this reader takes)");
                case "DIMENSION" when !int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 2 || n > 1_000_000:
                    throw Error($"DIMENSION '{Shorten(value)}' is not a whole number from 2 to 1000000");
                case "CAPACITY" when !int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var q) || q < 1:
                    throw Error($"CAPACITY '{Shorten(value)}' is not a positive whole number");
                default:
                    break;
            }
        }

        private CvrpPoint[] ReadCoordinates()
        {
            var n = Dimension("NODE_COORD_SECTION");
            var nodes = new CvrpPoint?[n];
            for (var i = 0; i < n; i++)
            {
                var fields = Fields("NODE_COORD_SECTION", n, i, 3, "'id x y'");
                var id = NodeId(fields[0], n, "NODE_COORD_SECTION");
                if (nodes[id - 1] is not null)
                {
                    throw Error($"node {id} given twice in NODE_COORD_SECTION");
                }
                nodes[id - 1] = new CvrpPoint(Coordinate(fields[1], "x", id), Coordinate(fields[2], "y", id));
            }
            return [.. nodes.Select(p => p!.Value)];
        }

        private int[] ReadDemands()
        {
            var n = Dimension("DEMAND_SECTION");
            var capacity = int.Parse(Required("CAPACITY", "DEMAND_SECTION"), CultureInfo.InvariantCulture);
            var demands = new int[n];
            var seen = new bool[n];
            for (var i = 0; i < n; i++)
            {
                var fields = Fields("DEMAND_SECTION", n, i, 2, "'id demand'");
                var id = NodeId(fields[0], n, "DEMAND_SECTION");
                if (seen[id - 1])
                {
                    throw Error($"node {id} given twice in DEMAND_SECTION");
                }
                if (!int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var d))
                {
                    throw Error($"demand '{Shorten(fields[1])}' of node {id} is not a whole number of 0 or more");
                }
                if (d > capacity)
                {
                    throw Error($"demand {d} of node {id} is more than the CAPACITY {capacity}: no vehicle can serve it");
                }
                seen[id - 1] = true;
                demands[id - 1] = d;
            }
            return demands;
        }

        private int ReadDepot()
        {
            var n = Dimension("DEPOT_SECTION");
            int? depot = null;
            var depotLine = 0;
            while (true)
            {
                var text = Next() ?? throw Error("DEPOT_SECTION ends without -1");
                if (text == "-1")
                {
                    break;
                }
                if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id < 1 || id > n)
                {
                    throw Error($"depot '{Shorten(text)}' is not a node from 1 to {n} (or -1, which closes the section)");
                }
                if (depot is not null)
                {
                    throw Error($"a second depot ({id}; the first is {depot + 1}): this reader takes instances with one depot");
                }
                depot = id - 1;
                depotLine = _line;
            }
            if (depot is not { } index)
            {
                throw Error("DEPOT_SECTION names no depot");
            }
            if (_demands is { } demands && demands[index] != 0)
            {
                throw Error($"the depot, node {index + 1}, has demand {demands[index]} (0 expected)", depotLine);
            }
            return index;
        }

        private string[] Fields(string section, int n, int i, int count, string shape)
        {
            var text = Next() ?? throw Error($"{section} ends after {i} of the {n} lines of DIMENSION");
            var fields = text.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length != count)
            {
                throw Error(fields.Length > 0 && char.IsLetter(fields[0][0])
                    ? $"{section} has {i} lines where DIMENSION says {n}; '{Shorten(text)}' comes early"
                    : $"'{Shorten(text)}' in {section} is not {shape}");
            }
            return fields;
        }

        private int NodeId(string field, int n, string section) =>
            int.TryParse(field, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id >= 1 && id <= n
                ? id
                : throw Error($"node '{Shorten(field)}' in {section} is not a whole number from 1 to {n} (DIMENSION)");

        private double Coordinate(string field, string axis, int id) =>
            double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)
                ? v
                : throw Error($"{axis} '{Shorten(field)}' of node {id} is not a number");

        private int Dimension(string section) =>
            int.Parse(Required("DIMENSION", section), CultureInfo.InvariantCulture);

        private string Required(string keyword, string? before = null) =>
            _keys.TryGetValue(keyword, out var v)
                ? v.Value
                : throw Error(before is null ? $"no {keyword}" : $"{before} before {keyword}", before is null ? 0 : _line);

        private void NoValue(int colon, string keyword)
        {
            if (colon >= 0)
            {
                throw Error($"{keyword} takes no ': value'");
            }
        }

        private void Once(bool first, string section)
        {
            if (!first)
            {
                throw Error($"{section} given twice");
            }
        }

        /// <summary>The next line that is not blank, trimmed; null at the end of the file.</summary>
        private string? Next()
        {
            while (reader.ReadLine() is { } raw)
            {
                _line++;
                var text = raw.Trim();
                if (text.Length > 0)
                {
                    return text;
                }
            }
            return null;
        }

        private CvrpFormatException Error(string problem) => Error(problem, _line);

        private CvrpFormatException Error(string problem, int line) => new(file, line, problem);

        private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";
    }
}
