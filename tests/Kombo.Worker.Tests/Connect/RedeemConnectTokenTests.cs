using System.Text.Json;
using Dapper;
using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.Operations;
using Kombo.Worker.Tests.Support;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Kombo.Worker.Tests.Connect;

public sealed class RedeemConnectTokenTests
{
    private static RedeemConnectToken Redeem(string token, string? expectedOriginId = "customer-1") => new()
    {
        CorrelationId = NewId.NextGuid(),
        Token = token,
        ExpectedEndUserOriginId = expectedOriginId,
    };

    [Fact]
    public async Task Valid_token_records_the_integration_and_publishes_IntegrationConnected()
    {
        await using var harness = await Harness.StartAsync();
        harness.Kombo.AddToken("token-1", "personio:abc", "customer-1", setupStatus: "FINAL_SYNC_PENDING");
        var command = Redeem("token-1");

        await harness.Bus.Bus.Publish(command);

        var connected = (await harness.Bus.Published.SelectAsync<IntegrationConnected>().First()).Context.Message;
        Assert.Equal(command.CorrelationId, connected.CorrelationId);
        Assert.Equal("personio:abc", connected.IntegrationId);
        Assert.Equal("personio", connected.Tool);
        Assert.Equal("customer-1", connected.EndUserOriginId);
        Assert.Equal("Acme, Inc.", connected.EndUserOrganizationName);
        Assert.Equal("admin@acme.test", connected.EndUserEmail);
        Assert.Equal("FINAL_SYNC_PENDING", connected.SetupStatus);
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM integrations WHERE integration_id = 'personio:abc'"));
        Assert.Equal(0, harness.Count("SELECT COUNT(*) FROM token_redemptions WHERE token_hash = 'token-1'"));
    }

    [Fact]
    public async Task Integration_of_another_end_user_is_refused_and_announced_to_no_one()
    {
        await using var harness = await Harness.StartAsync();
        harness.Kombo.AddToken("token-1", "personio:abc", "customer-2");

        await harness.Bus.Bus.Publish(Redeem("token-1", expectedOriginId: "customer-1"));

        var failed = (await harness.Bus.Published.SelectAsync<ConnectTokenRedemptionFailed>().First()).Context.Message;
        Assert.Equal(FailureReasons.OriginMismatch, failed.Reason);
        Assert.Equal("customer-1", failed.ExpectedEndUserOriginId);
        Assert.False(harness.Bus.Published.Select<IntegrationConnected>().Any());
        Assert.Equal(0, harness.Count("SELECT COUNT(*) FROM outbox WHERE message_type = 'IntegrationConnected'"));
    }

    [Fact]
    public async Task Integration_without_an_origin_id_is_refused_when_one_is_expected()
    {
        await using var harness = await Harness.StartAsync();
        harness.Kombo.AddToken("token-1", "personio:abc", originId: null);

        await harness.Bus.Bus.Publish(Redeem("token-1", expectedOriginId: "customer-1"));

        var failed = (await harness.Bus.Published.SelectAsync<ConnectTokenRedemptionFailed>().First()).Context.Message;
        Assert.Equal(FailureReasons.OriginMismatch, failed.Reason);
        Assert.Equal(0, harness.Count("SELECT COUNT(*) FROM outbox WHERE message_type = 'IntegrationConnected'"));
    }

    [Fact]
    public async Task Single_use_token_spent_by_a_wrong_origin_still_answers_its_rightful_redemption_from_the_store()
    {
        await using var harness = await Harness.StartAsync();
        harness.Kombo.SingleUseTokens = true;
        harness.Kombo.AddToken("token-1", "personio:abc", "customer-2");
        await harness.Bus.Bus.Publish(Redeem("token-1", expectedOriginId: "customer-1"));
        await Eventually.HoldsAsync(() => harness.Bus.Published.Select<ConnectTokenRedemptionFailed>().Any(), "the wrong redemption was refused");
        var rightful = Redeem("token-1", expectedOriginId: "customer-2");

        await harness.Bus.Bus.Publish(rightful);

        var connected = (await harness.Bus.Published.SelectAsync<IntegrationConnected>().First()).Context.Message;
        Assert.Equal(rightful.CorrelationId, connected.CorrelationId);
        Assert.Equal("personio:abc", connected.IntegrationId);
        Assert.True(connected.OriginVerified);
        Assert.Equal(1, harness.Kombo.TokenCalls);
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM integrations"));
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM outbox WHERE message_type = 'IntegrationConnected'"));
    }

