using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Kombo.Benchmark;

/// <summary>The benchmark's own AMQP connection: a publisher with confirms and a subscriber to the events.</summary>
public sealed class Amqp : IAsyncDisposable
{
    private const int ConfirmWindow = 1000;

    private readonly IConnection _connection;
    private readonly IChannel _publisher;
    private readonly IChannel _subscriber;

    private Amqp(IConnection connection, IChannel publisher, IChannel subscriber)
    {
        _connection = connection;
        _publisher = publisher;
        _subscriber = subscriber;
    }

    public static async Task<Amqp> ConnectAsync(Kombo.Testing.BrokerNode broker, string virtualHost, CancellationToken cancellationToken)
    {
        var factory = new ConnectionFactory
        {
            HostName = broker.Host,
            Port = broker.Port,
            UserName = broker.Username,
            Password = broker.Password,
            VirtualHost = virtualHost,
            ClientProvidedName = "kombo-benchmark",
        };
        var connection = await factory.CreateConnectionAsync(cancellationToken);
        var publisher = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true),
            cancellationToken);
        var subscriber = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        return new Amqp(connection, publisher, subscriber);
    }

    /// <summary>Binds a queue of its own to the events' exchanges and hands every event's correlation id to <paramref name="onEvent"/>.</summary>
    public async Task SubscribeAsync(Workload workload, Action<Guid?, bool> onEvent, CancellationToken cancellationToken)
    {
        var queue = (await _subscriber.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true, cancellationToken: cancellationToken)).QueueName;
        foreach (var type in new[] { workload.EventType, workload.FailureType })
        {
            // As MassTransit declares it: a durable fanout exchange named after the message type.
            await _subscriber.ExchangeDeclareAsync(Workload.ExchangeOf(type), ExchangeType.Fanout, durable: true, cancellationToken: cancellationToken);
            await _subscriber.QueueBindAsync(queue, Workload.ExchangeOf(type), "", cancellationToken: cancellationToken);
        }

        var failureExchange = Workload.ExchangeOf(workload.FailureType);
        var consumer = new AsyncEventingBasicConsumer(_subscriber);
        consumer.ReceivedAsync += (_, delivery) =>
        {
            onEvent(EventTracker.TryReadCorrelationId(delivery.Body.Span, out var id) ? id : null, delivery.Exchange == failureExchange);
            return Task.CompletedTask;
        };
        await _subscriber.BasicConsumeAsync(queue, autoAck: true, consumer, cancellationToken);
    }

    /// <summary>
    /// Publishes the commands as persistent messages straight to the worker's queue, keeping up to 1000 unconfirmed;
    /// returns once the broker confirmed every one.
    /// </summary>
    public async Task PublishAllAsync(int count, Func<int, (Guid MessageId, byte[] Body)> command, string queue, EventTracker tracker, CancellationToken cancellationToken)
    {
        var inFlight = new Queue<ValueTask>(ConfirmWindow);
        for (var i = 0; i < count; i++)
        {
            if (inFlight.Count == ConfirmWindow)
            {
                await inFlight.Dequeue();
                tracker.MarkSent();
            }

            inFlight.Enqueue(PublishAsync(i, command, queue, tracker, cancellationToken));
        }

        while (inFlight.Count > 0)
        {
            await inFlight.Dequeue();
            tracker.MarkSent();
        }
    }

    public async Task PublishOneAsync(int i, Func<int, (Guid MessageId, byte[] Body)> command, string queue, EventTracker tracker, CancellationToken cancellationToken)
    {
        await PublishAsync(i, command, queue, tracker, cancellationToken);
        tracker.MarkSent();
    }

    private ValueTask PublishAsync(int i, Func<int, (Guid MessageId, byte[] Body)> command, string queue, EventTracker tracker, CancellationToken cancellationToken)
    {
        var (messageId, body) = command(i);
        var properties = new BasicProperties
        {
            MessageId = messageId.ToString(),
            ContentType = CommandBodies.ContentType,
            DeliveryMode = DeliveryModes.Persistent,
        };
        tracker.MarkSending(i);
        return _publisher.BasicPublishAsync("", queue, mandatory: true, properties, body, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _subscriber.CloseAsync();
            await _publisher.CloseAsync();
            await _connection.CloseAsync();
        }
        catch (Exception ex) when (ex is RabbitMQ.Client.Exceptions.AlreadyClosedException or OperationCanceledException or IOException)
        {
        }

        _subscriber.Dispose();
        _publisher.Dispose();
        _connection.Dispose();
    }
}
