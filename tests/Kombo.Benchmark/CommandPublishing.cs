using Kombo.Testing;
using RabbitMQ.Client;

namespace Kombo.Benchmark;

/// <summary>How the benchmark feeds the worker: commands straight to its queue, up to 1000 awaiting the broker's confirm.</summary>
public static class CommandPublishing
{
    private const int ConfirmWindow = 1000;

    /// <summary>Binds a queue of its own to the events' exchanges and hands every event's correlation id to <paramref name="onEvent"/>.</summary>
    public static Task SubscribeAsync(this AmqpClient amqp, Workload workload, Action<Guid?, bool> onEvent, CancellationToken cancellationToken)
    {
        var failureExchange = AmqpClient.ExchangeOf(workload.FailureType);
        return amqp.SubscribeAsync(
            [AmqpClient.ExchangeOf(workload.EventType), failureExchange],
            delivery => onEvent(
                EventTracker.TryReadCorrelationId(delivery.Body.Span, out var id) ? id : null, delivery.Exchange == failureExchange),
            cancellationToken);
    }

    /// <summary>Publishes the commands as persistent messages, keeping up to 1000 unconfirmed; returns once the broker confirmed every one.</summary>
    public static async Task PublishAllAsync(
        this AmqpClient amqp, int count, Func<int, (Guid MessageId, byte[] Body)> command, string queue, EventTracker tracker,
        CancellationToken cancellationToken)
    {
        var inFlight = new Queue<ValueTask>(ConfirmWindow);
        for (var i = 0; i < count; i++)
        {
            if (inFlight.Count == ConfirmWindow)
            {
                await inFlight.Dequeue();
                tracker.MarkSent();
            }

            inFlight.Enqueue(amqp.PublishAsync(i, command, queue, tracker, cancellationToken));
        }

        while (inFlight.Count > 0)
        {
            await inFlight.Dequeue();
            tracker.MarkSent();
        }
    }

    public static async Task PublishOneAsync(
        this AmqpClient amqp, int i, Func<int, (Guid MessageId, byte[] Body)> command, string queue, EventTracker tracker,
        CancellationToken cancellationToken)
    {
        await amqp.PublishAsync(i, command, queue, tracker, cancellationToken);
        tracker.MarkSent();
    }

    private static ValueTask PublishAsync(
        this AmqpClient amqp, int i, Func<int, (Guid MessageId, byte[] Body)> command, string queue, EventTracker tracker,
        CancellationToken cancellationToken)
    {
        var (messageId, body) = command(i);
        var properties = new BasicProperties { MessageId = messageId.ToString(), ContentType = CommandBodies.ContentType };
        tracker.MarkSending(i);
        return amqp.PublishAsync("", queue, body, properties, mandatory: true, cancellationToken);
    }
}