    [Fact]
    public async Task Missing_expected_origin_is_an_invalid_request_unless_the_check_is_skipped()
    {
        await using var harness = await Harness.StartAsync();
        harness.Kombo.AddToken("token-1", "personio:abc", "customer-1");

        await harness.Bus.Bus.Publish(Redeem("token-1", expectedOriginId: null));
        var failed = (await harness.Bus.Published.SelectAsync<ConnectTokenRedemptionFailed>().First()).Context.Message;
        Assert.Equal(FailureReasons.InvalidRequest, failed.Reason);
        Assert.Equal(0, harness.Kombo.TokenCalls);

        var skipping = Redeem("token-1", expectedOriginId: null) with { SkipOriginCheck = true };
        await harness.Bus.Bus.Publish(skipping);
        var connected = (await harness.Bus.Published.SelectAsync<IntegrationConnected>().First()).Context.Message;
        Assert.Equal(skipping.CorrelationId, connected.CorrelationId);
        Assert.False(connected.OriginVerified);
    }

    [Fact]
    public async Task Redemption_for_an_end_user_who_has_the_tool_already_names_the_other_integration()
    {
        await using var harness = await Harness.StartAsync();
        harness.Kombo.AddToken("token-1", "personio:first", "customer-1");
        harness.Kombo.AddToken("token-2", "personio:second", "customer-1");
        await harness.Bus.Bus.Publish(Redeem("token-1"));
        await Eventually.HoldsAsync(() => harness.Bus.Published.Select<IntegrationConnected>().Any(), "the first redemption was published");
        using var listener = new MeterReadings(harness.Services.GetRequiredService<WorkerMetrics>().Meter);

        await harness.Bus.Bus.Publish(Redeem("token-2"));

        await Eventually.HoldsAsync(() => harness.Bus.Published.Select<IntegrationConnected>().Count() == 2, "the second redemption was published");
        var second = harness.Bus.Published.Select<IntegrationConnected>().Select(m => m.Context.Message).Single(m => m.IntegrationId == "personio:second");
        Assert.Equal(["personio:first"], second.AlsoConnectedIntegrationIds);
        Assert.True(second.OriginVerified);
        Assert.Equal(1, listener.Sum("kombo.worker.integrations.duplicates"));
    }

    [Theory]
    [InlineData(401, "PLATFORM.AUTHENTICATION_INVALID")]
    [InlineData(403, "PLATFORM.IP_NOT_WHITELISTED")]
    public async Task Rejected_api_key_is_answered_kombo_unauthorized_and_retryable(int status, string code)
    {
        await using var harness = await Harness.StartAsync();
        harness.Kombo.Respond = request => request.RequestUri!.AbsolutePath.Contains("by-token", StringComparison.Ordinal)
            ? FakeKombo.Error((System.Net.HttpStatusCode)status, code)
            : null;

        await harness.Bus.Bus.Publish(Redeem("token-1"));

        var failed = (await harness.Bus.Published.SelectAsync<ConnectTokenRedemptionFailed>().First()).Context.Message;
        Assert.Equal(FailureReasons.KomboUnauthorized, failed.Reason);
        Assert.True(failed.Retryable);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(404)]
    [InlineData(410)]
    public async Task Error_without_a_code_is_kombo_rejected_not_blamed_on_the_token(int status)
    {
        await using var harness = await Harness.StartAsync();
        harness.Kombo.Respond = request => request.RequestUri!.AbsolutePath.Contains("by-token", StringComparison.Ordinal)
            ? FakeKombo.PlainText((System.Net.HttpStatusCode)status, "<html>Not here</html>")
            : null;

        await harness.Bus.Bus.Publish(Redeem("token-1"));

        var failed = (await harness.Bus.Published.SelectAsync<ConnectTokenRedemptionFailed>().First()).Context.Message;
        Assert.Equal(FailureReasons.KomboRejected, failed.Reason);
        Assert.False(failed.Retryable);
    }

