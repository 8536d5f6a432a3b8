using System.Net;
using Kombo.Contracts;
using Kombo.Worker.Tests.Connect.Webhooks;
using Kombo.Worker.Tests.Support;
using MassTransit;
using MassTransit.Testing;

namespace Kombo.Worker.Tests.Connect;

public sealed class CreateReconnectionLinkTests
{
    private static CreateReconnectionLink Command(string integrationId = "personio:A/1") => new()
    {
        CorrelationId = NewId.NextGuid(),
        IntegrationId = integrationId,
        Language = "de",
        LinkType = "MAGIC_LINK",
    };

    [Fact]
    public async Task Known_integration_gets_a_reconnection_link_recorded_without_the_link()
    {
        await using var harness = await Harness.StartAsync();
        harness.Kombo.RelinkableIntegrations["personio:A/1"] = true;
        var command = Command();

        await harness.Bus.Bus.Publish(command);

        var created = (await harness.Bus.Published.SelectAsync<ReconnectionLinkCreated>().First()).Context.Message;
        Assert.Equal(command.CorrelationId, created.CorrelationId);
        Assert.Equal("personio:A/1", created.IntegrationId);
        Assert.Equal("MAGIC_LINK", created.LinkType);
        Assert.Equal(TimeSpan.FromDays(365), created.ExpiresAt - created.CreatedAt);
        Assert.StartsWith("https://connect.kombo.test/v1?token=relink", created.Link, StringComparison.Ordinal);

        // The id is one path segment, escaped; the body carries only what the command set.
        var (integrationId, body) = Assert.Single(harness.Kombo.RelinkRequests);
        Assert.Equal("personio:A/1", integrationId);
        Assert.Equal("""{"language":"de","link_type":"MAGIC_LINK"}""", body);
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM reconnection_links WHERE integration_id = 'personio:A/1'"));
        Assert.Equal(0, harness.Count("SELECT COUNT(*) FROM reconnection_links WHERE link_fingerprint LIKE '%relink%'"));
    }

    [Fact]
    public async Task Unknown_integration_is_answered_with_integration_not_found()
    {
        await using var harness = await Harness.StartAsync();
        var command = Command("personio:gone");

        await harness.Bus.Bus.Publish(command);

        var failed = (await harness.Bus.Published.SelectAsync<ReconnectionLinkFailed>().First()).Context.Message;
        Assert.Equal(FailureReasons.IntegrationNotFound, failed.Reason);
        Assert.Equal("PLATFORM.INTEGRATION_NOT_FOUND", failed.KomboErrorCode);
        Assert.Equal(command.CorrelationId, failed.CorrelationId);
        Assert.False(failed.Retryable);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("..")]
    [InlineData("personio: 1")]
    public async Task Invalid_integration_id_is_answered_with_invalid_request_and_kombo_is_not_called(string? integrationId)
    {
        await using var harness = await Harness.StartAsync();

        await harness.Bus.Bus.Publish(Command() with { IntegrationId = integrationId });

        var failed = (await harness.Bus.Published.SelectAsync<ReconnectionLinkFailed>().First()).Context.Message;
        Assert.Equal(FailureReasons.InvalidRequest, failed.Reason);
        Assert.Equal(0, harness.Kombo.RelinkCalls);
    }

    [Fact]
    public async Task Kombo_unavailable_through_every_redelivery_is_a_retryable_failure()
    {
        await using var harness = await Harness.StartAsync();
        harness.Kombo.Respond = _ => FakeKombo.PlainText(HttpStatusCode.ServiceUnavailable, "<html>503</html>");

        await harness.Bus.Bus.Publish(Command());

        var failed = (await harness.Bus.Published.SelectAsync<ReconnectionLinkFailed>().First()).Context.Message;
        Assert.Equal(FailureReasons.KomboUnavailable, failed.Reason);
        Assert.True(failed.Retryable);
    }

    [Fact]
    public async Task Answer_follows_the_order_of_the_integrations_end_user()
    {
        await using var harness = await Harness.StartAsync();
        await harness.Webhooks.HandleAsync(WebhookJsonReader.Read(WebhookJson.Created("evt-1", "personio:A/1", originId: "customer-7")), default);
        harness.Kombo.RelinkableIntegrations["personio:A/1"] = true;

        await harness.Bus.Bus.Publish(Command());

        await harness.Bus.Published.SelectAsync<ReconnectionLinkCreated>().First();
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM outbox WHERE message_type = 'ReconnectionLinkCreated' AND ordering_key = 'customer-7'"));
    }
}
