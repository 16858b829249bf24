using Telemetry.Routing.Cvrp;

namespace Telemetry.UnitTests.Routing;

public class CvrpParserTests
{
    // A small instance in the P set's layout: node 1 the depot, four customers.
    private const string Small = """
        NAME : T-n5-k2
        COMMENT : (a test instance)
        TYPE : CVRP
        DIMENSION : 5
        EDGE_WEIGHT_TYPE : EUC_2D
        CAPACITY : 10
        NODE_COORD_SECTION
        1 0 0
        2 3 4
        3 -3 4
        4 6 8
        5 0 -2.5
        DEMAND_SECTION
        1 0
        2 4
        3 5
        4 6
        5 3
        DEPOT_SECTION
         1
         -1
        EOF
        """;

    private static CvrpInstance Parse(string text) => CvrpParser.Parse(new StringReader(text), "t.vrp");

    [Fact]
    public void A_good_file_gives_its_nodes_demands_capacity_depot_and_the_k_of_its_name()
    {
        var p = Parse(Small);
        Assert.Equal("T-n5-k2", p.Name);
        Assert.Equal("(a test instance)", p.Comment);
        Assert.Equal(5, p.Dimension);
        Assert.Equal(10, p.Capacity);
        Assert.Equal(2, p.Vehicles);
        Assert.Equal(0, p.Depot);
        Assert.Equal(new CvrpPoint(-3, 4), p.Nodes[2]);
        Assert.Equal(new CvrpPoint(0, -2.5), p.Nodes[4]);
        Assert.Equal([0, 4, 5, 6, 3], p.Demands);
        Assert.Equal([1, 2, 3, 4], p.Customers);
    }

    [Fact]
    public void The_repository_instances_parse_with_the_k_and_size_of_their_names()
    {
        var files = Directory.GetFiles(CvrpTestData.Folder, "*.vrp");
        Assert.Equal(14, files.Length);
        foreach (var file in files)
        {
            var p = CvrpParser.ParseFile(file);
            Assert.Equal(Path.GetFileNameWithoutExtension(file), p.Name);
            var parts = p.Name.Split('-');
            Assert.Equal(int.Parse(parts[1][1..], System.Globalization.CultureInfo.InvariantCulture), p.Dimension);
            Assert.Equal(int.Parse(parts[2][1..], System.Globalization.CultureInfo.InvariantCulture), p.Vehicles);
        }
        var p16 = CvrpTestData.Instance("P-n16-k8");
        Assert.Equal(35, p16.Capacity);
        Assert.Equal(new CvrpPoint(37, 69), p16.Nodes[15]);
        Assert.Equal(30, p16.Demands[2]);
    }

    [Fact]
    public void Trailing_and_leading_spaces_and_tabs_are_ignored()
    {
        // The A set pads lines with trailing spaces ("EDGE_WEIGHT_TYPE : EUC_2D ", " 1  ", "EOF ").
        var padded = string.Join("\n", Small.Split('\n').Select((l, i) => (i % 2 == 0 ? " " : "\t") + l + (i % 3 == 0 ? "   " : " \t")));
        var p = Parse(padded);
        Assert.Equal("T-n5-k2", p.Name);
        Assert.Equal(10, p.Capacity);
        Assert.Equal([0, 4, 5, 6, 3], p.Demands);
        var a32 = CvrpTestData.Instance("A-n32-k5");
        Assert.Equal(100, a32.Capacity);
        Assert.Equal(5, a32.Vehicles);
        Assert.Equal(new CvrpPoint(82, 76), a32.Nodes[0]);
        Assert.Equal(9, a32.Demands[31]);
    }

    [Theory]
    [InlineData("TYPE : CVRP", "TYPE : TSP", 3, "TYPE 'TSP' is not CVRP")]
    [InlineData("EDGE_WEIGHT_TYPE : EUC_2D", "EDGE_WEIGHT_TYPE : GEO", 5, "EDGE_WEIGHT_TYPE 'GEO' is not EUC_2D")]
    [InlineData("DIMENSION : 5", "DIMENSION : five", 4, "DIMENSION 'five' is not a whole number")]
    [InlineData("CAPACITY : 10", "CAPACITY : 0", 6, "CAPACITY '0' is not a positive whole number")]
    [InlineData("NAME : T-n5-k2", "NAME : T-n5", 1, "does not end in -kN")]
    [InlineData("NAME : T-n5-k2", "NAME : T-n5-k2\nDISTANCE : 100", 2, "unknown keyword 'DISTANCE'")]
    [InlineData("CAPACITY : 10", "CAPACITY : 10\nCAPACITY : 12", 7, "CAPACITY given twice (first on line 6)")]
    [InlineData("3 -3 4", "3 -3 north", 10, "y 'north' of node 3 is not a number")]
    [InlineData("3 -3 4", "3 -3", 10, "'3 -3' in NODE_COORD_SECTION is not 'id x y'")]
    [InlineData("3 -3 4", "2 -3 4", 10, "node 2 given twice in NODE_COORD_SECTION")]
    [InlineData("3 -3 4", "9 -3 4", 10, "node '9' in NODE_COORD_SECTION is not a whole number from 1 to 5")]
    [InlineData("5 0 -2.5\n", "", 12, "NODE_COORD_SECTION has 4 lines where DIMENSION says 5; 'DEMAND_SECTION' comes early")]
    [InlineData("4 6\n", "4 11\n", 17, "demand 11 of node 4 is more than the CAPACITY 10")]
    [InlineData("4 6\n", "4 -6\n", 17, "demand '-6' of node 4 is not a whole number of 0 or more")]
    [InlineData("1 0\n", "1 2\n", 20, "the depot, node 1, has demand 2")]
    [InlineData(" 1\n", " 1\n 2\n", 21, "a second depot (2; the first is 1)")]
    [InlineData(" -1\nEOF", "", 20, "DEPOT_SECTION ends without -1")]
    [InlineData("EOF", "", 21, "ends without EOF")]
    [InlineData("EOF", "EOF\n1 2 3", 23, "'1 2 3' after EOF")]
    [InlineData("DEMAND_SECTION\n1 0\n2 4\n3 5\n4 6\n5 3\n", "", 0, "no DEMAND_SECTION")]
    [InlineData("CAPACITY : 10\n", "", 12, "DEMAND_SECTION before CAPACITY")]
    public void A_malformed_file_is_refused_naming_the_file_line_and_problem(string replace, string with, int line, string problem)
    {
        Assert.Contains(replace, Small, StringComparison.Ordinal);
        var ex = Assert.Throws<CvrpFormatException>(() => Parse(Small.Replace(replace, with, StringComparison.Ordinal)));
        Assert.Equal("t.vrp", ex.File);
        Assert.Contains(problem, ex.Problem, StringComparison.Ordinal);
        Assert.Equal(line, ex.Line);
        Assert.StartsWith(line > 0 ? $"t.vrp:{line}: " : "t.vrp: ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_vehicles_are_the_k_at_the_end_of_the_name()
    {
        Assert.Equal(5, CvrpParser.VehiclesOf("A-n32-k5"));
        Assert.Equal(10, CvrpParser.VehiclesOf("A-n63-k10"));
        Assert.Null(CvrpParser.VehiclesOf("A-n32"));
        Assert.Null(CvrpParser.VehiclesOf("A-n32-k0"));
        Assert.Null(CvrpParser.VehiclesOf("A-n32-k5x"));
    }
}
