using System.CommandLine;
using Telemetry.Host.Commands;

namespace Telemetry.UnitTests;

public class SimulateCommandTests
{
    private static readonly RootCommand Root = new("telemetry") { SimulateCommand.Create() };

    [Fact]
    public void Speed_above_one_without_history_is_refused_saying_to_add_history()
    {
        var errors = Root.Parse("simulate --speed 60").Errors;
        var error = Assert.Single(errors);
        Assert.Contains("--speed 60 needs --history", error.Message, StringComparison.Ordinal);
        Assert.Contains("Add e.g. --history 6h", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("simulate")]
    [InlineData("simulate --speed 1")]
    [InlineData("simulate --speed 60 --history 6h")]
    [InlineData("simulate --history 30m")]
    [InlineData("simulate --speed 3600 --history 2d --Mqtt:Server=mqtt://127.0.0.1:1883")]
    public void Speed_with_history_or_real_time_is_accepted(string line) =>
        Assert.Empty(Root.Parse(line).Errors);

    [Fact]
    public void Help_lists_the_settings_it_reads_instead_of_additional_arguments()
    {
        using var output = new StringWriter();
        var rc = Root.Parse("simulate --help").Invoke(new InvocationConfiguration { Output = output });
        var help = output.ToString();

        Assert.Equal(0, rc);
        Assert.Contains(" simulate [options] [--Key=value ...]", help, StringComparison.Ordinal);
        Assert.DoesNotContain("additional arguments", help, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Arguments passed to the application", help, StringComparison.Ordinal);
        Assert.Contains("Settings (--Key=value", help, StringComparison.Ordinal);
        foreach (var key in new[] { "Fleet:Registry", "Mqtt:Server", "Mqtt:Username", "Mqtt:Password" })
        {
            Assert.Contains("  " + key + " ", help, StringComparison.Ordinal);
        }
        // The standard parts are still there.
        Assert.Contains("--speed <speed>", help, StringComparison.Ordinal);
        Assert.Contains("above 1 needs --history", help, StringComparison.Ordinal);
    }
}
