using Dapper;
using Kombo.Contracts;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;
using Kombo.Worker.Tests.Support;
using MassTransit;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Kombo.Worker.Tests.Outbox;

/// <summary>The queue's invariants (its class summary), driven directly on a database of the test's own: no relay runs.</summary>
public sealed class RelayQueueTests : IAsyncLifetime
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    private readonly OutboxDatabase _db = new();
    private readonly FakeTimeProvider _clock = new();
    private IDatabaseWriter _writer = null!;

    public Task InitializeAsync()
    {
        _writer = _db.NewWriter();
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        _db.Dispose();
        return Task.CompletedTask;
    }

    private RelayQueue Queue(int batchSize = 100, IDatabaseWriter? writer = null) => new(
        _db.Database, writer ?? _writer, new AllOutboxPartitions(), new OutboxSignal(),
        Options.Create(new OutboxOptions { BatchSize = batchSize, PollInterval = PollInterval }),
        _clock, NullLogger<RelayQueue>.Instance);

    private static OutgoingMessage Event(string? orderingKey = null)
    {
        var correlationId = NewId.NextGuid();
        var message = new LinkCreated { CorrelationId = correlationId, Link = "https://connect.kombo.test/1", LinkType = "EMBEDDED" };
        return new OutgoingMessage(NewId.NextGuid(), nameof(LinkCreated), OutboxMessageTypes.Serialize(message),
            correlationId, null, null, null, null, orderingKey);
    }

    private static OutgoingMessage[] Events(int count, string? orderingKey = null) =>
        [.. Enumerable.Range(0, count).Select(_ => Event(orderingKey))];

    /// <summary>Commits rows; with a queue, hands them over the way <see cref="TransactionalOutbox"/> does.</summary>
    private Task<IReadOnlyList<PendingMessage>> CommitAsync(RelayQueue? handOverTo, params OutgoingMessage[] messages) =>
        _writer.WriteAsync(
            (connection, transaction) => OutboxStore.Append(connection, transaction, messages, _clock.GetUtcNow()),
            committed: handOverTo is null ? null : handOverTo.Add);

    private static async Task<long[]> NextAsync(RelayQueue queue) =>
        [.. (await queue.NextBatchAsync()).Select(row => row.Sequence)];

    private static long[] Sequences(IEnumerable<PendingMessage> rows) => [.. rows.Select(row => row.Sequence)];

    [Fact]
    public async Task A_failure_given_back_after_the_row_was_sent_by_another_instance_neither_parks_nor_delays_it()
    {
        // This instance lost the row's partition while its publish was failing; the new owner sent the row meanwhile.
        var queue = Queue();
        var rows = await CommitAsync(queue, Event());
        Assert.Equal(Sequences(rows), await NextAsync(queue));
        _db.MarkSent(rows[0].Sequence, _clock.GetUtcNow());

        await queue.ReturnAsync([rows[0].Sequence], [new PublishFailure(rows[0].Sequence, "boom", _clock.GetUtcNow().AddHours(1), Park: true)]);

        Assert.Equal(0L, _db.Scalar<long>("SELECT COUNT(*) FROM outbox WHERE parked_at IS NOT NULL OR last_error IS NOT NULL OR attempts > 0"));
    }

    [Fact]
    public async Task The_first_batch_sweeps_the_table_for_rows_committed_before_a_start()
    {
        var before = await CommitAsync(null, Events(3));

        var batch = await Queue().NextBatchAsync();

        Assert.Equal(Sequences(before), Sequences(batch));
        Assert.All(batch, row => Assert.Null(row.CommittedAt));
    }

    [Fact]
    [Trait(TestStorage.Trait, TestStorage.SqliteOnly)] // A shared database hands no rows over: every commit asks for a sweep.
    public async Task Handed_over_rows_are_handed_out_in_commit_order_with_their_commit_time()
    {
        var queue = Queue(batchSize: 4);
        Assert.Empty(await NextAsync(queue));

        var first = await CommitAsync(queue, Events(3));
        var second = await CommitAsync(queue, Events(2));
        var batch = await queue.NextBatchAsync();

        Assert.Equal(Sequences([.. first, .. second]).Take(4), Sequences(batch));
        Assert.All(batch, row => Assert.NotNull(row.CommittedAt));
        Assert.Equal([second[^1].Sequence], await NextAsync(queue));
    }

    [Fact]
    public async Task A_row_handed_out_is_not_handed_out_again_until_it_is_given_back()
    {
        var queue = Queue();
        Assert.Empty(await NextAsync(queue));
        var rows = await CommitAsync(queue, Events(3));
        Assert.Equal(Sequences(rows), await NextAsync(queue));

        _clock.Advance(PollInterval);
        Assert.Empty(await NextAsync(queue));

        await queue.ReturnAsync(Sequences(rows), []);
        Assert.Equal(Sequences(rows), await NextAsync(queue));
    }

    [Fact]
    public async Task Rows_handed_over_after_a_sweep_read_them_are_not_handed_out_again()
    {
        // The writer hands rows over just after their commit, which a sweep may read in between.
        var queue = Queue();
        var swept = await CommitAsync(null, Events(3));
        Assert.Equal(Sequences(swept), await NextAsync(queue));
        var later = await CommitAsync(null, Event());

        queue.Add([swept[1], swept[2], later[0]]);

        Assert.Equal([later[0].Sequence], await NextAsync(queue));
    }

    [Fact]
    [Trait(TestStorage.Trait, TestStorage.SqliteOnly)] // A shared database hands no rows over: every commit asks for a sweep.
    public async Task After_a_row_did_not_fit_every_row_is_left_to_the_table_until_the_next_sweep()
    {
        var queue = Queue(batchSize: 2 * RelayQueue.Capacity);
        Assert.Empty(await NextAsync(queue));
        var fitted = await CommitAsync(queue, Events(RelayQueue.Capacity - 1));
        var overflowed = await CommitAsync(queue, Events(2));
        var dropped = await CommitAsync(queue, Event());

        var batch = await queue.NextBatchAsync();

        Assert.Equal(Sequences([.. fitted, .. overflowed, .. dropped]), Sequences(batch));
        Assert.Equal(Sequences(fitted), Sequences(batch.Where(row => row.CommittedAt is not null)));
        var afterSweep = await CommitAsync(queue, Event());
        Assert.Equal([afterSweep[0].Sequence], await NextAsync(queue));
    }

    [Fact]
    public async Task Handed_over_row_of_an_end_user_whose_earlier_row_failed_waits_for_it_in_the_table()
    {
        var queue = Queue();
        Assert.Empty(await NextAsync(queue));
        var failed = await CommitAsync(queue, Event("customer-1"));
        Assert.Equal(Sequences(failed), await NextAsync(queue));
        var retryAt = _clock.GetUtcNow() + TimeSpan.FromSeconds(30);

        await queue.ReturnAsync(Sequences(failed), [new PublishFailure(failed[0].Sequence, "injected", retryAt, Park: false)]);

        Assert.Equal(1, _db.Scalar<long>("SELECT attempts FROM outbox"));
        Assert.Equal<DateTimeOffset?>(retryAt, queue.RetryAt);
        Assert.Empty(await NextAsync(queue));
        var sameEndUser = await CommitAsync(queue, Event("customer-1"));
        var otherEndUser = await CommitAsync(queue, Event("customer-2"));
        Assert.Equal(Sequences(otherEndUser), await NextAsync(queue));

        _clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(Sequences([.. failed, .. sameEndUser]), await NextAsync(queue));
        Assert.Null(queue.RetryAt);
    }

    [Fact]
    [Trait(TestStorage.Trait, TestStorage.SqliteOnly)] // A shared database hands no rows over: every commit asks for a sweep.
    public async Task A_row_a_sweep_read_is_not_handed_out_again_from_behind_a_row_it_did_not_read()
    {
        var queue = Queue();
        Assert.Empty(await queue.NextBatchAsync());
        var rows = await CommitAsync(null, Events(3));

        // The last row is one the sweep below cannot see yet (as if its commit came after the sweep's read), and it
        // was handed over before the first row, whose writer was slower.
        _db.Execute($"UPDATE outbox SET next_attempt_at = next_attempt_at + 3600000 WHERE sequence = {rows[2].Sequence}");
        queue.Add([rows[2]]);
        queue.Add([rows[0]]);
        _clock.Advance(PollInterval);

        Assert.Equal([rows[0].Sequence, rows[1].Sequence], (await queue.NextBatchAsync()).Select(row => row.Sequence));
        Assert.Equal([rows[2].Sequence], (await queue.NextBatchAsync()).Select(row => row.Sequence));
    }

    [Fact]
    public async Task A_retry_that_comes_due_does_not_hide_a_later_one()
    {
        // A row retried a moment early (the sweep's clock ran on past the relay's wake-up) fails again while its first
        // retry time is still pending: once that time passes, the second must still wake the relay.
        var queue = Queue();
        var rows = await CommitAsync(null, Events(1, "customer-1"));
        Assert.Equal(Sequences(rows), await NextAsync(queue));
        var first = _clock.GetUtcNow() + TimeSpan.FromSeconds(1);
        await queue.ReturnAsync(Sequences(rows), [new PublishFailure(rows[0].Sequence, "injected", first, Park: false)]);
        _db.Execute("UPDATE outbox SET next_attempt_at = @Now", new { Now = UnixTime.ToMs(_clock.GetUtcNow()) });
        Assert.Equal(Sequences(rows), await NextAsync(queue));
        var second = _clock.GetUtcNow() + TimeSpan.FromSeconds(2);
        await queue.ReturnAsync(Sequences(rows), [new PublishFailure(rows[0].Sequence, "injected", second, Park: false)]);

        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Empty(await NextAsync(queue));
        Assert.Equal(second, queue.RetryAt);
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(Sequences(rows), await NextAsync(queue));
    }

    [Fact]
    public async Task The_table_is_swept_again_every_poll_interval_and_at_once_while_a_read_is_full()
    {
        var queue = Queue(batchSize: 2);
        Assert.Empty(await NextAsync(queue));
        var replayed = await CommitAsync(null, Events(5));
        Assert.Empty(await NextAsync(queue));

        _clock.Advance(PollInterval);

        Assert.Equal(Sequences(replayed.Take(2)), await NextAsync(queue));
        Assert.Equal(Sequences(replayed.Skip(2).Take(2)), await NextAsync(queue));
        Assert.Equal(Sequences(replayed.Skip(4)), await NextAsync(queue));
        Assert.Empty(await NextAsync(queue));
    }

    [Fact]
    public async Task Rows_whose_sent_mark_fails_stay_out_of_every_sweep_and_are_marked_again()
    {
        var queue = Queue();
        var rows = await CommitAsync(null, Events(3));
        Assert.Equal(Sequences(rows), await NextAsync(queue));
        var failingMark = InjectedFailure.Add(_db.Database, "fail_mark", "BEFORE UPDATE OF sent_at", "outbox", "injected: disk full");

        foreach (var row in rows)
        {
            queue.Confirmed(row.Sequence);
        }

        Assert.False(await queue.FlushMarksAsync());
        Assert.True(queue.MarkNeedsRetry);
        _clock.Advance(PollInterval);
        Assert.Empty(await NextAsync(queue));

        failingMark.Remove();
        Assert.True(await queue.FlushMarksAsync());
        Assert.False(queue.MarkNeedsRetry);
        Assert.Equal(0, _db.Scalar<long>("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL"));
        _clock.Advance(PollInterval);
        Assert.Empty(await NextAsync(queue));
    }

    [Fact]
    public async Task Confirms_that_arrive_while_a_mark_commits_gather_for_the_next_mark()
    {
        // One connection, as SQLite's single writer has: a held write holds the next one on PostgreSQL too.
        var writer = _db.NewWriter(connections: 1);
        var queue = Queue(writer: writer);
        var rows = await CommitAsync(null, Events(10));
        Assert.Equal(Sequences(rows), await NextAsync(queue));
        var writes = 0;
        writer.Committed += done => Interlocked.Add(ref writes, done);
        using var gate = new ManualResetEventSlim();
        var held = writer.WriteAsync((_, _) => gate.Wait(TimeSpan.FromSeconds(10)));

        // The first confirm's mark queues behind the held write; the other nine gather meanwhile.
        foreach (var row in rows)
        {
            queue.Confirmed(row.Sequence);
        }

        gate.Set();
        Assert.True(await held);
        Assert.True(await queue.FlushMarksAsync());

        Assert.Equal(3, Volatile.Read(ref writes));
        Assert.Equal(0, _db.Scalar<long>("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL"));
    }

    [Fact]
    public async Task Marks_of_different_rows_share_one_statement_so_none_costs_a_compilation()
    {
        var queue = Queue();
        var rows = await CommitAsync(null, Events(6));
        Assert.Equal(Sequences(rows), await NextAsync(queue));

        foreach (var batch in new[] { rows.Take(1), rows.Skip(1).Take(2), rows.Skip(3) })
        {
            foreach (var row in batch)
            {
                queue.Confirmed(row.Sequence);
            }

            Assert.True(await queue.FlushMarksAsync());
        }

        Assert.Equal(0, _db.Scalar<long>("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL"));
        // Dapper compiles a parameter binder for each statement text it has not seen (per database); its cache lists them.
        var markTexts = SqlMapper.GetCachedSQL().Select(cached => cached.Item2).Distinct()
            .Where(sql => sql.StartsWith("UPDATE outbox SET sent_at", StringComparison.Ordinal) && sql.Contains("AND sent_at IS NULL", StringComparison.Ordinal));
        Assert.Single(markTexts);
    }
}
