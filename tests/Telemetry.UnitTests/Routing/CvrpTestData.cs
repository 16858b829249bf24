using Telemetry.Routing.Cvrp;

namespace Telemetry.UnitTests.Routing;

/// <summary>The repository's CVRPLIB instances (tests/data/cvrplib), found from the test's output folder upwards.</summary>
internal static class CvrpTestData
{
    public static string Folder { get; } = Find();

    public static string PathOf(string file) => Path.Combine(Folder, file);

    public static CvrpInstance Instance(string name) => CvrpParser.ParseFile(PathOf(name + ".vrp"));

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "data", "cvrplib");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException($"tests/data/cvrplib is not above {AppContext.BaseDirectory}");
    }
}
