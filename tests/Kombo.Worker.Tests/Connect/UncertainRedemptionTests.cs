using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.Connect;
using Kombo.Worker.Connect.Redemption;
using Kombo.Worker.Tests.Support;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;

using static Kombo.Worker.Tests.Connect.Webhooks.WebhookJsonReader;
using WebhookJson = Kombo.Worker.Tests.Connect.Webhooks.WebhookJson;

namespace Kombo.Worker.Tests.Connect;

/// <summary>
/// The paths that used to ask Kombo twice for a single-use token, and so answered token_invalid_or_expired for a
/// connection Kombo had made: each ends with the integration, once, under the command's correlation id.
/// </summary>
public sealed class UncertainRedemptionTests
{
    private const string Token = "token-1";
    private const string IntegrationId = "personio:abc";

    private static readonly Dictionary<string, string?> WebhooksOn = new() { ["Kombo:WebhookSecret"] = "whsec-settlement-test" };

    private static RedeemConnectToken Redeem() => new()
    {
        CorrelationId = NewId.NextGuid(),
        Token = Token,
        ExpectedEndUserOriginId = "customer-1",
    };

    private static async Task<Harness> StartAsync(Dictionary<string, string?> settings)
    {
        var harness = await Harness.StartAsync(settings);
        harness.Kombo.SingleUseTokens = true;
        harness.Kombo.AddToken(Token, IntegrationId, "customer-1");
        return harness;
    }

