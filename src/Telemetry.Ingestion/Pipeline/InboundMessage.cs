using System.Text;

namespace Telemetry.Ingestion.Pipeline;

/// <summary>One MQTT message as received: copied bytes, the receiver's clock, and how to acknowledge it.</summary>
public sealed record InboundMessage(string Topic, ReadOnlyMemory<byte> Payload, DateTimeOffset ReceivedAt, Func<CancellationToken, Task> AcknowledgeAsync)
{
    /// <summary>When it was received on the real clock (<see cref="System.Diagnostics.Stopwatch"/>): the acknowledgement lag is real time even in the demo.</summary>
    public long ReceivedTimestamp { get; init; } = System.Diagnostics.Stopwatch.GetTimestamp();

    public static readonly Func<CancellationToken, Task> NoAcknowledgement = _ => Task.CompletedTask;

    /// <summary>What the message counts against the byte limits while it is held: payload and topic.</summary>
    public long Size { get; } = SizeOf(Topic, Payload.Length);

    /// <summary>The same count for a message not yet copied (the connection gates on it before the pipeline sees it).</summary>
    public static long SizeOf(string? topic, long payloadLength) => payloadLength + Encoding.UTF8.GetByteCount(topic ?? "");
}
