using System.Net;
using System.Text;
using System.Text.Json;
using Dapper;
using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.Connect.Webhooks;
using Kombo.Worker.IntegrationTests.Infrastructure;
using Kombo.Worker.Outbox;
using Microsoft.Data.Sqlite;

using WebhookFaultSettings = Kombo.Emulator.Webhooks.WebhookFaultSettings;

namespace Kombo.Worker.IntegrationTests.Connect.Webhooks;

/// <summary>
/// The integration lifecycle end to end: the emulator signs and delivers its webhooks over real HTTP to the worker's
/// webhook listener, and the worker's events reach a subscriber on the real broker.
/// </summary>
[Collection("broker")]
public sealed class WebhookJourneyTests(RabbitMqBroker broker) : IAsyncLifetime
{
    private static readonly string[] Events =
    [
        nameof(LinkCreated), nameof(IntegrationConnected), nameof(IntegrationCreated), nameof(IntegrationDeleted),
        nameof(IntegrationStateChanged), nameof(ConnectionFlowFailed), nameof(ReconnectionLinkCreated), nameof(ReconnectionLinkFailed),
        nameof(ConnectLinkFailed),
    ];

    private readonly string _virtualHost = $"webhooks-{Guid.NewGuid():N}";
    private int _webhookPort;
    private KomboEmulatorFixture _kombo = null!;
    private WorkerUnderTest _worker = null!;

    private string WebhookUrl => $"http://127.0.0.1:{_webhookPort}/kombo/webhooks";

    public async Task InitializeAsync()
    {
        await broker.Node.CreateVirtualHostAsync(_virtualHost);
        (_kombo, var webhookSettings, _webhookPort) = await WebhookedKombo.ForInProcessWorkerAsync();
        _worker = await WorkerUnderTest.StartAsync(broker, _virtualHost, _kombo, webhookSettings);
    }

    public async Task DisposeAsync()
    {
        await _worker.DisposeAsync();
        await _kombo.DisposeAsync();
    }

    [Fact]
    public async Task Every_event_exchange_exists_before_the_first_event_so_subscribers_can_bind()
    {
        var factory = broker.Node.CreateConnectionFactory(_virtualHost);
        await using var connection = await factory.CreateConnectionAsync();
        foreach (var type in OutboxMessageTypes.All)
        {
            // A passive declare is what a bind needs: RabbitMQ closes the channel with 404 when the exchange is missing.
            await using var channel = await connection.CreateChannelAsync();
            await channel.ExchangeDeclarePassiveAsync($"Kombo.Contracts:{type.Name}");
        }
    }

