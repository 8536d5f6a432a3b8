using System.Text;
using Kombo.Worker.IntegrationTests.Infrastructure;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Kombo.Worker.IntegrationTests.Chaos;

/// <summary>
/// A plain AMQP client on one virtual host, the way any publisher or operator tool talks to the broker: publishes with
/// publisher confirms (a command counts as sent only once the broker has it), and reads queue depths and queues.
/// </summary>
public sealed class ChaosAmqp : IAsyncDisposable
{
    private readonly IConnection _connection;
    private readonly IChannel _publisher;
    private readonly SemaphoreSlim _publishing = new(1, 1);

    private ChaosAmqp(IConnection connection, IChannel publisher)
    {
        _connection = connection;
        _publisher = publisher;
    }

    public static async Task<ChaosAmqp> ConnectAsync(RabbitMqBroker broker, string virtualHost)
    {
        var factory = broker.CreateConnectionFactory(virtualHost);
        factory.ClientProvidedName = "kombo-chaos";
        var connection = await factory.CreateConnectionAsync();
        var publisher = await connection.CreateChannelAsync(new CreateChannelOptions(
            publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        return new ChaosAmqp(connection, publisher);
    }

    /// <summary>Publishes a persistent message and returns once the broker confirmed it.</summary>
    public async Task PublishAsync(string exchange, ReadOnlyMemory<byte> body, BasicProperties properties)
    {
        properties.DeliveryMode = DeliveryModes.Persistent;
        await _publishing.WaitAsync();
        try
        {
            await _publisher.BasicPublishAsync(exchange, "", mandatory: false, properties, body);
        }
        finally
        {
            _publishing.Release();
        }
    }

    /// <summary>A plain JSON command with a message id, as a Node or Python publisher sends it.</summary>
    public Task PublishJsonAsync(string exchange, string json, Guid messageId) =>
        PublishAsync(exchange, Encoding.UTF8.GetBytes(json), new BasicProperties
        {
            ContentType = "application/json",
            MessageId = messageId.ToString(),
        });

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
            await _publisher.CloseAsync();
            await _connection.CloseAsync();
        }
        catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException or IOException)
        {
            // The broker went away under the test; nothing to close.
        }

        _publisher.Dispose();
        _connection.Dispose();
        _publishing.Dispose();
    }
}
