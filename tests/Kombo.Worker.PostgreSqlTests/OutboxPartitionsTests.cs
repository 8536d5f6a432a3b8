using Dapper;
using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;
using MassTransit;
using Npgsql;

namespace Kombo.Worker.PostgreSqlTests;

/// <summary>
/// What only a shared database has: instances split the outbox partitions through session advisory locks, take over a
/// dead one's within seconds, and wake each other with NOTIFY when they commit rows in a partition another one owns.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class OutboxPartitionsTests(PostgresFixture postgres) : IAsyncLifetime
{
    private static readonly TimeSpan Split = TimeSpan.FromSeconds(15);

    private string _connectionString = null!;

    public async Task InitializeAsync()
    {
        _connectionString = await postgres.Node.CreateDatabaseAsync();
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await PostgreSqlSchemaMigrator.MigrateAsync(connection, CancellationToken.None);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Two_instances_split_the_partitions_and_one_takes_all_within_seconds_when_the_others_session_ends()
    {
        await using var first = await OutboxInstance.StartAsync(_connectionString);
        await Eventually.HoldsAsync(() => first.Owned.Count == OutboxPartition.Count, "the first instance took every partition");
        await using var second = await OutboxInstance.StartAsync(_connectionString);

        await Eventually.HoldsAsync(() => SplitEvenly(first, second), "the two instances split the partitions 8 and 8", Split);

        var stopped = TimeProvider.System.GetTimestamp();
        await first.StopAsync();
        await Eventually.HoldsAsync(() => second.Owned.Count == OutboxPartition.Count, "the second instance took every partition", Split);
        // Its heartbeat must expire (5 s) before the fair share grows; then one tick (1 s) takes the free partitions.
        Assert.InRange(TimeProvider.System.GetElapsedTime(stopped), TimeSpan.Zero, TimeSpan.FromSeconds(8));
        Assert.Empty(first.Owned);
    }

    [Fact]
    public async Task Owner_sessions_have_the_server_probe_a_silent_peer_within_seconds()
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();

        await connection.ExecuteAsync(PostgreSqlOutboxPartitions.SessionSettingsSql);

        var idle = await connection.ExecuteScalarAsync<string>("SHOW tcp_keepalives_idle");
        var interval = await connection.ExecuteScalarAsync<string>("SHOW tcp_keepalives_interval");
        var count = await connection.ExecuteScalarAsync<string>("SHOW tcp_keepalives_count");
        Assert.Equal("idle 5, interval 2, count 3", $"idle {idle}, interval {interval}, count {count}");
    }

    [Fact]
    public async Task A_commit_in_a_partition_another_instance_owns_wakes_that_instance_which_reads_it_at_once()
    {
        await using var first = await OutboxInstance.StartAsync(_connectionString);
        await using var second = await OutboxInstance.StartAsync(_connectionString);
        await Eventually.HoldsAsync(() => SplitEvenly(first, second), "the two instances split the partitions 8 and 8", Split);
        Assert.Empty(await first.Queue.NextBatchAsync());
        Assert.Empty(await second.Queue.NextBatchAsync());
        var woken = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        second.Partitions.Changed += () => woken.TrySetResult();

        var committed = await first.CommitAsync(Event(OrderingKeyIn(second.Owned[0])));

        // Neither queue polls: only the NOTIFY makes the owner read the table, within its 50 ms listening poll.
        await woken.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal([committed[0].Sequence], (await second.Queue.NextBatchAsync()).Select(row => row.Sequence));
        Assert.Empty(await first.Queue.NextBatchAsync());
    }

    private static bool SplitEvenly(OutboxInstance first, OutboxInstance second) =>
        first.Owned.Count == OutboxPartition.Count / 2 && second.Owned.Count == OutboxPartition.Count / 2
        && first.Owned.Union(second.Owned).Count() == OutboxPartition.Count;

    private static string OrderingKeyIn(int partition) =>
        Enumerable.Range(0, 10_000).Select(i => $"customer-{i}").First(key => OutboxPartition.Of(key, Guid.Empty) == partition);

    private static OutgoingMessage Event(string orderingKey)
    {
        var correlationId = NewId.NextGuid();
        var message = new LinkCreated { CorrelationId = correlationId, Link = "https://connect.kombo.test/1", LinkType = "EMBEDDED" };
        return new OutgoingMessage(NewId.NextGuid(), nameof(LinkCreated), OutboxMessageTypes.Serialize(message),
            correlationId, null, null, null, null, orderingKey);
    }
}
