using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.IntegrationTests.Infrastructure;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace Kombo.Worker.IntegrationTests.Outbox;

/// <summary>The outbox relay of the whole worker on a real RabbitMQ node: commit order, and a broker outage.</summary>
[Collection("broker")]
public sealed class RelayOnBrokerTests(RabbitMqBroker broker, KomboEmulatorFixture kombo) : IClassFixture<KomboEmulatorFixture>, IAsyncLifetime
{
    private readonly string _virtualHost = $"relay-{Guid.NewGuid():N}";
    private readonly KomboEmulatorFixture _kombo = kombo;

    public Task InitializeAsync() => broker.Node.CreateVirtualHostAsync(_virtualHost);

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Relay_with_one_lane_publishes_every_event_in_commit_order_on_the_broker()
    {
        await using var worker = await WorkerUnderTest.StartAsync(broker, _virtualHost, _kombo, new() { ["Outbox:PublishLanes"] = "1" });
        await using var probe = await AmqpClient.ConnectAsync(broker.Node, _virtualHost);
        await probe.ListenAsync(nameof(LinkCreated));
        var messages = Enumerable.Range(0, 300).Select(i => NewEvent(i)).ToArray();

        await AppendAsync(worker, messages);

        await Eventually.HoldsAsync(() => probe.Deliveries.Count == messages.Length, "every row reached the subscriber");
        Assert.Equal(messages.Select(m => m.MessageId.ToString()), probe.Deliveries.Select(d => d.EnvelopeMessageId));
    }

    [Fact]
    public async Task Relay_keeps_each_end_users_commit_order_on_the_broker()
    {
        await using var worker = await WorkerUnderTest.StartAsync(broker, _virtualHost, _kombo);
        await using var probe = await AmqpClient.ConnectAsync(broker.Node, _virtualHost);
        await probe.ListenAsync(nameof(LinkCreated));
        var messages = Enumerable.Range(0, 500).Select(i => NewEvent(i, orderingKey: $"customer-{i % 11}")).ToArray();

        await AppendAsync(worker, messages);

        await Eventually.HoldsAsync(() => probe.Deliveries.Count == messages.Length, "every row reached the subscriber");
        var order = probe.Deliveries.Select(d => d.EnvelopeMessageId).ToList();
        foreach (var endUser in messages.GroupBy(m => m.OrderingKey))
        {
            var committed = endUser.Select(m => m.MessageId.ToString()).ToList();
            Assert.Equal(committed, order.Where(committed.Contains));
        }
    }

    [Fact]
    public async Task Broker_outage_leaves_rows_pending_and_they_go_out_when_it_returns()
    {
        await using var worker = await WorkerUnderTest.StartAsync(broker, _virtualHost, _kombo, new()
        {
            ["Outbox:MaxAttempts"] = "2",
        });
        await using (var warmUp = await AmqpClient.ConnectAsync(broker.Node, _virtualHost))
        {
            await warmUp.ListenAsync(nameof(LinkCreated));
        }

        var messages = Enumerable.Range(0, 20).Select(i => NewEvent(i)).ToArray();
        await broker.Node.StopAppAsync();
        try
        {
            await AppendAsync(worker, messages);
            await Task.Delay(TimeSpan.FromSeconds(3));
            using var connection = worker.Services.GetRequiredService<SqliteDatabase>().Open();
            Assert.Equal(messages.Length, Dapper.SqlMapper.ExecuteScalar<int>(connection,
                "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND parked_at IS NULL"));
        }
        finally
        {
            await broker.Node.StartAppAsync();
        }

        await using var probe = await AmqpClient.ConnectAsync(broker.Node, _virtualHost);

        await probe.ListenAsync(nameof(LinkCreated));
        await Eventually.HoldsAsync(() =>
        {
            using var connection = worker.Services.GetRequiredService<SqliteDatabase>().Open();
            return Dapper.SqlMapper.ExecuteScalar<int>(connection, "SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL") == messages.Length;
        }, "every pending row was sent after the broker returned", TimeSpan.FromSeconds(90));
    }

    private static OutgoingMessage NewEvent(int number, string? orderingKey = null)
    {
        var correlationId = NewId.NextGuid();
        var message = new LinkCreated { CorrelationId = correlationId, Link = $"https://connect.kombo.test/{number}", LinkType = "EMBEDDED" };
        return new OutgoingMessage(NewId.NextGuid(), nameof(LinkCreated), OutboxMessageTypes.Serialize(message),
            correlationId, null, null, null, null, orderingKey);
    }

    private static async Task AppendAsync(WorkerUnderTest worker, OutgoingMessage[] messages)
    {
        await worker.Services.GetRequiredService<SqliteWriter>().WriteAsync((connection, transaction) =>
        {
            OutboxStore.Append(connection, transaction, messages, TimeProvider.System.GetUtcNow());
            return true;
        });
        worker.Services.GetRequiredService<OutboxSignal>().Notify();
    }
}
