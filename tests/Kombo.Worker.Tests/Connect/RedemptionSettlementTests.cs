using System.Net;
using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.Connect;
using Kombo.Worker.Connect.Redemption;
using Kombo.Worker.KomboApi;
using Kombo.Worker.Outbox;
using Kombo.Worker.Tests.Support;
using MassTransit;
using MassTransit.Testing;
using static Kombo.Worker.Tests.Connect.SingleUseTokenScenario;
using static Kombo.Worker.Tests.Connect.Webhooks.WebhookJsonReader;
using WebhookJson = Kombo.Worker.Tests.Connect.Webhooks.WebhookJson;

namespace Kombo.Worker.Tests.Connect;

/// <summary>
/// What may settle a redemption whose outcome Kombo's answer left open: only the integration its token can have made,
/// only when that is unique, and never a failure other than outcome_unknown once an attempt may have spent the token.
/// </summary>
public sealed class RedemptionSettlementTests
{
    private const string IntegrationId = "personio:new";

    private static Task<Harness> StartAsync(Dictionary<string, string?> settings) => SingleUseTokenScenario.StartAsync(settings, IntegrationId);

    /// <summary>An integration of customer-1 the worker recorded a day ago, that no redemption claimed (a magic link's).</summary>
    private static void StoreOldUnclaimedIntegration(Harness harness, string integrationId)
    {
        var dayAgo = TimeProvider.System.GetUtcNow().AddDays(-1).ToUnixTimeMilliseconds();
        harness.Execute("""
            INSERT INTO integrations (integration_id, tool, category, end_user_origin_id, end_user_organization_name, setup_status,
                                      connected_at, updated_at, announced_at)
            VALUES (@IntegrationId, 'bamboohr', 'HRIS', 'customer-1', 'Acme', 'COMPLETED', @DayAgo, @DayAgo, @DayAgo)
            """, new { IntegrationId = integrationId, DayAgo = dayAgo });
    }

    private static IntegrationConnected SingleConnected(Harness harness) =>
        Assert.Single(harness.Bus.Published.Select<IntegrationConnected>()).Context.Message;

    [Fact]
    public async Task An_old_integration_reported_again_does_not_settle_a_new_pending_redemption()
    {
        await using var harness = await StartAsync(WebhooksOn);
        StoreOldUnclaimedIntegration(harness, "bamboohr:old");
        TimeOutAfterSpendingTheToken(harness);
        var command = Redeem();

        await harness.Bus.Bus.Publish(command);
        await WaitUntilPendingAsync(harness);
        // Kombo reports the old integration again under a new event id (or a captured webhook is replayed).
        await harness.Webhooks.HandleAsync(Read(WebhookJson.Created("evt-again", "bamboohr:old", tool: "bamboohr")), default);
        Assert.False(harness.Bus.Published.Select<IntegrationConnected>().Any());
        await harness.Webhooks.HandleAsync(Read(WebhookJson.Created("evt-new", IntegrationId)), default);

        await Eventually.HoldsAsync(() => harness.Bus.Published.Select<IntegrationConnected>().Any(), "the redemption was settled");
        var connected = SingleConnected(harness);
        Assert.Equal(IntegrationId, connected.IntegrationId);
        Assert.Equal(command.CorrelationId, connected.CorrelationId);
    }

    [Fact]
    public async Task An_integration_made_before_the_end_users_newest_link_still_settles_the_redemption()
    {
        // The end user connected personio, then the app made them a bamboohr link: that link did not issue the token.
        await using var harness = await StartAsync(WebhooksOn);
        await harness.Webhooks.HandleAsync(Read(WebhookJson.Created("evt-1", IntegrationId)), default);
        var link = new CreateConnectLink
        {
            CorrelationId = NewId.NextGuid(),
            EndUserEmail = "admin@acme.test",
            EndUserOrganizationName = "Acme, Inc.",
            EndUserOriginId = "customer-1",
            IntegrationTool = "bamboohr",
            LinkType = "EMBEDDED",
        };
        await harness.Bus.Bus.Publish(link);
        await Eventually.HoldsAsync(() => harness.Bus.Published.Select<LinkCreated>().Any(), "the link was created");
        TimeOutAfterSpendingTheToken(harness);
        var command = Redeem();

        await harness.Bus.Bus.Publish(command);

        await Eventually.HoldsAsync(() => harness.Bus.Published.Select<IntegrationConnected>().Any(), "the redemption was settled");
        Assert.Equal(IntegrationId, SingleConnected(harness).IntegrationId);
    }

