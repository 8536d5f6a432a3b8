using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.Tests.Support;
using MassTransit;
using MassTransit.Testing;

namespace Kombo.Worker.Tests.Connect;

/// <summary>
/// A storage failure after Kombo answered (<see cref="StorageOutage"/>: on SQLite SQLITE_BUSY past the busy timeout, on
/// PostgreSQL disk_full) makes the outer storage retry run the consumer again; it must commit the answer it has, not
/// ask again.
/// </summary>
public sealed class StorageRetryKeepsKomboAnswerTests
{
    private static readonly Dictionary<string, string?> ShortBusyTimeout = new()
    {
        ["Storage:BusyTimeout"] = "00:00:00.100",
        ["Messaging:StorageRetryMinDelay"] = "00:00:00.050",
        ["Messaging:StorageRetryMaxDelay"] = "00:00:00.100",
    };

    [Fact]
    public async Task Redemption_retried_for_storage_commits_the_answer_it_has_without_a_second_call()
    {
        await using var harness = await Harness.StartAsync(ShortBusyTimeout);
        harness.Kombo.SingleUseTokens = true;
        harness.Kombo.AddToken("token-1", "personio:abc", "customer-1");
        Task? held = null;
        harness.Kombo.Respond = _ =>
        {
            held ??= StorageOutage.For(harness, TimeSpan.FromSeconds(3));
            return null;
        };
        var command = new RedeemConnectToken { CorrelationId = NewId.NextGuid(), Token = "token-1", ExpectedEndUserOriginId = "customer-1" };

        await harness.Bus.Bus.Publish(command);

        await Eventually.HoldsAsync(() => harness.Bus.Published.Select<IntegrationConnected>().Any()
            || harness.Bus.Published.Select<ConnectTokenRedemptionFailed>().Any(), "the redemption was answered");
        Assert.NotNull(held);
        await held;
        Assert.False(harness.Bus.Published.Select<ConnectTokenRedemptionFailed>().Any());
        var connected = harness.Bus.Published.Select<IntegrationConnected>().Single().Context.Message;
        Assert.Equal(command.CorrelationId, connected.CorrelationId);
        Assert.Equal(1, harness.Kombo.TokenCalls);
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM integrations"));
    }

    [Fact]
    public async Task Link_creation_retried_for_storage_commits_the_link_it_has_without_minting_another()
    {
        await using var harness = await Harness.StartAsync(ShortBusyTimeout);
        Task? held = null;
        harness.Kombo.Respond = _ =>
        {
            held ??= StorageOutage.For(harness, TimeSpan.FromSeconds(3));
            return null;
        };
        var command = new CreateConnectLink
        {
            CorrelationId = NewId.NextGuid(),
            EndUserEmail = "admin@acme.test",
            EndUserOrganizationName = "Acme, Inc.",
            EndUserOriginId = "customer-1",
        };

        await harness.Bus.Bus.Publish(command);

        await Eventually.HoldsAsync(() => harness.Bus.Published.Select<LinkCreated>().Any(), "the link was published");
        Assert.NotNull(held);
        await held;
        Assert.Equal(command.CorrelationId, harness.Bus.Published.Select<LinkCreated>().Single().Context.Message.CorrelationId);
        Assert.Equal(1, harness.Kombo.CreateLinkCalls);
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM connect_links"));
    }
}
