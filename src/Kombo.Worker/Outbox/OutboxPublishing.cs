using System.Text.Json;
using MassTransit;

namespace Kombo.Worker.Outbox;

/// <summary>How one stored outgoing message goes to the broker: as its type, with the ids fixed when it was written.</summary>
internal static class OutboxPublishing
{
    /// <summary>
    /// Longest wait for the broker to confirm one message. MassTransit never completes a publish that was waiting on a
    /// blocked connection (a broker memory alarm) when the broker then restarts: without a bound, the relay would wait
    /// on it until the worker stops (found by the chaos suite, BrokerRestartTests). Timed out, it is a failed attempt.
    /// </summary>
    public static readonly TimeSpan ConfirmTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Publishes (or, with a destination, sends) the message; completes once the broker confirmed it.</summary>
    public static async Task PublishAsync(IBus bus, PendingMessage row, CancellationToken cancellationToken)
    {
        var (message, type) = Materialize(row);
        using var trace = OutboxTrace.StartPublish(row);
        var pipe = Pipe.Execute<SendContext>(context => Stamp(context, row));
        if (row.Destination is null)
        {
            await bus.Publish(message, type, pipe, cancellationToken).WaitAsync(ConfirmTimeout, cancellationToken);
            return;
        }

        var endpoint = await bus.GetSendEndpoint(new Uri(row.Destination));
        await endpoint.Send(message, type, pipe, cancellationToken).WaitAsync(ConfirmTimeout, cancellationToken);
    }

    /// <summary>The row an <see cref="OutgoingMessage"/> becomes in the outbox table.</summary>
    public static PendingMessage AsRow(OutgoingMessage message, DateTimeOffset createdAt) => new()
    {
        MessageId = message.MessageId.ToString(),
        MessageType = message.MessageType,
        Body = message.Body,
        CorrelationId = message.CorrelationId.ToString(),
        ConversationId = message.ConversationId?.ToString(),
        InitiatorId = message.InitiatorId?.ToString(),
        RequestId = message.RequestId?.ToString(),
        Destination = message.Destination?.ToString(),
        OrderingKey = message.OrderingKey,
        CreatedAt = Storage.UnixTime.ToMs(createdAt),
        TraceParent = message.TraceParent,
        TraceState = message.TraceState,
        Baggage = message.Baggage,
        PartitionId = OutboxPartition.Of(message.OrderingKey, message.MessageId),
    };

    private static (object Message, Type Type) Materialize(PendingMessage row)
    {
        if (!OutboxMessageTypes.TryResolve(row.MessageType, out var type))
        {
            throw new UnpublishableMessageException($"Unknown message type '{row.MessageType}'.");
        }

        if (ParkedLinkRedaction.IsRedacted(row.Body))
        {
            throw new UnpublishableMessageException($"The stored {row.MessageType} link expired and was redacted; ask for a new link instead.");
        }

        try
        {
            return (OutboxMessageTypes.Deserialize(row.Body, type), type);
        }
        catch (JsonException ex)
        {
            throw new UnpublishableMessageException($"The stored {row.MessageType} body is not valid: {ex.Message}");
        }
    }

    private static void Stamp(SendContext context, PendingMessage row)
    {
        context.MessageId = Guid.Parse(row.MessageId);
        context.CorrelationId = Guid.Parse(row.CorrelationId);
        context.ConversationId = ParseOrNull(row.ConversationId);
        context.InitiatorId = ParseOrNull(row.InitiatorId);
        context.RequestId = ParseOrNull(row.RequestId);
        context.Durable = true;
    }

    private static Guid? ParseOrNull(string? value) => value is null ? null : Guid.Parse(value);
}
