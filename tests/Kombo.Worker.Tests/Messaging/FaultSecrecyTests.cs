using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.Tests.Support;
using MassTransit;
using MassTransit.Testing;

namespace Kombo.Worker.Tests.Messaging;

/// <summary>A command that fails for good goes to its _error queue only: no Fault&lt;T&gt; copies its token to subscribers.</summary>
public sealed class FaultSecrecyTests
{
    [Fact]
    public async Task Redemption_that_faults_publishes_no_fault_holding_its_token()
    {
        await using var harness = await Harness.StartAsync();
        harness.Kombo.AddToken("token-secret-1", "personio:abc", "customer-1");
        harness.FailWrites("fail_integration", "BEFORE INSERT", "integrations", "injected: a bug in the worker");

        await harness.Bus.Bus.Publish(new RedeemConnectToken
        {
            CorrelationId = NewId.NextGuid(),
            Token = "token-secret-1",
            ExpectedEndUserOriginId = "customer-1",
        });

        await Eventually.HoldsAsync(() => harness.Bus.Consumed.Select<RedeemConnectToken>(c => c.Exception is not null).Any(), "the command faulted");
        await harness.Bus.InactivityTask;
        Assert.False(await harness.Bus.Published.Any<Fault<RedeemConnectToken>>());
        Assert.False(harness.Bus.Sent.Select<Fault<RedeemConnectToken>>().Any());
        Assert.Equal(0, harness.Count("SELECT COUNT(*) FROM integrations"));
    }
}
