using System.Text;
using System.Text.Json;
using RabbitMQ.Client.Events;

namespace Kombo.Testing;

/// <summary>One event as the broker delivered it: the MassTransit envelope's <c>message</c> is the event.</summary>
public sealed record AmqpDelivery(string Exchange, string? MessageId, JsonElement Envelope)
{
    public JsonElement Message => Envelope.GetProperty("message");

    public string EnvelopeMessageId => Envelope.GetProperty("messageId").GetString()!;

    public string CorrelationId => Message.GetProperty("correlationId").GetString()!;

    internal static AmqpDelivery Of(BasicDeliverEventArgs delivery) =>
        new(delivery.Exchange, delivery.BasicProperties.MessageId,
            JsonDocument.Parse(Encoding.UTF8.GetString(delivery.Body.Span)).RootElement.Clone());
}
