using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.Tests.Support;
using MassTransit;

namespace Kombo.Worker.Tests.Connect;

/// <summary>One single-use token of customer-1, and the ways its redemption is made uncertain, for the redemption tests.</summary>
internal static class SingleUseTokenScenario
{
    public const string Token = "token-1";

    public static readonly Dictionary<string, string?> WebhooksOn = new() { ["Kombo:WebhookSecret"] = "whsec-test-0123456789" };

    public static RedeemConnectToken Redeem() => new()
    {
        CorrelationId = NewId.NextGuid(),
        Token = Token,
        ExpectedEndUserOriginId = "customer-1",
    };

    /// <summary>A harness whose Kombo knows <see cref="Token"/> as <paramref name="integrationId"/> of customer-1.</summary>
    public static async Task<Harness> StartAsync(Dictionary<string, string?> settings, string integrationId)
    {
        var harness = await Harness.StartAsync(settings);
        harness.Kombo.SingleUseTokens = true;
        harness.Kombo.AddToken(Token, integrationId, "customer-1");
        return harness;
    }

    /// <summary>The first attempt reaches Kombo (the token is spent) and then times out; later ones hear "invalid".</summary>
    public static void TimeOutAfterSpendingTheToken(Harness harness)
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

    public static Task WaitUntilPendingAsync(Harness harness) =>
        Eventually.HoldsAsync(
            () => harness.Count("SELECT COUNT(*) FROM token_redemption_attempts WHERE pending_since IS NOT NULL") == 1, "the redemption is pending");
}
