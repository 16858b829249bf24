namespace Telemetry.Ingestion.Pipeline;

/// <summary>One MQTT message as received: copied bytes, the receiver's clock, and how to acknowledge it.</summary>
public sealed record InboundMessage(string Topic, ReadOnlyMemory<byte> Payload, DateTimeOffset ReceivedAt, Func<CancellationToken, Task> AcknowledgeAsync)
{
    /// <summary>When it was received on the real clock (<see cref="System.Diagnostics.Stopwatch"/>): the acknowledgement lag is real time even in the demo.</summary>
    public long ReceivedTimestamp { get; init; } = System.Diagnostics.Stopwatch.GetTimestamp();

    public static readonly Func<CancellationToken, Task> NoAcknowledgement = _ => Task.CompletedTask;
}
