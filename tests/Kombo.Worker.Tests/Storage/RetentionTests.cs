using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.Connect.Redemption;
using Kombo.Worker.Outbox;
using Kombo.Worker.Tests.Support;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

using static Kombo.Worker.Tests.Connect.Webhooks.WebhookJsonReader;
using WebhookJson = Kombo.Worker.Tests.Connect.Webhooks.WebhookJson;

namespace Kombo.Worker.Tests.Storage;

/// <summary>
/// A year of traffic on a fake clock: every table the worker writes stays bounded by its retention, and a webhook
/// replayed after the inbox's window has no effect.
/// </summary>
public sealed class RetentionTests
{
    private static readonly TimeSpan Step = TimeSpan.FromDays(3);

    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["Kombo:WebhookSecret"] = "whsec-test-0123456789",
        // The test runs the cleanup and the sweeper itself after each step; the timers may run it too.
        ["Outbox:CleanupInterval"] = "1.00:00:00",
    };

    private static Task<Harness> StartAsync(FakeTimeProvider time) =>
        Harness.StartAsync(Settings, services => services.AddSingleton<TimeProvider>(time));

    [Fact]
    public async Task A_year_of_traffic_leaves_every_table_bounded_by_its_retention()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var harness = await StartAsync(time);
        var cleanup = harness.Services.GetRequiredService<OutboxCleanup>();
        var sweeper = harness.Services.GetRequiredService<PendingRedemptionSweeper>();
        var steps = (int)(TimeSpan.FromDays(365) / Step);

        for (var day = 0; day < steps; day++)
        {
            await OneDayOfTrafficAsync(harness, time, day);
            time.Advance(Step);
            await cleanup.CleanUpAsync(CancellationToken.None);
            await sweeper.SweepOnceAsync(CancellationToken.None);
        }

        // Each table holds at most what its retention spans (in steps, plus the one in flight), not a year of rows.
        AssertAtMost(harness, "connect_links", Within(TimeSpan.FromDays(7) + TimeSpan.FromHours(1)));
        AssertAtMost(harness, "reconnection_links", Within(TimeSpan.FromDays(7) + TimeSpan.FromHours(1)));
        AssertAtMost(harness, "integration_state_changes", Within(TimeSpan.FromDays(30)));
        AssertAtMost(harness, "integrations", Within(TimeSpan.FromDays(90)) * 2);
        AssertAtMost(harness, "webhook_receipts", Within(TimeSpan.FromDays(90)) * 4);
        AssertAtMost(harness, "inbox", Within(TimeSpan.FromDays(7)) * 8);
        AssertAtMost(harness, "token_redemptions", Within(TimeSpan.FromDays(7)));
        AssertAtMost(harness, "token_redemption_attempts", Within(TimeSpan.FromDays(1)));
        AssertAtMost(harness, "outbox", Within(TimeSpan.FromHours(1)) * 8);
        Assert.True(steps > 100, "the year has more steps than any bound above");
    }

    [Fact]
    public async Task A_webhook_replayed_after_the_inbox_window_has_no_effect()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var harness = await StartAsync(time);
        var flowFailed = WebhookJson.FlowFailed("evt-captured");
        await harness.Webhooks.HandleAsync(Read(flowFailed), default);
        await Eventually.HoldsAsync(() => harness.Bus.Published.Select<ConnectionFlowFailed>().Any(), "the flow failure was published");

        time.Advance(TimeSpan.FromDays(8));
        await harness.Services.GetRequiredService<OutboxCleanup>().CleanUpAsync(CancellationToken.None);
        Assert.Equal(0, harness.Count("SELECT COUNT(*) FROM inbox"));
        var handled = await harness.Webhooks.HandleAsync(Read(flowFailed), default);

        Assert.False(handled);
        Assert.Single(harness.Bus.Published.Select<ConnectionFlowFailed>());
    }

    // Not the harness's Any, which gives up after its inactivity timeout: a loaded machine may take longer.
    private static Task AnsweredAsync<T>(Harness harness, Guid correlationId, Func<T, Guid> correlationOf)
        where T : class =>
        Eventually.HoldsAsync(() => harness.Bus.Published.Select<T>(m => correlationOf(m.Context.Message) == correlationId).Any(),
            $"{typeof(T).Name} was published", TimeSpan.FromSeconds(30));

    private static int Within(TimeSpan retention) => (int)Math.Ceiling(retention / Step) + 1;

    private static void AssertAtMost(Harness harness, string table, int bound)
    {
        var rows = harness.Count($"SELECT COUNT(*) FROM {table}");
        Assert.True(rows <= bound, $"{table} holds {rows} rows after a year; its retention allows {bound}.");
    }

    /// <summary>A link, a redemption, a reconnection link and the four webhooks of an integration's life.</summary>
    private static async Task OneDayOfTrafficAsync(Harness harness, TimeProvider time, int day)
    {
        var originId = $"customer-{day}";
        var integrationId = $"personio:{day}";
        var link = new CreateConnectLink
        {
            CorrelationId = NewId.NextGuid(),
            EndUserEmail = "admin@acme.test",
            EndUserOrganizationName = "Acme, Inc.",
            EndUserOriginId = originId,
            IntegrationTool = "personio",
            LinkType = "EMBEDDED",
        };
        await harness.Bus.Bus.Publish(link);
        await AnsweredAsync<LinkCreated>(harness, link.CorrelationId, m => m.CorrelationId);

        harness.Kombo.AddToken($"token-{day}", integrationId, originId);
        var redeem = new RedeemConnectToken { CorrelationId = NewId.NextGuid(), Token = $"token-{day}", ExpectedEndUserOriginId = originId };
        await harness.Bus.Bus.Publish(redeem);
        await AnsweredAsync<IntegrationConnected>(harness, redeem.CorrelationId, m => m.CorrelationId);

        harness.Kombo.RelinkableIntegrations[integrationId] = true;
        var relink = new CreateReconnectionLink { CorrelationId = NewId.NextGuid(), IntegrationId = integrationId, Language = "de", LinkType = "EMBEDDED" };
        await harness.Bus.Bus.Publish(relink);
        await AnsweredAsync<ReconnectionLinkCreated>(harness, relink.CorrelationId, m => m.CorrelationId);

        await harness.Webhooks.HandleAsync(Read(WebhookJson.Created($"evt-created-{day}", integrationId, originId)), default);
        await harness.Webhooks.HandleAsync(Read(WebhookJson.StateChanged($"evt-state-{day}", integrationId, "INVALID", time.GetUtcNow(), originId)), default);
        await harness.Webhooks.HandleAsync(Read(WebhookJson.Deleted($"evt-deleted-{day}", integrationId, originId)), default);
        await harness.Webhooks.HandleAsync(Read(WebhookJson.FlowFailed($"evt-failed-{day}", originId)), default);
    }
}
