using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.Connect;
using Kombo.Worker.Connect.Webhooks;
using Kombo.Worker.Tests.Support;
using MassTransit.Testing;

namespace Kombo.Worker.Tests.Connect.Webhooks;

public sealed class IntegrationLifecycleTests
{
    private static KomboWebhook Read(string json) => WebhookJsonReader.Read(json);

    private static async Task<IReadOnlyList<T>> PublishedAsync<T>(Harness harness, int atLeast)
        where T : class
    {
        await Eventually.HoldsAsync(() => harness.Bus.Published.Select<T>().Count() >= atLeast, $"{atLeast} {typeof(T).Name} published");
        return harness.Bus.Published.Select<T>().Select(m => m.Context.Message).ToList();
    }

    [Fact]
    public async Task Integration_created_is_announced_once_and_joins_the_duplicate_guard()
    {
        await using var harness = await Harness.StartAsync();

        Assert.True(await harness.Webhooks.HandleAsync(Read(WebhookJson.Created("evt-1", "personio:A")), default));
        Assert.False(await harness.Webhooks.HandleAsync(Read(WebhookJson.Created("evt-1", "personio:A")), default));
        // Kombo reporting the same integration under another event id still announces it once.
        Assert.True(await harness.Webhooks.HandleAsync(Read(WebhookJson.Created("evt-2", "personio:A")), default));

        var created = Assert.Single(await PublishedAsync<IntegrationCreated>(harness, 1));
        Assert.Equal("personio:A", created.IntegrationId);
        Assert.Equal("HRIS", created.Category);
        Assert.Equal("customer-1", created.EndUserOriginId);
        Assert.Empty(created.AlsoConnectedIntegrationIds);
        var message = harness.Bus.Published.Select<IntegrationCreated>().Single().Context;
        Assert.Equal(WebhookIds.OfIntegrationEvent("personio:A", nameof(IntegrationCreated)), message.MessageId);

        using var connection = harness.OpenDatabase();
        Assert.Equal(["personio:A"], IntegrationStore.ConnectedIntegrationIds(connection, "customer-1", "personio"));
        await harness.Webhooks.HandleAsync(Read(WebhookJson.FlowFailed("evt-3")), default);
        await PublishedAsync<ConnectionFlowFailed>(harness, 1);
        Assert.Single(harness.Bus.Published.Select<IntegrationCreated>());
    }

    [Fact]
    public async Task Second_integration_of_the_same_tool_is_announced_with_the_others_named()
    {
        await using var harness = await Harness.StartAsync();

        await harness.Webhooks.HandleAsync(Read(WebhookJson.Created("evt-1", "personio:A")), default);
        await harness.Webhooks.HandleAsync(Read(WebhookJson.Created("evt-2", "personio:B")), default);

        var created = await PublishedAsync<IntegrationCreated>(harness, 2);
        Assert.Equal(["personio:A"], created.Single(c => c.IntegrationId == "personio:B").AlsoConnectedIntegrationIds);
    }

    [Fact]
    public async Task Deleted_integration_is_forgotten_by_the_guard_and_announced_once()
    {
        await using var harness = await Harness.StartAsync();
        await harness.Webhooks.HandleAsync(Read(WebhookJson.Created("evt-1", "personio:A")), default);

        await harness.Webhooks.HandleAsync(Read(WebhookJson.Deleted("evt-2", "personio:A")), default);
        await harness.Webhooks.HandleAsync(Read(WebhookJson.Deleted("evt-3", "personio:A")), default);

        var deleted = Assert.Single(await PublishedAsync<IntegrationDeleted>(harness, 1));
        Assert.Equal("personio:A", deleted.IntegrationId);
        using var connection = harness.OpenDatabase();
        Assert.Empty(IntegrationStore.ConnectedIntegrationIds(connection, "customer-1", "personio"));
    }

