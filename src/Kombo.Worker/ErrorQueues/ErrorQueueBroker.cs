using Kombo.Worker.Messaging;
using RabbitMQ.Client;

namespace Kombo.Worker.ErrorQueues;

/// <summary>
/// Reads, replays and deletes messages of the command error queues. Every message it takes and does not act on goes
/// back to its queue (a message is taken with a manual acknowledgement and returned with a requeue), so a listing
/// changes nothing but the messages' redelivered flag.
/// </summary>
internal sealed class ErrorQueueBroker(IConnection connection) : IAsyncDisposable
{
    public static async Task<ErrorQueueBroker> ConnectAsync(RabbitMqEndpoint endpoint, CancellationToken cancellationToken)
    {
        var factory = new ConnectionFactory
        {
            HostName = endpoint.Host,
            Port = endpoint.Port,
            VirtualHost = endpoint.VirtualHost,
            UserName = endpoint.Username,
            Password = endpoint.Password,
            ClientProvidedName = "kombo-worker errors",
            Ssl = new SslOption
            {
                Enabled = endpoint.UseTls,
                ServerName = endpoint.Host,
                CertificateValidationCallback = endpoint.UseTls ? new BrokerCertificateValidation(endpoint).Accept : null,
            },
        };
        return new ErrorQueueBroker(await factory.CreateConnectionAsync(cancellationToken));
    }

    public static string ErrorQueueOf(string commandQueue) => commandQueue + "_error";

    /// <summary>Up to <paramref name="limit"/> messages of the queue, oldest first, all of them put back.</summary>
    public async Task<IReadOnlyList<ErrorMessage>> ListAsync(string commandQueue, int limit, CancellationToken cancellationToken)
    {
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        var queue = ErrorQueueOf(commandQueue);
        if (!await ExistsAsync(queue, cancellationToken))
        {
            return [];
        }

        var messages = new List<ErrorMessage>();
        ulong last = 0;
        while (messages.Count < limit && await channel.BasicGetAsync(queue, autoAck: false, cancellationToken) is { } taken)
        {
            messages.Add(ErrorMessage.From(commandQueue, taken.BasicProperties, taken.Body));
            last = taken.DeliveryTag;
        }

        if (last > 0)
        {
            await channel.BasicNackAsync(last, multiple: true, requeue: true, cancellationToken);
        }

        return messages;
    }

    /// <summary>
    /// Takes every message of the queue; those <paramref name="select"/> accepts are replayed to the command queue (or,
    /// with <paramref name="replay"/> false, deleted) and acknowledged once that is done; the others are put back.
    /// </summary>
    public async Task<IReadOnlyList<ErrorMessage>> MoveAsync(
        string commandQueue, Func<ErrorMessage, bool> select, bool replay, CancellationToken cancellationToken)
    {
        var queue = ErrorQueueOf(commandQueue);
        if (!await ExistsAsync(queue, cancellationToken))
        {
            return [];
        }

        await using var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);
        var moved = new List<ErrorMessage>();
        var keep = new List<ulong>();
        var pending = await channel.MessageCountAsync(queue, cancellationToken);
        for (uint i = 0; i < pending && await channel.BasicGetAsync(queue, autoAck: false, cancellationToken) is { } taken; i++)
        {
            var message = ErrorMessage.From(commandQueue, taken.BasicProperties, taken.Body);
            if (!select(message))
            {
                keep.Add(taken.DeliveryTag);
                continue;
            }

            if (replay)
            {
                // Straight into the command queue (the default exchange routes by queue name), as it first arrived.
                var properties = new BasicProperties(taken.BasicProperties)
                {
                    Headers = taken.BasicProperties.Headers?
                        .Where(h => !ErrorMessage.IsFaultHeader(h.Key))
                        .ToDictionary(h => h.Key, h => h.Value),
                };
                await channel.BasicPublishAsync("", commandQueue, mandatory: true, properties, taken.Body, cancellationToken);
            }

            await channel.BasicAckAsync(taken.DeliveryTag, multiple: false, cancellationToken);
            moved.Add(message);
        }

        foreach (var tag in keep)
        {
            await channel.BasicNackAsync(tag, multiple: false, requeue: true, cancellationToken);
        }

        return moved;
    }

    private async Task<bool> ExistsAsync(string queue, CancellationToken cancellationToken)
    {
        // A passive declare of a missing queue closes the channel, so it gets one of its own.
        await using var probe = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        try
        {
            await probe.QueueDeclarePassiveAsync(queue, cancellationToken);
            return true;
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await connection.CloseAsync();
        connection.Dispose();
    }
}
