using System.Globalization;
using System.Net;
using System.Text.Json;
using Kombo.Emulator.Webhooks;
using Kombo.Testing;

namespace Kombo.Emulator.Tests;

/// <summary>The emulator's webhooks, received over real HTTP by a stand-in application.</summary>
public sealed class WebhookTests : IAsyncLifetime
{
    private const string Secret = "whsec-emulator-test";
    private const string CategoryLinkBody = """
        {"end_user_email":"admin@acme.test","end_user_organization_name":"Acme, Inc.","end_user_origin_id":"customer-1",
         "integration_category":"ATS","integration_tool":"greenhouse","link_type":"EMBEDDED"}
        """;

    private WebhookReceiver _receiver = null!;
    private KomboEmulatorFixture _emulator = null!;
    private HttpClient _kombo = null!;

    public async Task InitializeAsync()
    {
        _receiver = await WebhookReceiver.StartAsync();
        _emulator = await KomboEmulatorFixture.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Emulator:WebhookUrl"] = _receiver.Url,
            ["Emulator:WebhookSecret"] = Secret,
            ["Emulator:WebhookRetry:InitialDelay"] = "00:00:00.020",
            ["Emulator:WebhookRetry:MaxDelay"] = "00:00:00.200",
        });
        _kombo = _emulator.CreateKomboClient();
    }

    public async Task DisposeAsync()
    {
        _kombo.Dispose();
        await _emulator.DisposeAsync();
        await _receiver.DisposeAsync();
    }

    [Fact]
    public async Task Completed_embedded_link_gives_a_token_and_a_signed_integration_created_webhook()
    {
        var completed = await _emulator.Client.CompleteLinkAsync(await _kombo.CreateLinkAsync(CategoryLinkBody));

        var webhook = Assert.Single(await _receiver.WaitForAcknowledgedAsync(1));
        Assert.NotNull(completed.Token);
        Assert.Equal("application/json", webhook.ContentType);
        Assert.Equal(KomboSignature.Compute(Secret, webhook.Body), webhook.Signature);
        Assert.DoesNotContain('=', webhook.Signature);
        Assert.Equal(["id", "type", "data"], webhook.Json.EnumerateObject().Select(p => p.Name));
        Assert.Matches("^[A-Za-z0-9]{24}$", webhook.Id);
        Assert.Equal("integration-created", webhook.Type);
        Assert.Equal(["id", "tool", "category", "end_user"], webhook.Data.EnumerateObject().Select(p => p.Name));
        Assert.Equal(completed.IntegrationId, webhook.Data.GetProperty("id").GetString());
        Assert.Equal("greenhouse", webhook.Data.GetProperty("tool").GetString());
        Assert.Equal("ATS", webhook.Data.GetProperty("category").GetString());
        AssertEndUser(webhook.Data.GetProperty("end_user"), "customer-1");
    }

    [Fact]
    public async Task Signature_does_not_verify_with_another_secret_or_a_changed_body()
    {
        await _emulator.Client.CompleteLinkAsync(await _kombo.CreateLinkAsync());

        var webhook = Assert.Single(await _receiver.WaitForAcknowledgedAsync(1));
        var tampered = webhook.Body.ToArray();
        tampered[^2] ^= 0x01;
        Assert.NotEqual(KomboSignature.Compute("another-secret", webhook.Body), webhook.Signature);
        Assert.NotEqual(KomboSignature.Compute(Secret, tampered), webhook.Signature);
    }

    [Fact]
    public async Task Completed_magic_link_gives_no_token_and_sends_integration_created()
    {
        var magic = await _kombo.CreateLinkAsync(KomboHttp.ValidCreateLinkBody.Replace("EMBEDDED", "MAGIC_LINK", StringComparison.Ordinal));

        var completed = await _emulator.Client.CompleteLinkAsync(magic);

        Assert.Null(completed.Token);
        var webhook = Assert.Single(await _receiver.WaitForAcknowledgedAsync(1));
        Assert.Equal("integration-created", webhook.Type);
        Assert.Equal(completed.IntegrationId, webhook.Data.GetProperty("id").GetString());
        Assert.Equal("HRIS", webhook.Data.GetProperty("category").GetString());
    }

    [Fact]
    public async Task Link_without_an_origin_id_gives_an_end_user_with_a_null_origin_id()
    {
        var link = await _kombo.CreateLinkAsync("""{"end_user_email":"a@acme.test","end_user_organization_name":"Acme"}""");

        await _emulator.Client.CompleteLinkAsync(link, tool: "hibob");

        var endUser = Assert.Single(await _receiver.WaitForAcknowledgedAsync(1)).Data.GetProperty("end_user");
        Assert.Equal(JsonValueKind.Null, endUser.GetProperty("origin_id").ValueKind);
        Assert.Equal("a@acme.test", endUser.GetProperty("creator_email").GetString());
    }

    [Fact]
    public async Task Deleted_integration_sends_integration_deleted_and_is_gone()
    {
        var completed = await _emulator.Client.CompleteLinkAsync(await _kombo.CreateLinkAsync());

        await _emulator.Client.DeleteIntegrationAsync(completed.IntegrationId);

        var webhooks = await _receiver.WaitForAcknowledgedAsync(2);
        var deleted = webhooks[1];
        Assert.Equal("integration-deleted", deleted.Type);
        Assert.Equal(["id", "tool", "category", "end_user", "deleted_at"], deleted.Data.EnumerateObject().Select(p => p.Name));
        Assert.Equal(completed.IntegrationId, deleted.Data.GetProperty("id").GetString());
        AssertUtcTimestamp(deleted.Data.GetProperty("deleted_at").GetString());
        AssertEndUser(deleted.Data.GetProperty("end_user"), "customer-1");
        using var again = await _emulator.Admin.DeleteAsync($"emulator/integrations/{completed.IntegrationId}");
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        var listed = await (await _emulator.Admin.GetAsync("emulator/integrations")).JsonAsync();
        Assert.Empty(listed.GetProperty("integrations").EnumerateArray());
    }

    [Fact]
    public async Task State_change_sends_integration_state_changed_with_the_new_statuses_in_order()
    {
        var completed = await _emulator.Client.CompleteLinkAsync(await _kombo.CreateLinkAsync(CategoryLinkBody));

        await _emulator.Client.SetIntegrationStateAsync(completed.IntegrationId, "INVALID", qaStatus: "FAILED");
        await _emulator.Client.SetIntegrationStateAsync(completed.IntegrationId, "INACTIVE", setupStatus: "FINAL_SYNC_PENDING");

        var webhooks = await _receiver.WaitForAcknowledgedAsync(3);
        Assert.Equal(["integration-created", "integration-state-changed", "integration-state-changed"], webhooks.Select(w => w.Type));
        var invalid = webhooks[1].Data;
        Assert.Equal(
            ["integration_tool", "integration_id", "integration_category", "end_user", "qa_status", "setup_status", "state", "updated_at"],
            invalid.EnumerateObject().Select(p => p.Name));
        Assert.Equal("greenhouse", invalid.GetProperty("integration_tool").GetString());
        Assert.Equal(completed.IntegrationId, invalid.GetProperty("integration_id").GetString());
        Assert.Equal("ATS", invalid.GetProperty("integration_category").GetString());
        Assert.Equal(("INVALID", "FAILED", "COMPLETED"), States(invalid));
        Assert.Equal(("INACTIVE", "FAILED", "FINAL_SYNC_PENDING"), States(webhooks[2].Data));
        AssertUtcTimestamp(invalid.GetProperty("updated_at").GetString());
        AssertEndUser(invalid.GetProperty("end_user"), "customer-1");
    }

    [Fact]
    public async Task State_outside_kombos_values_is_rejected_without_a_webhook()
    {
        var completed = await _emulator.Client.CompleteLinkAsync(await _kombo.CreateLinkAsync());
        await _receiver.WaitForAcknowledgedAsync(1);

        using var badState = await _emulator.Admin.PostJsonAsync($"emulator/integrations/{completed.IntegrationId}/state", """{"state":"BROKEN"}""");
        using var badQa = await _emulator.Admin.PostJsonAsync($"emulator/integrations/{completed.IntegrationId}/state", """{"state":"ACTIVE","qa_status":"OK"}""");
        using var unknown = await _emulator.Admin.PostJsonAsync("emulator/integrations/personio:nope/state", """{"state":"ACTIVE"}""");

        Assert.Equal(HttpStatusCode.BadRequest, badState.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badQa.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(1, (await _emulator.Client.GetWebhookStatsAsync()).Queued);
    }

    [Fact]
    public async Task Failed_flow_sends_connection_flow_failed_with_a_log_url()
    {
        var link = await _kombo.CreateLinkAsync(CategoryLinkBody);

        await _emulator.Client.FailLinkAsync(link);

        var webhook = Assert.Single(await _receiver.WaitForAcknowledgedAsync(1));
        Assert.Equal("connection-flow-failed", webhook.Type);
        Assert.Equal(["integration_tool", "integration_category", "end_user", "log_url"], webhook.Data.EnumerateObject().Select(p => p.Name));
        Assert.Equal("greenhouse", webhook.Data.GetProperty("integration_tool").GetString());
        Assert.Equal("ATS", webhook.Data.GetProperty("integration_category").GetString());
        Assert.Matches("^https://app\\.kombo\\.dev/logs/[0-9a-f]+$", webhook.Data.GetProperty("log_url").GetString());
        AssertEndUser(webhook.Data.GetProperty("end_user"), "customer-1");
        using var unknown = await _emulator.Admin.PostJsonAsync("emulator/links/fail",
            JsonSerializer.Serialize(new { link = $"{_emulator.Root}connect/v1?token=unknown" }));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Completed_reconnection_link_keeps_the_integration_and_sends_it_back_to_active()
    {
        var completed = await _emulator.Client.CompleteLinkAsync(await _kombo.CreateLinkAsync());
        await _emulator.Client.SetIntegrationStateAsync(completed.IntegrationId, "INVALID");
        using var relink = await _kombo.PostJsonAsync($"integrations/{completed.IntegrationId}/relink", "{}");
        var link = (await relink.JsonAsync()).GetProperty("data").GetProperty("link").GetString()!;

        var reconnected = await _emulator.Client.CompleteLinkAsync(link);

        Assert.Equal(completed.IntegrationId, reconnected.IntegrationId);
        Assert.Null(reconnected.Token);
        var webhooks = await _receiver.WaitForAcknowledgedAsync(3);
        Assert.Equal(["integration-created", "integration-state-changed", "integration-state-changed"], webhooks.Select(w => w.Type));
        Assert.Equal("ACTIVE", webhooks[2].Data.GetProperty("state").GetString());
        Assert.Equal(completed.IntegrationId, webhooks[2].Data.GetProperty("integration_id").GetString());
        await _emulator.Client.WaitForWebhooksDeliveredAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(3, (await _emulator.Client.GetWebhookStatsAsync()).Delivered);
    }

    [Fact]
    public async Task Answer_500_is_retried_with_the_same_id_and_body_until_200()
    {
        _receiver.FailNext(3);

        await _emulator.Client.CompleteLinkAsync(await _kombo.CreateLinkAsync());

        await _receiver.WaitForAcknowledgedAsync(1);
        var attempts = _receiver.Received;
        Assert.Equal([500, 500, 500, 200], attempts.Select(a => a.AnsweredStatus));
        Assert.All(attempts, a => Assert.Equal(attempts[0].Body, a.Body));
        Assert.All(attempts, a => Assert.Equal(attempts[0].Signature, a.Signature));
        await _emulator.Client.WaitForWebhooksDeliveredAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(new WebhookCounts(Queued: 1, Delivered: 1, Pending: 0, Attempts: 4, FailedAttempts: 3, DuplicatesSent: 0, Abandoned: 0),
            await _emulator.Client.GetWebhookStatsAsync());
    }

    [Fact]
    public async Task Retried_webhook_still_arrives_before_the_later_webhooks_of_its_integration()
    {
        _receiver.FailNext(2);

        var completed = await _emulator.Client.CompleteLinkAsync(await _kombo.CreateLinkAsync());
        await _emulator.Client.SetIntegrationStateAsync(completed.IntegrationId, "INVALID");
        await _emulator.Client.DeleteIntegrationAsync(completed.IntegrationId);

        var webhooks = await _receiver.WaitForAcknowledgedAsync(3);
        Assert.Equal(["integration-created", "integration-state-changed", "integration-deleted"], webhooks.Select(w => w.Type));
        Assert.Equal(["integration-created", "integration-created", "integration-created"], _receiver.Received.Take(3).Select(w => w.Type));
    }

    [Fact]
    public async Task Duplicate_fault_delivers_an_acknowledged_webhook_again_with_the_same_id_and_body()
    {
        await _emulator.Client.SetWebhookFaultsAsync(new WebhookFaultSettings { DuplicateRate = 1, Seed = 7 });

        await _emulator.Client.CompleteLinkAsync(await _kombo.CreateLinkAsync());

        var webhooks = await _receiver.WaitForAcknowledgedAsync(2);
        Assert.Equal(webhooks[0].Id, webhooks[1].Id);
        Assert.Equal(webhooks[0].Body, webhooks[1].Body);
        await _emulator.Client.WaitForWebhooksDeliveredAsync(TimeSpan.FromSeconds(10));
        var stats = await _emulator.Client.GetWebhookStatsAsync();
        Assert.Equal((1, 1, 1), (stats.Queued, stats.Delivered, stats.DuplicatesSent));
    }

    [Fact]
    public async Task Reorder_fault_delivers_a_held_back_webhook_after_the_next_one_of_its_integration()
    {
        await _emulator.Client.SetWebhookFaultsAsync(new WebhookFaultSettings { ReorderRate = 1, ReorderHoldMs = 10_000 });

        var completed = await _emulator.Client.CompleteLinkAsync(await _kombo.CreateLinkAsync());
        await _emulator.Client.SetIntegrationStateAsync(completed.IntegrationId, "INVALID");

        var webhooks = await _receiver.WaitForAcknowledgedAsync(2);
        Assert.Equal(["integration-state-changed", "integration-created"], webhooks.Select(w => w.Type));
    }

    [Fact]
    public async Task Webhook_list_and_stats_show_the_counts_and_never_the_secret()
    {
        _receiver.FailNext(1);
        await _emulator.Client.CompleteLinkAsync(await _kombo.CreateLinkAsync());
        await _emulator.Client.WaitForWebhooksDeliveredAsync(TimeSpan.FromSeconds(10));

        var listing = await (await _emulator.Admin.GetAsync("emulator/webhooks")).Content.ReadAsStringAsync();
        var stats = await _emulator.Client.GetStatsAsync();

        Assert.DoesNotContain(Secret, listing, StringComparison.Ordinal);
        var report = JsonDocument.Parse(listing).RootElement;
        var listed = Assert.Single(report.GetProperty("webhooks").EnumerateArray());
        Assert.Equal("integration-created", listed.GetProperty("type").GetString());
        Assert.Equal("delivered", listed.GetProperty("status").GetString());
        Assert.Equal(2, listed.GetProperty("attempts").GetInt32());
        Assert.Equal(_receiver.Acknowledged[0].Id, listed.GetProperty("id").GetString());
        Assert.Equal((1, 1, 2, 1), (stats.Webhooks.Queued, stats.Webhooks.Delivered, stats.Webhooks.Attempts, stats.Webhooks.FailedAttempts));
    }

    [Fact]
    public async Task Batch_issued_tokens_are_announced_as_integrations_too()
    {
        var tokens = await _emulator.Client.IssueTokensAsync(3);

        var webhooks = await _receiver.WaitForAcknowledgedAsync(3);
        Assert.Equal(tokens.Select(t => t.IntegrationId).Order(), webhooks.Select(w => w.Data.GetProperty("id").GetString()!).Order());
        Assert.All(webhooks, w => Assert.Equal("integration-created", w.Type));
    }

    private static (string?, string?, string?) States(JsonElement data) =>
        (data.GetProperty("state").GetString(), data.GetProperty("qa_status").GetString(), data.GetProperty("setup_status").GetString());

    private static void AssertEndUser(JsonElement endUser, string originId)
    {
        Assert.Equal(["organization_name", "creator_email", "origin_id"], endUser.EnumerateObject().Select(p => p.Name));
        Assert.Equal("Acme, Inc.", endUser.GetProperty("organization_name").GetString());
        Assert.Equal("admin@acme.test", endUser.GetProperty("creator_email").GetString());
        Assert.Equal(originId, endUser.GetProperty("origin_id").GetString());
    }

    private static void AssertUtcTimestamp(string? value)
    {
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$", value);
        Assert.True(DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _));
    }
}
