using MassTransit;

namespace Kombo.Worker.Outbox;

/// <summary>
/// One row to write to the outbox: an event to publish, or (with a <see cref="Destination"/>) the response to a
/// request client. Its <see cref="MessageId"/> is fixed here and reused on every publish attempt.
/// </summary>
internal sealed record OutgoingMessage(
    Guid MessageId,
    string MessageType,
    string Body,
    Guid CorrelationId,
    Guid? ConversationId,
    Guid? InitiatorId,
    Guid? RequestId,
    Uri? Destination,
    string? OrderingKey)
{
    /// <summary>The W3C traceparent of the work that wrote the row, restored on publish (<see cref="OutboxTrace"/>).</summary>
    public string? TraceParent { get; init; }

    public string? TraceState { get; init; }

    /// <summary>W3C baggage of that work, <c>key=value</c> pairs, comma-separated.</summary>
    public string? Baggage { get; init; }

    /// <summary>
    /// The event to publish for a command and, when the command came from a request client, the same message as the
    /// response. Both ids derive from the command id so a redelivered command writes the very same rows.
    /// </summary>
    public static IReadOnlyList<OutgoingMessage> Answer(
        ConsumeContext context, Guid commandId, Guid correlationId, object message, string? orderingKey, Guid? eventId = null) =>
        Answer(AnswerAddress.Of(context), commandId, correlationId, message, orderingKey, eventId);

    /// <summary>The same, for a command answered after its delivery ended, to the address recorded from it.</summary>
    public static IReadOnlyList<OutgoingMessage> Answer(
        AnswerAddress address, Guid commandId, Guid correlationId, object message, string? orderingKey, Guid? eventId = null)
    {
        var type = OutboxMessageTypes.NameOf(message);
        var body = OutboxMessageTypes.Serialize(message);
        var published = new OutgoingMessage(
            eventId ?? MessageIds.Derive(commandId, type), type, body, correlationId,
            address.ConversationId, commandId, null, null, orderingKey);

        if (address is not { RequestId: { } requestId, ResponseAddress: { } responseAddress })
        {
            return [published];
        }

        var response = published with
        {
            MessageId = MessageIds.Derive(commandId, "response:" + type),
            RequestId = requestId,
            Destination = responseAddress,
            OrderingKey = null,
        };
        return [published, response];
    }

    /// <summary>An event that answers no command (a webhook's), under an id its source fixes.</summary>
    public static OutgoingMessage Event(Guid messageId, object message, Guid correlationId, string? orderingKey) =>
        new(messageId, OutboxMessageTypes.NameOf(message), OutboxMessageTypes.Serialize(message), correlationId,
            null, null, null, null, orderingKey);
}
