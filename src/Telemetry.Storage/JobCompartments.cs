namespace Telemetry.Storage;

/// <summary>
/// A job's compartments as both stores keep them: one text, the ids joined by commas in the job's order (<c>paper,glass</c>;
/// no compartments is the empty text).
/// </summary>
internal static class JobCompartments
{
    /// <summary>
    /// The stored text of <paramref name="e"/>'s compartments. A compartment that is empty or holds a comma would not read back
    /// as it was: the event is refused (<see cref="StoreRejectedException"/>) before anything is written.
    /// </summary>
    public static string Join(StoredJobEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        foreach (var c in e.Compartments ?? throw new StoreRejectedException($"job {e.JobId} ({e.Type} at {e.At:O}) has no compartment list"))
        {
            if (string.IsNullOrEmpty(c) || c.Contains(',', StringComparison.Ordinal))
            {
                throw new StoreRejectedException(
                    $"job {e.JobId} ({e.Type} at {e.At:O}) has the compartment '{c}'; a compartment id must be non-empty and without commas");
            }
        }
        return string.Join(',', e.Compartments);
    }

    /// <summary>The compartments of a stored text (the inverse of <see cref="Join"/>).</summary>
    public static IReadOnlyList<string> Split(string? stored) =>
        string.IsNullOrEmpty(stored) ? [] : stored.Split(',');
}
