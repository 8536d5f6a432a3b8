using System.Collections.Concurrent;
using System.Text.Json;
using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.IntegrationTests.Infrastructure;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace Kombo.Worker.ChaosTests;

/// <summary>
/// A subscriber that writes down every event the worker publishes. Its queue is durable and bound to every event
/// exchange, and its connection recovers by itself, so it keeps counting through a broker restart: what the broker
/// accepted while the subscriber was away is waiting for it afterwards.
/// </summary>
public sealed class EventLedger : IAsyncDisposable
{
    public static readonly string[] EventTypes =
    [
        nameof(LinkCreated), nameof(ConnectLinkFailed), nameof(IntegrationConnected), nameof(ConnectTokenRedemptionFailed),
        nameof(IntegrationCreated), nameof(IntegrationDeleted), nameof(IntegrationStateChanged), nameof(ConnectionFlowFailed),
        nameof(ReconnectionLinkCreated), nameof(ReconnectionLinkFailed),
    ];

    private readonly IConnection _connection;
    private readonly IChannel _channel;
    private readonly string _queue;
    private readonly ConcurrentQueue<LedgerEntry> _entries = new();

    private EventLedger(IConnection connection, IChannel channel, string queue)
    {
        _connection = connection;
        _channel = channel;
        _queue = queue;
    }

    public IReadOnlyCollection<LedgerEntry> Entries => _entries;

    public IEnumerable<LedgerEntry> Of(string type) => _entries.Where(e => e.Type == type);

    public static async Task<EventLedger> StartAsync(RabbitMqBroker broker, string virtualHost)
    {
        var factory = broker.Node.CreateConnectionFactory(virtualHost);
        factory.ClientProvidedName = "kombo-chaos-ledger";
        factory.AutomaticRecoveryEnabled = true;
        factory.TopologyRecoveryEnabled = true;
        var connection = await factory.CreateConnectionAsync();
        var channel = await connection.CreateChannelAsync();
        var queue = $"chaos-ledger-{Guid.NewGuid():N}";
        await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
        foreach (var type in EventTypes)
        {
            var exchange = $"Kombo.Contracts:{type}";
            await channel.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: true);
            await channel.QueueBindAsync(queue, exchange, "");
        }

        var ledger = new EventLedger(connection, channel, queue);
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += async (_, delivery) =>
        {
            var entry = LedgerEntry.Read(delivery);

            // Acknowledged after it is written down, so a connection lost meanwhile redelivers it; such a
            // redelivery of what was already written down is the broker's, not a second publish by the worker.
            if (!delivery.Redelivered || !ledger._entries.Any(e => e.MessageId == entry.MessageId && e.Type == entry.Type))
            {
                ledger._entries.Enqueue(entry);
            }

            await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false);
        };
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
        return ledger;
    }

    /// <summary>Every event for each correlation id, in arrival order.</summary>
    public Dictionary<Guid, List<LedgerEntry>> ByCorrelation() =>
        _entries.GroupBy(e => e.CorrelationId).ToDictionary(g => g.Key, g => g.ToList());

    /// <summary>
    /// Deliveries beyond the first of each logical event: same type and correlation id (or, for the answers to commands
    /// without a correlation id, same message id).
    /// </summary>
    public int DuplicateCount() =>
        _entries.GroupBy(e => (e.Type, Key: e.CorrelationId != Guid.Empty ? e.CorrelationId.ToString() : e.MessageId)).Sum(g => g.Count() - 1);

    /// <summary>Duplicates whose message id differs from the first copy's: subscribers could not drop them.</summary>
    public IReadOnlyList<string> DuplicatesWithAnotherId() =>
        _entries.Where(e => e.CorrelationId != Guid.Empty)
            .GroupBy(e => (e.Type, e.CorrelationId))
            .Where(g => g.Select(e => e.MessageId).Distinct().Count() > 1)
            .Select(g => $"{g.Key.Type} {g.Key.CorrelationId}: {string.Join(", ", g.Select(e => e.MessageId))}")
            .ToList();

    /// <summary>Duplicates whose body differs from the first copy's: a ghost (a second, different answer), not a republish.</summary>
    public IReadOnlyList<string> DuplicatesWithOtherContent() =>
        _entries.Where(e => e.CorrelationId != Guid.Empty)
            .GroupBy(e => (e.Type, e.CorrelationId))
            .Where(g => g.Select(e => e.Message.GetRawText()).Distinct(StringComparer.Ordinal).Count() > 1)
            .Select(g => $"{g.Key.Type} {g.Key.CorrelationId}: {g.Count()} copies, {g.Select(e => e.Message.GetRawText()).Distinct(StringComparer.Ordinal).Count()} bodies")
            .ToList();

    /// <summary>Message ids in the order their first copy arrived.</summary>
    public IReadOnlyList<string> FirstArrivals() => [.. _entries.Select(e => e.MessageId).Distinct(StringComparer.Ordinal)];

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _channel.QueueDeleteAsync(_queue);
            await _channel.CloseAsync();
            await _connection.CloseAsync();
        }
        catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException or IOException)
        {
            // The broker is gone already; its data directory goes with the fixture.
        }

        _channel.Dispose();
        _connection.Dispose();
    }
}

/// <summary>
/// One delivered event: its type (from the exchange), MassTransit message id, correlation id (empty for the events
/// of Kombo's webhooks, which answer no command) and body.
/// </summary>
public sealed record LedgerEntry(string Type, string MessageId, Guid CorrelationId, JsonElement Message)
{
    public string? Reason => Message.TryGetProperty("reason", out var reason) ? reason.GetString() : null;

    public static LedgerEntry Read(BasicDeliverEventArgs delivery)
    {
        var type = delivery.Exchange.StartsWith("Kombo.Contracts:", StringComparison.Ordinal)
            ? delivery.Exchange["Kombo.Contracts:".Length..]
            : delivery.Exchange;
        using var document = JsonDocument.Parse(delivery.Body);
        var envelope = document.RootElement;
        var message = envelope.GetProperty("message").Clone();
        return new LedgerEntry(
            type,
            envelope.GetProperty("messageId").GetString() ?? "",
            message.TryGetProperty("correlationId", out var correlationId) ? Guid.Parse(correlationId.GetString()!) : Guid.Empty,
            message);
    }
}
