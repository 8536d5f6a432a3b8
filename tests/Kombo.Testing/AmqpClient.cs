using System.Collections.Concurrent;
using System.Text;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace Kombo.Testing;

/// <summary>
/// The tests' one raw AMQP client, on one virtual host, knowing nothing of .NET contracts: the way a Node or Python
/// service or an operator tool talks to the broker. It publishes with publisher confirms (a message counts as sent
/// only once the broker has it), subscribes to the exchanges MassTransit publishes the events to (named after the
/// message type), and reads and drains queues.
/// </summary>
public sealed class AmqpClient : IAsyncDisposable
{
    private readonly IConnection _connection;
    private readonly IChannel _publisher;
    private readonly IChannel _subscriber;

    private AmqpClient(IConnection connection, IChannel publisher, IChannel subscriber)
    {
        _connection = connection;
        _publisher = publisher;
        _subscriber = subscriber;
    }

    /// <summary>Every event taken by <see cref="ListenAsync"/>, in the order the broker delivered them.</summary>
    public ConcurrentQueue<AmqpDelivery> Deliveries { get; } = new();

    /// <summary>The publishing channel (publisher confirms on), for a test that needs the raw API.</summary>
    public IChannel Channel => _publisher;

    /// <summary>The exchange MassTransit publishes a Kombo.Contracts message type to.</summary>
    public static string ExchangeOf(string messageType) => $"Kombo.Contracts:{messageType}";

    public static async Task<AmqpClient> ConnectAsync(
        BrokerNode broker, string virtualHost, string clientName = "kombo-tests", CancellationToken cancellationToken = default)
    {
        var connection = await broker.CreateConnectionFactory(virtualHost, clientName).CreateConnectionAsync(cancellationToken);
        var publisher = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true),
            cancellationToken);
        var subscriber = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        return new AmqpClient(connection, publisher, subscriber);
    }

    /// <summary>
    /// Publishes a persistent message; the task completes once the broker confirmed it. Several may be in flight.
    /// </summary>
    public ValueTask PublishAsync(
        string exchange, string routingKey, ReadOnlyMemory<byte> body, BasicProperties properties, bool mandatory = false,
        CancellationToken cancellationToken = default)
    {
        properties.DeliveryMode = DeliveryModes.Persistent;
        return _publisher.BasicPublishAsync(exchange, routingKey, mandatory, properties, body, cancellationToken);
    }

    /// <summary>A plain JSON command to an exchange (a queue's own, for the worker's), as a Node or Python service sends it.</summary>
    public async Task PublishJsonAsync(string exchange, string json, string? messageId = null) =>
        await PublishAsync(exchange, "", Encoding.UTF8.GetBytes(json), new BasicProperties
        {
            ContentType = "application/json",
            MessageId = messageId,
        });

    /// <inheritdoc cref="PublishJsonAsync(string, string, string?)"/>
    public Task PublishJsonAsync(string exchange, string json, Guid messageId) =>
        PublishJsonAsync(exchange, json, messageId.ToString());

    /// <summary>
    /// Binds a queue of its own (exclusive, deleted with the connection) to each of <paramref name="exchanges"/>
    /// (durable fanout, as MassTransit declares them) and hands every delivery to <paramref name="onDelivery"/>.
    /// </summary>
    public async Task SubscribeAsync(
        IEnumerable<string> exchanges, Action<BasicDeliverEventArgs> onDelivery, CancellationToken cancellationToken = default)
    {
        var queue = (await _subscriber.QueueDeclareAsync(
            "", durable: false, exclusive: true, autoDelete: true, cancellationToken: cancellationToken)).QueueName;
        foreach (var exchange in exchanges)
        {
            await _subscriber.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: true, cancellationToken: cancellationToken);
            await _subscriber.QueueBindAsync(queue, exchange, "", cancellationToken: cancellationToken);
        }

        var consumer = new AsyncEventingBasicConsumer(_subscriber);
        consumer.ReceivedAsync += (_, delivery) =>
        {
            onDelivery(delivery);
            return Task.CompletedTask;
        };
        await _subscriber.BasicConsumeAsync(queue, autoAck: true, consumer, cancellationToken);
    }

    /// <summary>Keeps every event of <paramref name="messageTypes"/> (Kombo.Contracts names) in <see cref="Deliveries"/>.</summary>
    public Task ListenAsync(params string[] messageTypes) =>
        SubscribeAsync(messageTypes.Select(ExchangeOf), delivery => Deliveries.Enqueue(AmqpDelivery.Of(delivery)));

    /// <summary>The events of one message type among <see cref="Deliveries"/>.</summary>
    public IEnumerable<AmqpDelivery> Of(string messageType) =>
        Deliveries.Where(d => d.Exchange == ExchangeOf(messageType));

    /// <summary>Ready messages and consumers of a queue; (0, 0) when the queue does not exist.</summary>
    public async Task<(uint Messages, uint Consumers)> QueueStateAsync(string queue)
    {
        // A passive declare of a missing queue closes the channel: use a throwaway one.
        await using var channel = await _connection.CreateChannelAsync();
        try
        {
            var state = await channel.QueueDeclarePassiveAsync(queue);
            return (state.MessageCount, state.ConsumerCount);
        }
        catch (OperationInterruptedException)
        {
            return (0, 0);
        }
    }

    /// <summary>A durable queue bound to each of <paramref name="exchanges"/> (fanout, declared if missing).</summary>
    public async Task BindQueueAsync(string queue, params string[] exchanges)
    {
        await using var channel = await _connection.CreateChannelAsync();
        await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
        foreach (var exchange in exchanges)
        {
            await channel.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: true);
            await channel.QueueBindAsync(queue, exchange, "");
        }
    }

    /// <summary>Takes every message now in <paramref name="queue"/> (acknowledged, so they are gone afterwards).</summary>
    public async Task<IReadOnlyList<BasicGetResult>> DrainAsync(string queue)
    {
        if ((await QueueStateAsync(queue)).Messages == 0)
        {
            return [];
        }

        await using var channel = await _connection.CreateChannelAsync();
        var taken = new List<BasicGetResult>();
        while (await channel.BasicGetAsync(queue, autoAck: true) is { } message)
        {
            taken.Add(message);
        }

        return taken;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _subscriber.CloseAsync();
            await _publisher.CloseAsync();
            await _connection.CloseAsync();
        }
        catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException or OperationCanceledException or IOException)
        {
            // The broker went away under the test; nothing to close.
        }

        _subscriber.Dispose();
        _publisher.Dispose();
        _connection.Dispose();
    }
}
