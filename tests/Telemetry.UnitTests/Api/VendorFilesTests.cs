using System.Text.Json;

namespace Telemetry.UnitTests.Api;

/// <summary>
/// The dashboard's vendored front-end files are the npm packages web/package-lock.json pins, copied by
/// web/copy-vendor.mjs: the manifest it writes agrees with the lock file, every file it lists exists, and the
/// page loads only files from the web root.
/// </summary>
public class VendorFilesTests
{
    private static string Root([System.Runtime.CompilerServices.CallerFilePath] string here = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "..", "..", ".."));

    [Fact]
    public void Vendored_libraries_match_the_lock_file_and_exist()
    {
        var root = Root();
        using var lockFile = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "web", "package-lock.json")));
        using var package = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "web", "package.json")));
        var vendor = Path.Combine(root, "src", "Telemetry.Api", "wwwroot", "vendor");
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(vendor, "manifest.json")));
        var dependencies = package.RootElement.GetProperty("dependencies").EnumerateObject().Select(p => p.Name).Order().ToList();
        Assert.Equal(dependencies, manifest.RootElement.EnumerateObject().Select(p => p.Name).Order().ToList());
        foreach (var entry in manifest.RootElement.EnumerateObject())
        {
            var locked = lockFile.RootElement.GetProperty("packages").GetProperty("node_modules/" + entry.Name);
            Assert.Equal(locked.GetProperty("version").GetString(), entry.Value.GetProperty("version").GetString());
            Assert.Equal(locked.GetProperty("integrity").GetString(), entry.Value.GetProperty("integrity").GetString());
            Assert.Equal(package.RootElement.GetProperty("dependencies").GetProperty(entry.Name).GetString(), entry.Value.GetProperty("version").GetString());
            foreach (var file in entry.Value.GetProperty("files").EnumerateArray())
            {
                var path = Path.Combine(vendor, entry.Name, file.GetString()!);
                Assert.True(File.Exists(path) && new FileInfo(path).Length > 0, $"missing {path}");
            }
        }
        Assert.Contains("Leaflet 1.9.4", File.ReadAllText(Path.Combine(vendor, "leaflet", "leaflet.js")), StringComparison.Ordinal);
        Assert.Contains("Chart.js v4.6.1", File.ReadAllText(Path.Combine(vendor, "chart.js", "chart.umd.min.js")), StringComparison.Ordinal);
    }

    [Fact]
    public void The_page_references_only_files_of_its_web_root()
    {
        var root = Path.Combine(Root(), "src", "Telemetry.Api", "wwwroot");
        var html = File.ReadAllText(Path.Combine(root, "index.html"));
        var references = System.Text.RegularExpressions.Regex.Matches(html, "(?:src|href)=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(references);
        Assert.All(references, r =>
        {
            Assert.StartsWith("/", r, StringComparison.Ordinal);
            Assert.False(r.StartsWith("//", StringComparison.Ordinal), r);
            Assert.True(File.Exists(Path.Combine(root, r.TrimStart('/'))), $"index.html references {r}, which is not in wwwroot");
        });
        foreach (var script in Directory.GetFiles(Path.Combine(root, "js")))
        {
            var text = File.ReadAllText(script);
            Assert.DoesNotContain("http://", text, StringComparison.Ordinal);
            Assert.DoesNotContain("https://", text, StringComparison.Ordinal);
            Assert.DoesNotContain("innerHTML", text, StringComparison.Ordinal);
        }
    }
}