    [Fact]
    public async Task Embedded_link_connects_by_token_and_by_webhook_then_changes_state_reconnects_and_is_deleted()
    {
        await using var probe = await AmqpClient.ConnectAsync(broker.Node, _virtualHost);
        await probe.ListenAsync(Events);

        var link = await CreateLinkAsync(probe, "customer-1", "EMBEDDED");
        var completed = await _kombo.Client.CompleteLinkAsync(link);
        await probe.PublishJsonAsync("redeem-connect-token", JsonSerializer.Serialize(new
        {
            correlationId = Guid.NewGuid(),
            token = completed.Token,
            expectedEndUserOriginId = "customer-1",
        }));

        var created = await OneAsync(probe, nameof(IntegrationCreated));
        Assert.Equal(completed.IntegrationId, created.Message.GetProperty("integrationId").GetString());
        Assert.Equal("customer-1", created.Message.GetProperty("endUserOriginId").GetString());
        Assert.Equal("HRIS", created.Message.GetProperty("category").GetString());
        var connected = await OneAsync(probe, nameof(IntegrationConnected));
        Assert.Equal(completed.IntegrationId, connected.Message.GetProperty("integrationId").GetString());

        await _kombo.Client.SetIntegrationStateAsync(completed.IntegrationId, "INVALID");
        var invalid = await OneAsync(probe, nameof(IntegrationStateChanged));
        Assert.Equal("INVALID", invalid.Message.GetProperty("state").GetString());

        // A second link for the same tool is refused, pointing at the reconnection link instead.
        await CreateLinkAsync(probe, "customer-1", "EMBEDDED", expectFailure: true);
        var refused = await OneAsync(probe, nameof(ConnectLinkFailed));
        Assert.Equal(FailureReasons.AlreadyConnected, refused.Message.GetProperty("reason").GetString());
        Assert.Equal(completed.IntegrationId, refused.Message.GetProperty("connectedIntegrationIds")[0].GetString());

        await probe.PublishJsonAsync("create-reconnection-link", JsonSerializer.Serialize(new
        {
            correlationId = Guid.NewGuid(),
            integrationId = completed.IntegrationId,
        }));
        var relink = await OneAsync(probe, nameof(ReconnectionLinkCreated));
        Assert.Equal(completed.IntegrationId, relink.Message.GetProperty("integrationId").GetString());
        var relinked = await _kombo.Client.CompleteLinkAsync(relink.Message.GetProperty("link").GetString()!);
        Assert.Equal(completed.IntegrationId, relinked.IntegrationId);
        await Eventually.HoldsAsync(() => probe.Of(nameof(IntegrationStateChanged)).Count() == 2, "the reconnection made the integration ACTIVE again");
        Assert.Equal("ACTIVE", probe.Of(nameof(IntegrationStateChanged)).Last().Message.GetProperty("state").GetString());

        await _kombo.Client.DeleteIntegrationAsync(completed.IntegrationId);
        var deleted = await OneAsync(probe, nameof(IntegrationDeleted));
        Assert.Equal(completed.IntegrationId, deleted.Message.GetProperty("integrationId").GetString());

        // Deleted in Kombo, the tool can be connected again.
        await CreateLinkAsync(probe, "customer-1", "EMBEDDED");
        Assert.Equal(2, probe.Of(nameof(LinkCreated)).Count());
    }

    [Fact]
    public async Task Magic_link_completed_away_from_the_app_is_announced_by_its_webhook()
    {
        await using var probe = await AmqpClient.ConnectAsync(broker.Node, _virtualHost);
        await probe.ListenAsync(Events);

        var completed = await _kombo.Client.CompleteLinkAsync(await CreateLinkAsync(probe, "customer-magic", "MAGIC_LINK"));

        Assert.Null(completed.Token);
        var created = await OneAsync(probe, nameof(IntegrationCreated));
        Assert.Equal(completed.IntegrationId, created.Message.GetProperty("integrationId").GetString());
        Assert.Equal("customer-magic", created.Message.GetProperty("endUserOriginId").GetString());
        Assert.Equal(WebhookEventId(completed.IntegrationId), created.EnvelopeMessageId);
    }

