using System.Text.Json;
using Kombo.Contracts;
using Kombo.Worker.IntegrationTests.Infrastructure;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace Kombo.Worker.IntegrationTests.Worker;

/// <summary>The whole worker on a real RabbitMQ node, calling the emulator over HTTP.</summary>
[Collection("broker")]
public sealed class WorkerOnBrokerTests(RabbitMqBroker broker, KomboEmulatorFixture kombo) : IClassFixture<KomboEmulatorFixture>, IAsyncLifetime
{
    private readonly string _virtualHost = $"worker-{Guid.NewGuid():N}";
    private readonly KomboEmulatorFixture _kombo = kombo;

    public Task InitializeAsync() => broker.CreateVirtualHostAsync(_virtualHost);

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Worker_consumes_a_command_sent_by_a_dotnet_publisher_and_publishes_the_event()
    {
        await using var worker = await WorkerUnderTest.StartAsync(broker, _virtualHost, _kombo);
        await using var probe = await EventProbe.StartAsync(broker, _virtualHost, nameof(LinkCreated), nameof(ConnectLinkFailed));
        var bus = worker.Services.GetRequiredService<IBus>();
        var correlationId = NewId.NextGuid();

        var endpoint = await bus.GetSendEndpoint(new Uri("queue:create-connect-link"));
        await endpoint.Send(new CreateConnectLink
        {
            CorrelationId = correlationId,
            EndUserEmail = "admin@acme.test",
            EndUserOrganizationName = "Acme, Inc.",
            EndUserOriginId = "customer-1",
            IntegrationTool = "personio",
        });

        await Eventually.HoldsAsync(() => probe.Of(nameof(LinkCreated)).Any(), "LinkCreated reached the subscriber");
        var created = probe.Of(nameof(LinkCreated)).Single();
        Assert.Equal(correlationId.ToString(), created.CorrelationId);
        Assert.Contains("/connect/v1?token=", created.Message.GetProperty("link").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plain_json_commands_from_a_non_dotnet_publisher_are_consumed()
    {
        await using var worker = await WorkerUnderTest.StartAsync(broker, _virtualHost, _kombo);
        await using var probe = await EventProbe.StartAsync(broker, _virtualHost, nameof(LinkCreated), nameof(IntegrationConnected));
        var linkCorrelation = Guid.NewGuid().ToString();

        await probe.PublishJsonAsync("create-connect-link", $$"""
            {"correlationId":"{{linkCorrelation}}","endUserEmail":"admin@acme.test","endUserOrganizationName":"Acme, Inc.",
             "endUserOriginId":"customer-7","integrationTool":"personio","linkType":"EMBEDDED"}
            """, messageId: Guid.NewGuid().ToString());
        await Eventually.HoldsAsync(() => probe.Of(nameof(LinkCreated)).Any(), "LinkCreated for the plain JSON command");
        var link = probe.Of(nameof(LinkCreated)).Single().Message.GetProperty("link").GetString()!;

        var token = await _kombo.CompleteLinkAsync(link);
        var redeemCorrelation = Guid.NewGuid().ToString();
        await probe.PublishJsonAsync("redeem-connect-token", JsonSerializer.Serialize(new
        {
            correlationId = redeemCorrelation,
            token,
            expectedEndUserOriginId = "customer-7",
        }));

        await Eventually.HoldsAsync(() => probe.Of(nameof(IntegrationConnected)).Any(), "IntegrationConnected for the plain JSON command");
        var connected = probe.Of(nameof(IntegrationConnected)).Single();
        Assert.Equal(redeemCorrelation, connected.CorrelationId);
        Assert.Equal("customer-7", connected.Message.GetProperty("endUserOriginId").GetString());
        Assert.StartsWith("personio:", connected.Message.GetProperty("integrationId").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Request_client_on_the_broker_gets_its_answer()
    {
        await using var worker = await WorkerUnderTest.StartAsync(broker, _virtualHost, _kombo);
        var client = worker.Services.GetRequiredService<IBus>().CreateRequestClient<CreateConnectLink>(new Uri("queue:create-connect-link"));

        var response = await client.GetResponse<LinkCreated, ConnectLinkFailed>(new CreateConnectLink
        {
            CorrelationId = NewId.NextGuid(),
            EndUserEmail = "not-an-email",
            EndUserOrganizationName = "Acme, Inc.",
        });

        Assert.True(response.Is(out Response<ConnectLinkFailed>? failed));
        Assert.Equal(FailureReasons.InvalidRequest, failed!.Message.Reason);
    }

    [Fact]
    public async Task Relay_with_one_lane_publishes_every_event_in_commit_order_on_the_broker()
    {
        await using var worker = await WorkerUnderTest.StartAsync(broker, _virtualHost, _kombo, new() { ["Outbox:PublishLanes"] = "1" });
        await using var probe = await EventProbe.StartAsync(broker, _virtualHost, nameof(LinkCreated));
        var messages = Enumerable.Range(0, 300).Select(i => NewEvent(i)).ToArray();

        await AppendAsync(worker, messages);

        await Eventually.HoldsAsync(() => probe.Deliveries.Count == messages.Length, "every row reached the subscriber");
        Assert.Equal(messages.Select(m => m.MessageId.ToString()), probe.Deliveries.Select(d => d.EnvelopeMessageId));
    }

    [Fact]
    public async Task Relay_keeps_each_end_users_commit_order_on_the_broker()
    {
        await using var worker = await WorkerUnderTest.StartAsync(broker, _virtualHost, _kombo);
        await using var probe = await EventProbe.StartAsync(broker, _virtualHost, nameof(LinkCreated));
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
        await using (var warmUp = await EventProbe.StartAsync(broker, _virtualHost, nameof(LinkCreated)))
        {
        }

        var messages = Enumerable.Range(0, 20).Select(i => NewEvent(i)).ToArray();
        await broker.StopAppAsync();
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
            await broker.StartAppAsync();
        }

        await using var probe = await EventProbe.StartAsync(broker, _virtualHost, nameof(LinkCreated));
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
