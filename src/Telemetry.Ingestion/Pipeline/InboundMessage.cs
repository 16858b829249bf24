namespace Telemetry.Ingestion.Pipeline;

/// <summary>One MQTT message as received: copied bytes, the receiver's clock, and how to acknowledge it.</summary>
public sealed record InboundMessage(string Topic, ReadOnlyMemory<byte> Payload, DateTimeOffset ReceivedAt, Func<CancellationToken, Task> AcknowledgeAsync)
{
    public static readonly Func<CancellationToken, Task> NoAcknowledgement = _ => Task.CompletedTask;
}
