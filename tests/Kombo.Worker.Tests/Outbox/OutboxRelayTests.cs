using Dapper;
using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;
using Kombo.Worker.Tests.Support;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Kombo.Worker.Tests.Outbox;

public sealed class OutboxRelayTests
{
    private static OutgoingMessage Event(int number, string? orderingKey = null, string? type = null)
    {
        var correlationId = NewId.NextGuid();
        var message = new LinkCreated { CorrelationId = correlationId, Link = $"https://connect.kombo.test/{number}", LinkType = "EMBEDDED" };
        return new OutgoingMessage(NewId.NextGuid(), type ?? nameof(LinkCreated), OutboxMessageTypes.Serialize(message),
            correlationId, null, null, null, null, orderingKey);
    }

    private static async Task AppendAsync(Harness harness, params OutgoingMessage[] messages)
    {
        var writer = harness.Writer;
        await writer.WriteAsync((connection, transaction) =>
        {
            OutboxStore.Append(connection, transaction, messages, TimeProvider.System.GetUtcNow());
            return true;
        });
        harness.Services.GetRequiredService<OutboxSignal>().Notify();
    }

    /// <summary>Commits rows the way <see cref="TransactionalOutbox"/> does: handed to the relay as they commit.</summary>
    private static Task CommitAsync(Harness harness, params OutgoingMessage[] messages) =>
        harness.Writer.WriteAsync(
            (connection, transaction) => OutboxStore.Append(connection, transaction, messages, TimeProvider.System.GetUtcNow()),
            committed: harness.Services.GetRequiredService<RelayQueue>().Add);

