namespace Telemetry.Routing.Cvrp;

/// <summary>A CVRPLIB or BEST.tsv file that cannot be read; the message names the file, the line and the problem.</summary>
public sealed class CvrpFormatException : Exception
{
    public CvrpFormatException(string file, int line, string problem)
        : base(line > 0 ? $"{file}:{line}: {problem}" : $"{file}: {problem}")
    {
        File = file;
        Line = line;
        Problem = problem;
    }

    public CvrpFormatException()
        : this("(unknown)", 0, "invalid file")
    {
    }

    public CvrpFormatException(string message)
        : this("(unknown)", 0, message)
    {
    }

    public CvrpFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
        File = "(unknown)";
        Problem = message;
    }

    public string File { get; } = "(unknown)";

    /// <summary>The 1-based line of the problem; 0 where it concerns the whole file.</summary>
    public int Line { get; }

    public string Problem { get; } = "";
}
