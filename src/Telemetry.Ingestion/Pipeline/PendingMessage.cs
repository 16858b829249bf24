using Telemetry.Contracts.Readings;
using Telemetry.Storage;

namespace Telemetry.Ingestion.Pipeline;

/// <summary>A decoded message waiting to be stored: its readings, or the dead letter it became.</summary>
internal sealed record PendingMessage(InboundMessage Message, IReadOnlyList<Reading> Readings, DeadLetter? DeadLetter);