    [Fact]
    public async Task Two_integrations_the_token_could_have_made_are_not_guessed_between()
    {
        await using var harness = await StartAsync(new(WebhooksOn) { ["Kombo:RedemptionSettleWindow"] = "00:00:00.500" });
        await harness.Webhooks.HandleAsync(Read(WebhookJson.Created("evt-magic", "bamboohr:magic", tool: "bamboohr")), default);
        await harness.Webhooks.HandleAsync(Read(WebhookJson.Created("evt-new", IntegrationId)), default);
        TimeOutAfterSpendingTheToken(harness);
        var command = Redeem();

        await harness.Bus.Bus.Publish(command);

        var failed = (await harness.Bus.Published.SelectAsync<ConnectTokenRedemptionFailed>().First()).Context.Message;
        Assert.Equal(FailureReasons.OutcomeUnknown, failed.Reason);
        Assert.Equal(command.CorrelationId, failed.CorrelationId);
        Assert.False(harness.Bus.Published.Select<IntegrationConnected>().Any());
    }

    [Fact]
    public async Task Kombo_unavailable_after_an_attempt_that_may_have_spent_the_token_waits_for_the_webhook()
    {
        await using var harness = await StartAsync(WebhooksOn);
        var first = 0;
        harness.Kombo.RespondAsync = async (_, cancellationToken) =>
        {
            if (Interlocked.Exchange(ref first, 1) == 0)
            {
                harness.Kombo.AnswerToken(Token).Dispose();
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            return FakeKombo.Error(HttpStatusCode.ServiceUnavailable, null, "Kombo is down.");
        };
        var command = Redeem();

        await harness.Bus.Bus.Publish(command);
        await WaitUntilPendingAsync(harness);
        Assert.False(harness.Bus.Published.Select<ConnectTokenRedemptionFailed>().Any());
        await harness.Webhooks.HandleAsync(Read(WebhookJson.Created("evt-1", IntegrationId)), default);

        await Eventually.HoldsAsync(() => harness.Bus.Published.Select<IntegrationConnected>().Any(), "the redemption was settled");
        Assert.Equal(IntegrationId, SingleConnected(harness).IntegrationId);
        Assert.False(harness.Bus.Published.Select<ConnectTokenRedemptionFailed>().Any());
    }

    [Fact]
    public async Task Kombo_refusing_every_attempt_with_503_is_answered_kombo_unavailable()
    {
        // A 503 proves the request did not run: the token is unspent, and the caller may send the command again.
        await using var harness = await StartAsync(WebhooksOn);
        harness.Kombo.Always(() => FakeKombo.Error(HttpStatusCode.ServiceUnavailable, null, "Kombo is down."));

        await harness.Bus.Bus.Publish(Redeem());

        var failed = (await harness.Bus.Published.SelectAsync<ConnectTokenRedemptionFailed>().First()).Context.Message;
        Assert.Equal(FailureReasons.KomboUnavailable, failed.Reason);
        Assert.True(failed.Retryable);
    }

    [Fact]
    public async Task A_token_kombo_calls_invalid_at_its_first_attempt_is_settled_from_the_stored_integration_created()
    {
        // The token expired in a backlog before its first redemption; the end user's integration-created came in.
        await using var harness = await StartAsync(WebhooksOn);
        harness.Kombo.AnswerToken(Token).Dispose();
        await harness.Webhooks.HandleAsync(Read(WebhookJson.Created("evt-1", IntegrationId)), default);
        var command = Redeem();

        await harness.Bus.Bus.Publish(command);

        await Eventually.HoldsAsync(() => harness.Bus.Published.Select<IntegrationConnected>().Any()
            || harness.Bus.Published.Select<ConnectTokenRedemptionFailed>().Any(), "the redemption was answered");
        var connected = SingleConnected(harness);
        Assert.Equal(IntegrationId, connected.IntegrationId);
        Assert.Equal(command.CorrelationId, connected.CorrelationId);
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM token_redemptions"));
    }

    [Fact]
    public async Task A_token_kombo_calls_invalid_with_no_matching_integration_stored_is_token_invalid_or_expired()
    {
        await using var harness = await StartAsync(WebhooksOn);
        StoreOldUnclaimedIntegration(harness, "bamboohr:old");
        harness.Kombo.AnswerToken(Token).Dispose();

        await harness.Bus.Bus.Publish(Redeem());

        var failed = (await harness.Bus.Published.SelectAsync<ConnectTokenRedemptionFailed>().First()).Context.Message;
        Assert.Equal(FailureReasons.TokenInvalidOrExpired, failed.Reason);
        Assert.Equal(0, harness.Count("SELECT COUNT(*) FROM token_redemptions"));
    }

    [Fact]
    public async Task A_token_whose_integration_was_deleted_is_not_announced_as_connected_again()
    {
        await using var harness = await StartAsync(WebhooksOn);
        await harness.Bus.Bus.Publish(Redeem());
        await Eventually.HoldsAsync(() => harness.Bus.Published.Select<IntegrationConnected>().Any(), "the token was redeemed");
        await harness.Webhooks.HandleAsync(Read(WebhookJson.Deleted("evt-deleted", IntegrationId)), default);
        var again = Redeem();

        await harness.Bus.Bus.Publish(again);

        var failed = (await harness.Bus.Published.SelectAsync<ConnectTokenRedemptionFailed>(m => m.Context.Message.CorrelationId == again.CorrelationId).First()).Context.Message;
        Assert.Equal(FailureReasons.IntegrationNotFound, failed.Reason);
        Assert.Single(harness.Bus.Published.Select<IntegrationConnected>());
    }

    [Fact]
    public async Task Invalid_at_a_first_attempt_while_another_commands_attempt_is_under_way_waits_for_its_answer()
    {
        // Two commands of one token on two instances: the second's call spent it, so Kombo calls the first's invalid
        // while the second's answer is still on its way to the database.
        await using var harness = await StartAsync(WebhooksOn);
        var tokenHash = IntegrationStore.HashToken(Token);
        var now = TimeProvider.System.GetUtcNow();
        var nowhere = new AnswerAddress(null, null, null);
        var first = new NewRedemptionAttempt(tokenHash, NewId.NextGuid(), NewId.NextGuid(), "customer-1", false, null);
        var second = first with { CommandId = NewId.NextGuid(), CorrelationId = NewId.NextGuid() };
        Assert.False(await harness.Writer.WriteAsync((c, t) => RedemptionLedger.RecordAttempt(c, t, first, now)));
        Assert.True(await harness.Writer.WriteAsync((c, t) => RedemptionLedger.RecordAttempt(c, t, second, now)));
        var invalid = new KomboError(404, "PLATFORM.INPUT_INVALID", null, "The token is invalid or has expired.", null);

        var refused = await harness.Writer.WriteAsync((c, t) => RedemptionSettlement.Refused(c, t, RedemptionAttempt.Of(first, nowhere),
            new RefusedAs(FailureReasons.TokenInvalidOrExpired, "invalid", false), unknownToken: true, webhooksOn: true, invalid,
            new SettlementRules(TimeSpan.FromMinutes(10)), now));
        var recorded = await harness.Writer.WriteAsync((c, t) => RedemptionSettlement.Record(c, t, RedemptionAttempt.Of(second, nowhere),
            answerOwn: true, new ConnectedIntegration("personio", IntegrationId, "customer-1", "Acme", null, "COMPLETED"), NewId.NextGuid(), now));

        Assert.Equal(Resolution.Pending, refused.Outcome);
        Assert.Empty(refused.Answers);
        Assert.Equal([second.CorrelationId, first.CorrelationId], recorded.Answers.Select(answer => answer.CorrelationId));
        Assert.All(recorded.Answers, answer => Assert.Equal(nameof(IntegrationConnected), answer.MessageType));
    }
}