    [Fact]
    public async Task Unknown_token_is_answered_with_token_invalid_or_expired()
    {
        await using var harness = await Harness.StartAsync();

        await harness.Bus.Bus.Publish(Redeem("no-such-token"));

        var failed = (await harness.Bus.Published.SelectAsync<ConnectTokenRedemptionFailed>().First()).Context.Message;
        Assert.Equal(FailureReasons.TokenInvalidOrExpired, failed.Reason);
        Assert.Equal("PLATFORM.INPUT_INVALID", failed.KomboErrorCode);
        Assert.False(failed.Retryable);
    }

    [Fact]
    public async Task Empty_token_is_answered_with_invalid_request_without_calling_kombo()
    {
        await using var harness = await Harness.StartAsync();

        await harness.Bus.Bus.Publish(Redeem(" "));

        var failed = (await harness.Bus.Published.SelectAsync<ConnectTokenRedemptionFailed>().First()).Context.Message;
        Assert.Equal(FailureReasons.InvalidRequest, failed.Reason);
        Assert.Equal(0, harness.Kombo.TokenCalls);
    }

    [Fact]
    public async Task Token_redeemed_twice_is_answered_from_the_store_with_the_same_event_id()
    {
        await using var harness = await Harness.StartAsync();
        harness.Kombo.AddToken("token-1", "personio:abc", "customer-1");
        var first = Redeem("token-1");
        var second = Redeem("token-1");

        await harness.Bus.Bus.Publish(first);
        await Eventually.HoldsAsync(() => harness.Bus.Published.Select<IntegrationConnected>().Count() == 1, "the first redemption was published");
        await harness.Bus.Bus.Publish(second);
        await Eventually.HoldsAsync(
            () => harness.Count("SELECT COUNT(*) FROM outbox WHERE message_type = 'IntegrationConnected' AND sent_at IS NOT NULL") == 2,
            "the second redemption was answered");

        Assert.Equal(1, harness.Count("SELECT COUNT(DISTINCT message_id) FROM outbox WHERE message_type = 'IntegrationConnected'"));
        using (var connection = harness.OpenDatabase())
        {
            var bodies = connection.Query<string>("SELECT body FROM outbox WHERE message_type = 'IntegrationConnected'")
                .Select(body => JsonDocument.Parse(body).RootElement).ToList();
            Assert.Single(bodies.Select(body => body.GetProperty("connectedAt").GetString()).Distinct());
            Assert.Equal(2, bodies.Select(body => body.GetProperty("correlationId").GetString()).Distinct().Count());
        }

        Assert.Equal(1, harness.Kombo.TokenCalls);
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM integrations"));
    }

    [Fact]
    public async Task Replayed_token_with_another_expected_origin_is_refused()
    {
        await using var harness = await Harness.StartAsync();
        harness.Kombo.AddToken("token-1", "personio:abc", "customer-1");

        await harness.Bus.Bus.Publish(Redeem("token-1"));
        await Eventually.HoldsAsync(() => harness.Bus.Published.Select<IntegrationConnected>().Any(), "the first redemption was published");
        await harness.Bus.Bus.Publish(Redeem("token-1", expectedOriginId: "customer-2"));

        var failed = (await harness.Bus.Published.SelectAsync<ConnectTokenRedemptionFailed>().First()).Context.Message;
        Assert.Equal(FailureReasons.OriginMismatch, failed.Reason);
    }

    [Fact]
    public async Task Activate_integration_is_used_when_configured()
    {
        await using var harness = await Harness.StartAsync(new() { ["Kombo:UseActivateIntegration"] = "true" });
        harness.Kombo.AddToken("token-1", "personio:abc", "customer-1");
        string? path = null;
        harness.Kombo.Respond = request =>
        {
            path = request.RequestUri!.AbsolutePath;
            return null;
        };

        await harness.Bus.Bus.Publish(Redeem("token-1"));

        Assert.True(await harness.Bus.Published.Any<IntegrationConnected>());
        Assert.EndsWith("/connect/activate-integration", path, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Request_client_gets_IntegrationConnected_as_its_response()
    {
        await using var harness = await Harness.StartAsync();
        harness.Kombo.AddToken("token-1", "personio:abc", "customer-1");
        var client = harness.Bus.GetRequestClient<RedeemConnectToken>();

        var response = await client.GetResponse<IntegrationConnected, ConnectTokenRedemptionFailed>(Redeem("token-1"));

        Assert.True(response.Is(out Response<IntegrationConnected>? connected));
        Assert.Equal("personio:abc", connected!.Message.IntegrationId);
    }
}
