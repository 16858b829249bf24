namespace Telemetry.Contracts.Messages;

/// <summary>Sent by the api to the active scheduler: a dispatcher asks for a collection of a bin's compartments. Answered with <see cref="JobCommandResult"/>.</summary>
public sealed record RequestCollectionJob(string Bin, IReadOnlyList<string> Compartments, string By);
