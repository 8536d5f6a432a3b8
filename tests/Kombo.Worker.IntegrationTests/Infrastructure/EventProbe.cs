using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Kombo.Worker.IntegrationTests.Infrastructure;

/// <summary>
/// A subscriber that knows nothing of .NET contracts: it binds a queue of its own to the exchanges MassTransit
/// publishes the events to (named after the message type) and keeps every delivery, in order.
/// </summary>
public sealed class EventProbe : IAsyncDisposable
{
    private readonly IConnection _connection;
    private readonly IChannel _channel;

    private EventProbe(IConnection connection, IChannel channel)
    {
        _connection = connection;
        _channel = channel;
    }

    public ConcurrentQueue<Delivery> Deliveries { get; } = new();

    public IChannel Channel => _channel;

    public static async Task<EventProbe> StartAsync(RabbitMqBroker broker, string virtualHost, params string[] messageTypes)
    {
        var factory = new ConnectionFactory
        {
            HostName = broker.Host,
            Port = broker.Port,
            UserName = broker.Username,
            Password = broker.Password,
            VirtualHost = virtualHost,
        };
        var connection = await factory.CreateConnectionAsync();
        var channel = await connection.CreateChannelAsync();
        var probe = new EventProbe(connection, channel);

        var queue = (await channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true)).QueueName;
        foreach (var type in messageTypes)
        {
            var exchange = $"Kombo.Contracts:{type}";
            await channel.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: true);
            await channel.QueueBindAsync(queue, exchange, "");
        }

        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, delivery) =>
        {
            probe.Deliveries.Enqueue(new Delivery(delivery.Exchange, delivery.BasicProperties.MessageId,
                JsonDocument.Parse(Encoding.UTF8.GetString(delivery.Body.Span)).RootElement.Clone()));
            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(queue, autoAck: true, consumer);
        return probe;
    }

    /// <summary>Publishes a plain JSON command, the way a Node or Python service would.</summary>
    public async Task PublishJsonAsync(string exchange, string json, string? messageId = null)
    {
        var properties = new BasicProperties
        {
            ContentType = "application/json",
            DeliveryMode = DeliveryModes.Persistent,
            MessageId = messageId,
        };
        await _channel.BasicPublishAsync(exchange, "", mandatory: false, properties, Encoding.UTF8.GetBytes(json));
    }

    public IEnumerable<Delivery> Of(string messageType) =>
        Deliveries.Where(d => d.Exchange == $"Kombo.Contracts:{messageType}");

    public async ValueTask DisposeAsync()
    {
        await _channel.CloseAsync();
        await _connection.CloseAsync();
        _channel.Dispose();
        _connection.Dispose();
    }

    /// <summary>One event as the broker delivered it: the MassTransit envelope's <c>message</c> is the event.</summary>
    public sealed record Delivery(string Exchange, string? MessageId, JsonElement Envelope)
    {
        public JsonElement Message => Envelope.GetProperty("message");

        public string EnvelopeMessageId => Envelope.GetProperty("messageId").GetString()!;

        public string CorrelationId => Message.GetProperty("correlationId").GetString()!;
    }
}
