using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;
using MassTransit;
using Npgsql;

namespace Kombo.Worker.PostgreSqlTests;

/// <summary>
/// The relay queue where sequences are taken at insert and commits finish in any order: an end user's rows still leave
/// in commit order.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class SharedRelayQueueTests(PostgresFixture postgres)
{
    [Fact]
    public async Task A_row_committed_while_a_sweep_read_the_table_is_not_overtaken_by_its_end_users_next_row()
    {
        var connectionString = await postgres.NewMigratedDatabaseAsync();
        await using var instance = await SoleOwnerAsync(connectionString);

        // A command of customer-1 takes the lower sequence, and commits while a sweep reads the table without it:
        // the queue sees it handed over, but the read, which ends at a later row, does not have it.
        await using var slow = new NpgsqlConnection(connectionString);
        await slow.OpenAsync();
        await using var slowCommit = await slow.BeginTransactionAsync();
        var first = OutboxStore.Append(slow, slowCommit, [Event("customer-1")], TimeProvider.System.GetUtcNow());
        var other = await CommitWithoutHandOverAsync(connectionString, Event("customer-2"));
        instance.Queue.Add(first);
        instance.Queue.PartitionsChanged();
        Assert.Equal([other[0].Sequence], (await instance.Queue.NextBatchAsync()).Select(row => row.Sequence));
        await slowCommit.CommitAsync();

        // customer-1's next command, committed after the first one, must not leave before it.
        var next = await instance.CommitAsync(Event("customer-1"));

        Assert.Equal([first[0].Sequence, next[0].Sequence], (await instance.Queue.NextBatchAsync()).Select(row => row.Sequence));
    }

    [Fact]
    public async Task A_row_another_instance_committed_is_not_overtaken_by_its_end_users_next_row_committed_here()
    {
        var connectionString = await postgres.NewMigratedDatabaseAsync();
        await using var instance = await SoleOwnerAsync(connectionString);

        // customer-1's first command commits on another instance, whose wake-up has not arrived here yet; the second
        // commits here, after it.
        var elsewhere = await CommitWithoutHandOverAsync(connectionString, Event("customer-1"));
        var here = await instance.CommitAsync(Event("customer-1"));

        Assert.Equal([elsewhere[0].Sequence, here[0].Sequence], (await instance.Queue.NextBatchAsync()).Select(row => row.Sequence));
    }


    /// <summary>An instance that owns every partition and has swept the empty table once.</summary>
    private static async Task<OutboxInstance> SoleOwnerAsync(string connectionString)
    {
        var instance = await OutboxInstance.StartAsync(connectionString);
        try
        {
            await Eventually.HoldsAsync(() => instance.Owned.Count == OutboxPartition.Count, "the instance took every partition");
            Assert.Empty(await instance.Queue.NextBatchAsync());
            return instance;
        }
        catch
        {
            await instance.DisposeAsync();
            throw;
        }
    }

    private static async Task<IReadOnlyList<PendingMessage>> CommitWithoutHandOverAsync(string connectionString, OutgoingMessage message)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var rows = OutboxStore.Append(connection, transaction, [message], TimeProvider.System.GetUtcNow());
        await transaction.CommitAsync();
        return rows;
    }

    private static OutgoingMessage Event(string orderingKey)
    {
        var correlationId = NewId.NextGuid();
        var message = new LinkCreated { CorrelationId = correlationId, Link = "https://connect.kombo.test/1", LinkType = "EMBEDDED" };
        return new OutgoingMessage(NewId.NextGuid(), nameof(LinkCreated), OutboxMessageTypes.Serialize(message),
            correlationId, null, null, null, null, orderingKey);
    }
}