    /// <summary>The first attempt reaches Kombo (the token is spent) and then times out; the retry hears "invalid".</summary>
    private static void TimeOutAfterSpendingTheToken(Harness harness)
    {
        var first = 0;
        harness.Kombo.RespondAsync = async (_, cancellationToken) =>
        {
            if (Interlocked.Exchange(ref first, 1) == 0)
            {
                harness.Kombo.AnswerToken(Token).Dispose();
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            return null;
        };
    }

    private static Task WaitUntilPendingAsync(Harness harness) =>
        Eventually.HoldsAsync(
            () => harness.Count("SELECT COUNT(*) FROM token_redemption_attempts WHERE pending_since IS NOT NULL") == 1, "the redemption is pending");

    private static void AssertConnectedOnce(Harness harness, RedeemConnectToken command)
    {
        Assert.False(harness.Bus.Published.Select<ConnectTokenRedemptionFailed>().Any());
        var connected = Assert.Single(harness.Bus.Published.Select<IntegrationConnected>()).Context.Message;
        Assert.Equal(command.CorrelationId, connected.CorrelationId);
        Assert.Equal(IntegrationId, connected.IntegrationId);
        Assert.True(connected.OriginVerified);
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM integrations"));
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM token_redemptions"));
    }

    [Fact]
    public async Task Timeout_after_the_request_reached_kombo_is_settled_by_the_integration_created_that_follows()
    {
        await using var harness = await StartAsync(WebhooksOn);
        TimeOutAfterSpendingTheToken(harness);
        var command = Redeem();

        await harness.Bus.Bus.Publish(command);
        await WaitUntilPendingAsync(harness);
        Assert.False(harness.Bus.Published.Select<ConnectTokenRedemptionFailed>().Any());
        await harness.Webhooks.HandleAsync(Read(WebhookJson.Created("evt-1", IntegrationId)), default);

        await Eventually.HoldsAsync(() => harness.Bus.Published.Select<IntegrationConnected>().Any(), "the redemption was settled");
        AssertConnectedOnce(harness, command);
        Assert.Equal(2, harness.Kombo.TokenCalls);
    }

    [Fact]
    public async Task Kill_between_kombo_answer_and_commit_is_settled_from_the_integration_created_already_received()
    {
        await using var harness = await StartAsync(WebhooksOn);
        var command = Redeem();
        var messageId = NewId.NextGuid();

        // What a worker killed after Kombo answered leaves behind: its attempt, and a token Kombo has spent. The
        // webhook, sent when the end user finished the flow, came in before.
        harness.Execute("""
            INSERT INTO token_redemption_attempts (token_hash, command_id, correlation_id, expected_end_user_origin_id, skip_origin_check, started_at)
            VALUES (@TokenHash, @CommandId, @CorrelationId, 'customer-1', FALSE, @Now)
            """, new { TokenHash = IntegrationStore.HashToken(Token), CommandId = messageId.ToString(), CorrelationId = command.CorrelationId.ToString(), Now = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() });
        harness.Kombo.AnswerToken(Token).Dispose();
        await harness.Webhooks.HandleAsync(Read(WebhookJson.Created("evt-1", IntegrationId)), default);

        await harness.Bus.Bus.Publish(command, context => context.MessageId = messageId);

        await Eventually.HoldsAsync(() => harness.Bus.Published.Select<IntegrationConnected>().Any()
            || harness.Bus.Published.Select<ConnectTokenRedemptionFailed>().Any(), "the redelivered redemption was answered");
        AssertConnectedOnce(harness, command);
        Assert.Equal(1, harness.Kombo.TokenCalls);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Redelivery_while_the_first_delivery_runs_waits_for_it_and_is_answered_by_its_commit(bool webhooks)
    {
        // Before the per-token lock, the second delivery called Kombo, heard "invalid" and, without webhooks, answered
        // outcome_unknown for the connection the first delivery was about to commit.
        await using var harness = await StartAsync(webhooks ? WebhooksOn : []);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = 0;
        harness.Kombo.RespondAsync = async (_, _) =>
        {
            if (Interlocked.Exchange(ref first, 1) != 0)
            {
                return null;
            }

            var answer = harness.Kombo.AnswerToken(Token);
            await release.Task;
            return answer;
        };
        var command = Redeem();
        var messageId = NewId.NextGuid();
        var locks = harness.Services.GetRequiredService<TokenLocks>();

        try
        {
            await harness.Bus.Bus.Publish(command, context => context.MessageId = messageId);
            await Eventually.HoldsAsync(() => harness.Kombo.TokenCalls == 1, "the first delivery is calling Kombo");
            await harness.Bus.Bus.Publish(command, context => context.MessageId = messageId);
            await Eventually.HoldsAsync(() => locks.UsersOf(IntegrationStore.HashToken(Token)) == 2, "the redelivery waits for the first delivery");
        }
        finally
        {
            // Never leave the first delivery hanging, or stopping the bus would wait for it.
            release.TrySetResult();
        }

        await Eventually.HoldsAsync(() => harness.Bus.Published.Select<IntegrationConnected>().Any(), "the redemption was answered");
        await Eventually.HoldsAsync(() => locks.UsersOf(IntegrationStore.HashToken(Token)) == 0, "both deliveries are done");
        AssertConnectedOnce(harness, command);
        Assert.Equal(1, harness.Kombo.TokenCalls);
    }

    [Fact]
    public async Task Uncertain_redemption_with_webhooks_off_is_answered_outcome_unknown_at_once()
    {
        await using var harness = await StartAsync([]);
        TimeOutAfterSpendingTheToken(harness);
        var command = Redeem();

        await harness.Bus.Bus.Publish(command);

        var failed = (await harness.Bus.Published.SelectAsync<ConnectTokenRedemptionFailed>().First()).Context.Message;
        Assert.Equal(FailureReasons.OutcomeUnknown, failed.Reason);
        Assert.Equal(command.CorrelationId, failed.CorrelationId);
        Assert.False(failed.Retryable);
    }

    [Fact]
    public async Task Pending_redemption_no_webhook_settles_is_answered_outcome_unknown_after_the_window()
    {
        await using var harness = await StartAsync(new(WebhooksOn) { ["Kombo:RedemptionSettleWindow"] = "00:00:00.500" });
        TimeOutAfterSpendingTheToken(harness);
        var command = Redeem();

        await harness.Bus.Bus.Publish(command);
        await WaitUntilPendingAsync(harness);

        await Eventually.HoldsAsync(() => harness.Bus.Published.Select<ConnectTokenRedemptionFailed>().Any(), "the sweeper answered");
        var failed = harness.Bus.Published.Select<ConnectTokenRedemptionFailed>().Single().Context.Message;
        Assert.Equal(FailureReasons.OutcomeUnknown, failed.Reason);
        Assert.Equal(command.CorrelationId, failed.CorrelationId);

        // A webhook arriving after the answer changes nothing for the command.
        await harness.Webhooks.HandleAsync(Read(WebhookJson.Created("evt-late", IntegrationId)), default);
        await harness.Bus.Published.Any<IntegrationCreated>();
        Assert.False(harness.Bus.Published.Select<IntegrationConnected>().Any());
    }

    [Fact]
    public async Task Webhook_of_another_end_user_does_not_settle_a_pending_redemption()
    {
        await using var harness = await StartAsync(WebhooksOn);
        TimeOutAfterSpendingTheToken(harness);

        await harness.Bus.Bus.Publish(Redeem());
        await WaitUntilPendingAsync(harness);
        await harness.Webhooks.HandleAsync(Read(WebhookJson.Created("evt-1", "personio:other", originId: "customer-2")), default);

        await harness.Bus.Published.Any<IntegrationCreated>();
        Assert.False(harness.Bus.Published.Select<IntegrationConnected>().Any());
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM token_redemption_attempts WHERE pending_since IS NOT NULL AND settled_at IS NULL"));
    }
}