    [Fact]
    public async Task Failed_connection_flow_is_announced()
    {
        await using var probe = await AmqpClient.ConnectAsync(broker.Node, _virtualHost);
        await probe.ListenAsync(Events);

        await _kombo.Client.FailLinkAsync(await CreateLinkAsync(probe, "customer-fail", "EMBEDDED"));

        var failed = await OneAsync(probe, nameof(ConnectionFlowFailed));
        Assert.Equal("customer-fail", failed.Message.GetProperty("endUserOriginId").GetString());
        Assert.StartsWith("https://app.kombo.dev/logs/", failed.Message.GetProperty("logUrl").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Duplicate_and_reordered_deliveries_have_one_effect_each()
    {
        await using var probe = await AmqpClient.ConnectAsync(broker.Node, _virtualHost);
        await probe.ListenAsync(Events);
        await _kombo.Client.SetWebhookFaultsAsync(new WebhookFaultSettings { DuplicateRate = 1, ReorderRate = 0.5, Seed = 7 });
        const int integrations = 6;

        var ids = new List<string>();
        for (var i = 0; i < integrations; i++)
        {
            var completed = await _kombo.Client.CompleteLinkAsync(await CreateLinkAsync(probe, $"customer-dup-{i}", "MAGIC_LINK"));
            await _kombo.Client.SetIntegrationStateAsync(completed.IntegrationId, "INVALID");
            ids.Add(completed.IntegrationId);
        }

        await _kombo.Client.WaitForWebhooksDeliveredAsync(TimeSpan.FromSeconds(60));
        var stats = await _kombo.Client.GetWebhookStatsAsync();
        Assert.True(stats.DuplicatesSent >= integrations * 2, $"the emulator sent every webhook twice ({stats})");
        // Kombo had its 200 for every delivery, so every effect is committed: the outbox holds exactly what will go out.
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(_worker.Directory, "worker.db")}"))
        {
            Assert.Equal(integrations, connection.ExecuteScalar<int>("SELECT COUNT(*) FROM outbox WHERE message_type = 'IntegrationCreated'"));
            Assert.Equal(integrations, connection.ExecuteScalar<int>("SELECT COUNT(*) FROM outbox WHERE message_type = 'IntegrationStateChanged'"));
        }

        await Eventually.HoldsAsync(
            () => probe.Of(nameof(IntegrationCreated)).Count() == integrations && probe.Of(nameof(IntegrationStateChanged)).Count() == integrations,
            "every announcement reached the subscriber");
        Assert.Equal(ids.Order(), probe.Of(nameof(IntegrationCreated)).Select(d => d.Message.GetProperty("integrationId").GetString()).Order());
        Assert.Equal(ids.Order(), probe.Of(nameof(IntegrationStateChanged)).Select(d => d.Message.GetProperty("integrationId").GetString()).Order());
    }

    [Fact]
    public async Task Unsigned_webhook_is_refused_and_the_listeners_serve_only_their_own_paths()
    {
        using var http = new HttpClient();
        var body = """{"id":"forged","type":"integration-deleted","data":{}}""";

        using var unsigned = await http.PostAsync(WebhookUrl, new StringContent(body, Encoding.UTF8, "application/json"));
        using var wrong = await http.SendAsync(new HttpRequestMessage(HttpMethod.Post, WebhookUrl)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
            Headers = { { "X-Kombo-Signature", WebhookSignature.Compute("not-the-secret", Encoding.UTF8.GetBytes(body)) } },
        });
        using var healthOnWebhooks = await http.GetAsync($"http://127.0.0.1:{_webhookPort}/health/ready");
        using var metricsOnWebhooks = await http.GetAsync($"http://127.0.0.1:{_webhookPort}/metrics");
        using var webhookOnHealth = await http.PostAsync(new Uri(_worker.BaseAddress, "kombo/webhooks"), new StringContent(body));
        using var health = await http.GetAsync(new Uri(_worker.BaseAddress, "health/live"));

        Assert.Equal(HttpStatusCode.Unauthorized, unsigned.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, healthOnWebhooks.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, metricsOnWebhooks.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, webhookOnHealth.StatusCode);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    private static string WebhookEventId(string integrationId) =>
        WebhookIds.OfIntegrationEvent(integrationId, nameof(IntegrationCreated)).ToString();

    private static async Task<string> CreateLinkAsync(AmqpClient probe, string originId, string linkType, bool expectFailure = false)
    {
        var correlationId = Guid.NewGuid().ToString();
        await probe.PublishJsonAsync("create-connect-link", JsonSerializer.Serialize(new
        {
            correlationId,
            endUserEmail = "admin@acme.test",
            endUserOrganizationName = "Acme, Inc.",
            endUserOriginId = originId,
            integrationTool = "personio",
            linkType,
        }));
        if (expectFailure)
        {
            await Eventually.HoldsAsync(() => probe.Of(nameof(ConnectLinkFailed)).Any(d => d.CorrelationId == correlationId), "the link was refused");
            return "";
        }

        await Eventually.HoldsAsync(() => probe.Of(nameof(LinkCreated)).Any(d => d.CorrelationId == correlationId), $"LinkCreated for {originId}");
        return probe.Of(nameof(LinkCreated)).Single(d => d.CorrelationId == correlationId).Message.GetProperty("link").GetString()!;
    }

    private static async Task<AmqpDelivery> OneAsync(AmqpClient probe, string type)
    {
        await Eventually.HoldsAsync(() => probe.Of(type).Any(), $"{type} reached the subscriber");
        return probe.Of(type).Last();
    }
}
