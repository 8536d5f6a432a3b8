using System.Text.Json;
using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.IntegrationTests.Infrastructure;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace Kombo.Worker.IntegrationTests.Messaging;

/// <summary>The whole worker on a real RabbitMQ node, calling the emulator over HTTP: commands in, events out.</summary>
[Collection("broker")]
public sealed class WorkerOnBrokerTests(RabbitMqBroker broker, KomboEmulatorFixture kombo) : IClassFixture<KomboEmulatorFixture>, IAsyncLifetime
{
    private readonly string _virtualHost = $"worker-{Guid.NewGuid():N}";
    private readonly KomboEmulatorFixture _kombo = kombo;

    public Task InitializeAsync() => broker.Node.CreateVirtualHostAsync(_virtualHost);

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Worker_consumes_a_command_sent_by_a_dotnet_publisher_and_publishes_the_event()
    {
        await using var worker = await WorkerUnderTest.StartAsync(broker, _virtualHost, _kombo);
        await using var probe = await AmqpClient.ConnectAsync(broker.Node, _virtualHost);
        await probe.ListenAsync(nameof(LinkCreated), nameof(ConnectLinkFailed));
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
        await using var probe = await AmqpClient.ConnectAsync(broker.Node, _virtualHost);
        await probe.ListenAsync(nameof(LinkCreated), nameof(IntegrationConnected));
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
}
