using Telemetry.Routing.Cvrp;

namespace Telemetry.UnitTests.Routing;

public class BestKnownValuesTests
{
    [Fact]
    public void The_repository_file_gives_a_value_for_every_instance()
    {
        var best = BestKnownValues.ReadFile(CvrpTestData.PathOf(BestKnownValues.FileName));
        Assert.Equal(14, best.Count);
        Assert.Equal(784, best["A-n32-k5"]);
        Assert.Equal(815, best["E-n101-k8"]);
        Assert.Equal(450, best["P-n16-k8"]);
    }

    [Fact]
    public void Columns_are_found_by_their_header_names_in_any_order()
    {
        var best = BestKnownValues.Read(new StringReader("source\tbest_known_value\tname\nsomewhere\t1234.5\tX-n1-k1\n\n"), "b.tsv");
        Assert.Equal(1234.5, Assert.Single(best).Value);
        Assert.Equal("X-n1-k1", best.Keys.Single());
    }

    [Theory]
    [InlineData("", 0, "is empty")]
    [InlineData("name best_known_value\nA-n1-k1 3\n", 1, "the header lacks the column name (columns are separated by tabs)")]
    [InlineData("name\tbest\nA-n1-k1\t3\n", 1, "the header lacks the column best_known_value")]
    [InlineData("name\tbest_known_value\nA-n1-k1\tmany\n", 2, "best_known_value 'many' of A-n1-k1 is not a positive number")]
    [InlineData("name\tbest_known_value\nA-n1-k1\t3\nA-n1-k1\t4\n", 3, "A-n1-k1 given twice")]
    [InlineData("name\tbest_known_value\tsource\nA-n1-k1\n", 2, "1 columns where the header has 3")]
    public void A_bad_file_is_refused_naming_the_line(string text, int line, string problem)
    {
        var ex = Assert.Throws<CvrpFormatException>(() => BestKnownValues.Read(new StringReader(text), "b.tsv"));
        Assert.Equal(line, ex.Line);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
    }
}
