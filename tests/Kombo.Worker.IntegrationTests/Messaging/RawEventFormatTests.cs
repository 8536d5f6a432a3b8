using System.Text.Json;
using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.IntegrationTests.Infrastructure;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace Kombo.Worker.IntegrationTests.Messaging;

/// <summary><c>Messaging:EventFormat = raw</c>: subscribers get the bare event, request clients still their answer.</summary>
[Collection("broker")]
public sealed class RawEventFormatTests(RabbitMqBroker broker, KomboEmulatorFixture kombo) : IClassFixture<KomboEmulatorFixture>, IAsyncLifetime
{
    private readonly string _virtualHost = $"raw-{Guid.NewGuid():N}";

    public Task InitializeAsync() => broker.Node.CreateVirtualHostAsync(_virtualHost);

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Raw_events_are_the_bare_event_with_their_id_in_the_message_properties()
    {
        await using var worker = await WorkerUnderTest.StartAsync(broker, _virtualHost, kombo, new() { ["Messaging:EventFormat"] = "raw" });
        await using var probe = await AmqpClient.ConnectAsync(broker.Node, _virtualHost);
        await probe.ListenAsync(nameof(LinkCreated));
        var correlationId = Guid.NewGuid().ToString();

        await probe.PublishJsonAsync("create-connect-link", JsonSerializer.Serialize(new
        {
            correlationId,
            endUserEmail = "admin@acme.test",
            endUserOrganizationName = "Acme, Inc.",
            endUserOriginId = "customer-raw",
            integrationTool = "personio",
        }), messageId: Guid.NewGuid().ToString());

        await Eventually.HoldsAsync(() => probe.Of(nameof(LinkCreated)).Any(), "LinkCreated reached the subscriber");
        var delivery = probe.Of(nameof(LinkCreated)).Single();
        var body = delivery.Envelope;
        Assert.Equal(correlationId, body.GetProperty("correlationId").GetString());
        Assert.Equal("customer-raw", body.GetProperty("endUserOriginId").GetString());
        Assert.False(body.TryGetProperty("message", out _));
        Assert.True(Guid.TryParse(delivery.MessageId, out _), $"the AMQP message id carries the event id ({delivery.MessageId})");
    }

    [Fact]
    public async Task Request_client_still_gets_its_answer_with_raw_events()
    {
        await using var worker = await WorkerUnderTest.StartAsync(broker, _virtualHost, kombo, new() { ["Messaging:EventFormat"] = "raw" });
        var client = worker.Services.GetRequiredService<IBus>().CreateRequestClient<CreateConnectLink>(new Uri("queue:create-connect-link"));

        var response = await client.GetResponse<LinkCreated, ConnectLinkFailed>(new CreateConnectLink
        {
            CorrelationId = NewId.NextGuid(),
            EndUserEmail = "admin@acme.test",
            EndUserOrganizationName = "Acme, Inc.",
            EndUserOriginId = "customer-raw-request",
            IntegrationTool = "personio",
        });

        Assert.True(response.Is(out Response<LinkCreated>? created));
        Assert.Equal("customer-raw-request", created!.Message.EndUserOriginId);
    }
}