    [Fact]
    public async Task Created_delivered_after_its_deletion_announces_nothing_and_connects_nothing()
    {
        await using var harness = await Harness.StartAsync();

        await harness.Webhooks.HandleAsync(Read(WebhookJson.Deleted("evt-2", "personio:A")), default);
        await harness.Webhooks.HandleAsync(Read(WebhookJson.Created("evt-1", "personio:A")), default);
        await harness.Webhooks.HandleAsync(Read(WebhookJson.FlowFailed("evt-3")), default);

        // Events of one end user leave in commit order: once the last one is out, the created one would have been too.
        await PublishedAsync<ConnectionFlowFailed>(harness, 1);
        Assert.Empty(harness.Bus.Published.Select<IntegrationCreated>());
        using var connection = harness.OpenDatabase();
        Assert.Empty(IntegrationStore.ConnectedIntegrationIds(connection, "customer-1", "personio"));
    }

    [Fact]
    public async Task Older_state_change_is_recorded_but_neither_applied_nor_published()
    {
        await using var harness = await Harness.StartAsync();
        var noon = new DateTimeOffset(2026, 5, 1, 12, 0, 0, TimeSpan.Zero);
        await harness.Webhooks.HandleAsync(Read(WebhookJson.Created("evt-1", "personio:A")), default);

        await harness.Webhooks.HandleAsync(Read(WebhookJson.StateChanged("evt-2", "personio:A", "INVALID", noon)), default);
        await harness.Webhooks.HandleAsync(Read(WebhookJson.StateChanged("evt-3", "personio:A", "ACTIVE", noon.AddMinutes(-5))), default);
        await harness.Webhooks.HandleAsync(Read(WebhookJson.FlowFailed("evt-4")), default);

        await PublishedAsync<ConnectionFlowFailed>(harness, 1);
        var changed = Assert.Single(harness.Bus.Published.Select<IntegrationStateChanged>()).Context.Message;
        Assert.Equal("INVALID", changed.State);
        Assert.Equal(noon, changed.UpdatedAt);
        Assert.Equal(2, harness.Count("SELECT COUNT(*) FROM integration_state_changes"));
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM integration_state_changes WHERE applied = TRUE"));
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM integrations WHERE state = 'INVALID'"));
    }

    [Fact]
    public async Task State_change_of_an_integration_never_seen_records_it_and_is_published()
    {
        await using var harness = await Harness.StartAsync();

        await harness.Webhooks.HandleAsync(Read(WebhookJson.StateChanged("evt-1", "personio:Z", "ACTIVE", DateTimeOffset.UnixEpoch.AddYears(56))), default);

        Assert.Single(await PublishedAsync<IntegrationStateChanged>(harness, 1));
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM integrations WHERE integration_id = 'personio:Z' AND state = 'ACTIVE'"));
    }

    [Fact]
    public async Task Lifecycle_events_of_one_end_user_leave_in_the_order_kombo_sent_them()
    {
        await using var harness = await Harness.StartAsync();
        var at = new DateTimeOffset(2026, 5, 1, 12, 0, 0, TimeSpan.Zero);

        await harness.Webhooks.HandleAsync(Read(WebhookJson.Created("evt-1", "personio:A")), default);
        await harness.Webhooks.HandleAsync(Read(WebhookJson.StateChanged("evt-2", "personio:A", "INVALID", at)), default);
        await harness.Webhooks.HandleAsync(Read(WebhookJson.Deleted("evt-3", "personio:A")), default);

        await PublishedAsync<IntegrationDeleted>(harness, 1);
        var order = harness.Bus.Published.Select(m => m.MessageType == typeof(IntegrationCreated) || m.MessageType == typeof(IntegrationStateChanged) || m.MessageType == typeof(IntegrationDeleted))
            .Select(m => m.MessageType.Name).ToList();
        Assert.Equal([nameof(IntegrationCreated), nameof(IntegrationStateChanged), nameof(IntegrationDeleted)], order);
    }
}