    [Fact]
    public async Task With_one_lane_every_event_is_published_in_commit_order_with_its_stored_ids()
    {
        await using var harness = await Harness.StartAsync(new() { ["Outbox:PublishLanes"] = "1" });
        var messages = Enumerable.Range(0, 200).Select(i => Event(i)).ToArray();

        await AppendAsync(harness, messages);

        await Eventually.HoldsAsync(() => harness.Bus.Published.Select<LinkCreated>().Count() == messages.Length, "every row was published");
        var published = harness.Bus.Published.Select<LinkCreated>().ToList();
        Assert.Equal(messages.Select(m => m.MessageId), published.Select(p => p.Context.MessageId!.Value));
        Assert.Equal(messages.Select(m => m.CorrelationId), published.Select(p => p.Context.CorrelationId!.Value));
        await Eventually.HoldsAsync(() => harness.Count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL") == 0, "every row was marked sent");
    }

    /// <remarks>
    /// Not the proof of the lanes: the in-memory transport completes publishes in the order they start, so this would
    /// pass without them. WorkerOnBrokerTests.Relay_keeps_each_end_users_commit_order_on_the_broker is the proof, and
    /// KillTests checks the same order across kills.
    /// </remarks>
    [Fact]
    public async Task With_many_lanes_each_end_users_events_keep_their_commit_order()
    {
        await using var harness = await Harness.StartAsync(new() { ["Outbox:PublishLanes"] = "8" });
        var messages = Enumerable.Range(0, 300).Select(i => Event(i, orderingKey: $"customer-{i % 7}")).ToArray();

        await AppendAsync(harness, messages);

        await Eventually.HoldsAsync(() => harness.Bus.Published.Select<LinkCreated>().Count() == messages.Length, "every row was published");
        var order = harness.Bus.Published.Select<LinkCreated>().Select(p => p.Context.MessageId!.Value).ToList();
        foreach (var endUser in messages.GroupBy(m => m.OrderingKey))
        {
            var committed = endUser.Select(m => m.MessageId).ToList();
            Assert.Equal(committed, order.Where(committed.Contains));
        }
    }

    [Fact]
    public async Task Rows_handed_over_while_the_table_is_swept_are_published_once_each_in_commit_order()
    {
        // Small rounds and a 10 ms poll interval: the relay sweeps the table again and again while rows are handed over.
        await using var harness = await Harness.StartAsync(new() { ["Outbox:PollInterval"] = "00:00:00.010", ["Outbox:BatchSize"] = "7" });
        var publishes = new PublishCounter();
        using var observer = harness.Bus.Bus.ConnectPublishObserver(publishes);
        var messages = Enumerable.Range(0, 600).Select(i => Event(i, orderingKey: $"customer-{i % 5}")).ToArray();

        // Each end user's commits one after the other, the five end users' at once: on PostgreSQL the sequence is taken
        // at insert, so only commits that follow each other have an order to keep, and the sequence shows it.
        await Task.WhenAll(messages.GroupBy(m => m.OrderingKey).Select(async endUser =>
        {
            foreach (var chunk in endUser.Chunk(3))
            {
                await CommitAsync(harness, chunk);
            }
        }));

        await Eventually.HoldsAsync(() => harness.Count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL") == 0, "every row was marked sent");
        Assert.Equal(messages.Length, publishes.Count);
        var order = harness.Bus.Published.Select<LinkCreated>().Select(p => p.Context.MessageId!.Value.ToString()).ToList();
        using var connection = harness.OpenDatabase();
        foreach (var endUser in messages.Select(m => m.OrderingKey).Distinct())
        {
            var committed = connection.Query<string>(
                "SELECT message_id FROM outbox WHERE ordering_key = @EndUser ORDER BY sequence", new { EndUser = endUser }).ToList();
            Assert.Equal(committed, order.Where(committed.Contains));
        }
    }

    [Fact]
    public async Task Handed_over_row_waits_behind_an_earlier_parked_row_of_its_end_user()
    {
        // No sweep for ten minutes once the poison row is parked: only the handover can bring the later rows.
        await using var harness = await Harness.StartAsync(new() { ["Outbox:PollInterval"] = "00:10:00" });
        var poison = Event(0, orderingKey: "customer-1", type: "NoSuchMessage");
        await CommitAsync(harness, poison);
        await Eventually.HoldsAsync(() => harness.Count("SELECT COUNT(*) FROM outbox WHERE parked_at IS NOT NULL") == 1, "the poison row was parked");

        var sameEndUser = Event(1, orderingKey: "customer-1");
        var otherEndUser = Event(2, orderingKey: "customer-2");
        await CommitAsync(harness, sameEndUser, otherEndUser);

        await Eventually.HoldsAsync(() => harness.Bus.Published.Select<LinkCreated>().Any(), "the other end user's row was published");
        Assert.Equal([otherEndUser.MessageId], harness.Bus.Published.Select<LinkCreated>().Select(p => p.Context.MessageId!.Value));
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND parked_at IS NULL"));
    }

    [Fact]
    public async Task Row_that_always_fails_is_parked_after_max_attempts_and_the_rows_behind_it_still_go_out()
    {
        await using var harness = await Harness.StartAsync();
        var poison = Event(0, type: "NoSuchMessage");
        var behind = Enumerable.Range(1, 5).Select(i => Event(i)).ToArray();

        await AppendAsync(harness, [poison, .. behind]);

        await Eventually.HoldsAsync(() => harness.Count("SELECT COUNT(*) FROM outbox WHERE parked_at IS NOT NULL") == 1, "the poison row was parked");
        Assert.Equal(3, harness.Count("SELECT attempts FROM outbox WHERE message_id = @Id", new { Id = poison.MessageId.ToString() }));
        Assert.Contains("NoSuchMessage", LastError(harness, poison), StringComparison.Ordinal);
        await Eventually.HoldsAsync(() => harness.Bus.Published.Select<LinkCreated>().Count() == behind.Length, "the rows behind it were published");
    }

    [Fact]
    public async Task Parked_row_holds_back_later_rows_of_the_same_end_user_only()
    {
        await using var harness = await Harness.StartAsync();
        var poison = Event(0, orderingKey: "customer-1", type: "NoSuchMessage");
        var sameEndUser = Event(1, orderingKey: "customer-1");
        var otherEndUser = Event(2, orderingKey: "customer-2");

        await AppendAsync(harness, poison, sameEndUser, otherEndUser);

        await Eventually.HoldsAsync(() => harness.Count("SELECT COUNT(*) FROM outbox WHERE parked_at IS NOT NULL") == 1, "the poison row was parked");
        await Eventually.HoldsAsync(() => harness.Bus.Published.Select<LinkCreated>().Any(), "the other end user's row was published");
        await harness.StopRelayAsync();
        // A queue of the test's own, which only sweeps the table: nothing hands it rows.
        Assert.Empty(await ActivatorUtilities.CreateInstance<RelayQueue>(harness.Services).NextBatchAsync());
        var published = harness.Bus.Published.Select<LinkCreated>().Select(p => p.Context.MessageId).ToList();
        Assert.Equal([otherEndUser.MessageId], published.Select(id => id!.Value));
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND parked_at IS NULL"));
    }

    [Fact]
    public async Task Rows_whose_sent_mark_fails_are_marked_again_and_never_published_again()
    {
        await using var harness = await Harness.StartAsync();
        var publishes = new PublishCounter();
        using var observer = harness.Bus.Bus.ConnectPublishObserver(publishes);
        var failingMark = harness.FailWrites("fail_mark", "BEFORE UPDATE OF sent_at", "outbox", "injected: disk full");
        var messages = Enumerable.Range(0, 20).Select(i => Event(i)).ToArray();

        await AppendAsync(harness, messages);
        await Eventually.HoldsAsync(() => publishes.Count == messages.Length, "every row was published once");
        await Task.Delay(TimeSpan.FromMilliseconds(500)); // ten poll intervals of the harness, each a failed mark
        Assert.Equal(messages.Length, harness.Count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL"));

        failingMark.Remove();
        await Eventually.HoldsAsync(() => harness.Count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL") == 0, "every row was marked sent");
        Assert.Equal(messages.Length, publishes.Count);
    }

    [Fact]
    public async Task Cleanup_deletes_sent_rows_and_inbox_rows_past_their_retention_and_nothing_else()
    {
        await using var harness = await Harness.StartAsync(new()
        {
            ["Outbox:SentRetention"] = "00:00:00",
            ["Outbox:InboxRetention"] = "00:01:00",
            ["Outbox:CleanupBatchSize"] = "2",
        });
        await AppendAsync(harness, Event(1), Event(2), Event(3));
        await Eventually.HoldsAsync(() => harness.Count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL") == 3, "the rows were sent");
        await harness.StopRelayAsync();

        // Rows cleanup must leave alone, all as old as the deleted ones: pending, backing off, parked, fresh redemptions.
        harness.Execute("""
            INSERT INTO outbox (message_id, message_type, body, correlation_id, created_at, next_attempt_at, attempts, last_error, parked_at)
            VALUES ('pending', 'LinkCreated', '{}', 'c', 0, 0, 0, NULL, NULL),
                   ('backing-off', 'LinkCreated', '{}', 'c', 0, 9999999999999, 2, 'x', NULL),
                   ('parked', 'LinkCreated', '{}', 'c', 0, 0, 10, 'x', 1)
            """);
        harness.Execute("INSERT INTO inbox VALUES ('old', 'c', 'x', 'succeeded', 0), ('new', 'c', 'x', 'succeeded', @Now)",
            new { Now = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() });
        harness.Execute("""
            INSERT INTO integrations (integration_id, tool, end_user_origin_id, end_user_organization_name, end_user_email, setup_status, connected_at, updated_at) VALUES ('i-1', 'personio', 'customer-1', 'Acme', NULL, 'COMPLETED', 0, 0);
            INSERT INTO token_redemptions VALUES ('old-token', 'i-1', 'e-1', 0), ('new-token', 'i-1', 'e-2', @Now);
            """, new { Now = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() });

        var result = await harness.Services.GetRequiredService<OutboxCleanup>().CleanUpAsync(CancellationToken.None);

        Assert.Equal(3, result.SentRowsDeleted);
        Assert.Equal(1, result.InboxRowsDeleted);
        using var connection = harness.OpenDatabase();
        Assert.Equal(["backing-off", "parked", "pending"], connection.Query<string>("SELECT message_id FROM outbox ORDER BY message_id"));
        Assert.Equal(["new"], connection.Query<string>("SELECT message_id FROM inbox"));
        Assert.Equal(["new-token"], connection.Query<string>("SELECT token_hash FROM token_redemptions"));
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM integrations"));
    }

    private static string LastError(Harness harness, OutgoingMessage message)
    {
        using var connection = harness.OpenDatabase();
        return connection.ExecuteScalar<string>("SELECT last_error FROM outbox WHERE message_id = @Id", new { Id = message.MessageId.ToString() })!;
    }
}

/// <summary>Counts every publish, repeats included (the harness's lists keep one entry per message id).</summary>
internal sealed class PublishCounter : IPublishObserver
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public Task PrePublish<T>(PublishContext<T> context) where T : class => Task.CompletedTask;

    public Task PostPublish<T>(PublishContext<T> context) where T : class
    {
        Interlocked.Increment(ref _count);
        return Task.CompletedTask;
    }

    public Task PublishFault<T>(PublishContext<T> context, Exception exception) where T : class => Task.CompletedTask;
}
