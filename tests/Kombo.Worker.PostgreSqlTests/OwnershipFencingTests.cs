using System.Diagnostics;
using Dapper;
using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;
using MassTransit;
using Npgsql;

namespace Kombo.Worker.PostgreSqlTests;

/// <summary>
/// A stale owner (its partition given back or taken over) may at most publish a row again with the same message id:
/// it never backs off or parks a row its successor owns, and it stops believing it owns anything before the server
/// would hand its partitions to another instance.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class OwnershipFencingTests(PostgresFixture postgres)
{
    private static readonly TimeSpan Split = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_stale_owner_cannot_park_or_back_off_a_row_of_a_partition_its_successor_took()
    {
        var connectionString = await postgres.NewMigratedDatabaseAsync();
        await using var first = await OutboxInstance.StartAsync(connectionString);
        await Eventually.HoldsAsync(() => first.Owned.Count == OutboxPartition.Count, "the first instance took every partition");
        Assert.Empty(await first.Queue.NextBatchAsync());
        var committed = await first.CommitAsync(Event(OrderingKeyIn(OutboxPartition.Count - 1)));
        var sequence = committed[0].Sequence;
        Assert.Equal([sequence], (await first.Queue.NextBatchAsync()).Select(row => row.Sequence));

        // A second instance starts while the row is in flight; the first gives its upper partitions back and the
        // second takes them, this row's among them.
        await using var second = await OutboxInstance.StartAsync(connectionString);
        await Eventually.HoldsAsync(() => second.Owned.Contains(OutboxPartition.Count - 1), "the second instance took the row's partition", Split);

        // The first instance's publish of it failed for the last time, after the handover.
        var before = await RowAsync(connectionString, sequence);
        await first.Queue.ReturnAsync([sequence], [new PublishFailure(sequence, "injected", TimeProvider.System.GetUtcNow().AddHours(1), Park: true)]);

        Assert.Equal(before, await RowAsync(connectionString, sequence));
        Assert.Equal((0, null, null), (before.Attempts, before.LastError, before.ParkedAt));

        // Its owner's failure does land.
        await second.Queue.ReturnAsync([sequence], [new PublishFailure(sequence, "injected", TimeProvider.System.GetUtcNow().AddHours(1), Park: false)]);
        var after = await RowAsync(connectionString, sequence);
        Assert.Equal((1, "injected", null), (after.Attempts, after.LastError, after.ParkedAt));
    }

    [Fact]
    public async Task An_owner_whose_server_session_stops_answering_mid_handover_fences_itself_within_seconds()
    {
        var connectionString = await postgres.NewMigratedDatabaseAsync();
        await using var first = await OutboxInstance.StartAsync(connectionString);
        await Eventually.HoldsAsync(() => first.Owned.Count == OutboxPartition.Count, "the first instance took every partition");
        var backend = await OwnerBackendAsync(connectionString);

        // The moment it gives partitions back, before it unlocks them, its backend freezes: the unlock gets no answer
        // while the connection stays open, as with a server or a network that went silent.
        var frozen = 0;
        first.Partitions.Changed += () =>
        {
            if (first.Partitions.Owned is { Count: > 0 and < OutboxPartition.Count } && Interlocked.Exchange(ref frozen, 1) == 0)
            {
                Signal("STOP", backend);
            }
        };
        try
        {
            await using var second = await OutboxInstance.StartAsync(connectionString);
            await Eventually.HoldsAsync(() => Volatile.Read(ref frozen) == 1, "the first instance gave partitions back", Split);

            // Well before the server drops a silent session (about 11 s) and lets another instance in.
            await Eventually.HoldsAsync(() => first.Owned.Count == 0, "the first instance fenced itself", TimeSpan.FromSeconds(8));
        }
        finally
        {
            Signal("CONT", backend);
        }
    }


    private static async Task<OutboxRow> RowAsync(string connectionString, long sequence)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        return await connection.QuerySingleAsync<OutboxRow>(
            "SELECT attempts AS Attempts, last_error AS LastError, next_attempt_at AS NextAttemptAt, parked_at AS ParkedAt FROM outbox WHERE sequence = @sequence",
            new { sequence });
    }

    /// <summary>The server process of the one owner session in the database.</summary>
    private static async Task<int> OwnerBackendAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        return await connection.QuerySingleAsync<int>(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'kombo-worker-outbox-owner'");
    }

    private static void Signal(string signal, int pid)
    {
        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    private static string OrderingKeyIn(int partition) =>
        Enumerable.Range(0, 10_000).Select(i => $"customer-{i}").First(key => OutboxPartition.Of(key, Guid.Empty) == partition);

    private static OutgoingMessage Event(string orderingKey)
    {
        var correlationId = NewId.NextGuid();
        var message = new LinkCreated { CorrelationId = correlationId, Link = "https://connect.kombo.test/1", LinkType = "EMBEDDED" };
        return new OutgoingMessage(NewId.NextGuid(), nameof(LinkCreated), OutboxMessageTypes.Serialize(message),
            correlationId, null, null, null, null, orderingKey);
    }

    private sealed record OutboxRow(int Attempts, string? LastError, long NextAttemptAt, long? ParkedAt);
}
