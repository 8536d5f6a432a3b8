using System.Data;
using System.Data.Common;
using Dapper;
using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.Connect;
using Kombo.Worker.Connect.Redemption;
using Kombo.Worker.KomboApi;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;
using Npgsql;

namespace Kombo.Worker.PostgreSqlTests;

/// <summary>
/// Two instances deciding one token at the same time, forced into the interleaving that used to go wrong: the second
/// transaction runs while the first is still open, and must read what the first commits instead of missing it.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class RedemptionRaceTests(PostgresFixture postgres)
{
    private const string TokenHash = "token-hash-1";
    private const string OriginId = "customer-1";
    private const string IntegrationId = "personio:made";

    private static readonly SettlementRules Rules = new(TimeSpan.FromMinutes(10));

    private static DateTimeOffset Now => TimeProvider.System.GetUtcNow();

    private static NewRedemptionAttempt NewAttempt() => new(TokenHash, Guid.NewGuid(), Guid.NewGuid(), OriginId, false, null);

    private static RedemptionAttempt Waiting(NewRedemptionAttempt attempt) => RedemptionAttempt.Of(attempt, new AnswerAddress(null, null, null));

    [Fact]
    public async Task Two_first_attempts_of_one_token_on_two_instances_see_each_other()
    {
        var connectionString = await postgres.NewMigratedDatabaseAsync();
        var firstSawEarlier = true;

        var secondSawEarlier = await InterleaveAsync(connectionString,
            (connection, transaction) => firstSawEarlier = RedemptionLedger.RecordAttempt(connection, transaction, NewAttempt(), Now),
            (connection, transaction) => RedemptionLedger.RecordAttempt(connection, transaction, NewAttempt(), Now));

        Assert.False(firstSawEarlier);
        // Else its "invalid" would be answered token_invalid_or_expired though the first attempt spent the token.
        Assert.True(secondSawEarlier);
    }

    [Fact]
    public async Task An_integration_created_committing_beside_a_pending_commit_settles_it()
    {
        var connectionString = await postgres.NewMigratedDatabaseAsync();
        var attempt = NewAttempt();
        await WriteAsync(connectionString, (connection, transaction) => RedemptionLedger.RecordAttempt(connection, transaction, attempt, Now));
        Resolution? pending = null;

        var settled = await InterleaveAsync(connectionString,
            (connection, transaction) => pending = RedemptionSettlement.Pend(connection, transaction, Waiting(attempt), canWait: true, null, Rules, Now),
            (connection, transaction) => CreatedWebhook(connection, transaction));

        Assert.Equal(Resolution.Pending, pending!.Outcome);
        Assert.Contains(settled, message => message.MessageType == OutboxMessageTypes.NameOf(new IntegrationConnected()));
    }

    [Fact]
    public async Task A_pending_commit_beside_an_integration_created_committing_is_settled_at_once()
    {
        var connectionString = await postgres.NewMigratedDatabaseAsync();
        var attempt = NewAttempt();
        await WriteAsync(connectionString, (connection, transaction) => RedemptionLedger.RecordAttempt(connection, transaction, attempt, Now));
        IReadOnlyList<OutgoingMessage>? fromWebhook = null;

        var resolution = await InterleaveAsync(connectionString,
            (connection, transaction) => fromWebhook = CreatedWebhook(connection, transaction),
            (connection, transaction) => RedemptionSettlement.Pend(connection, transaction, Waiting(attempt), canWait: true, null, Rules, Now));

        Assert.Empty(fromWebhook!);
        Assert.Equal(Resolution.Settled, resolution.Outcome);
        Assert.Single(resolution.Answers);
    }

    [Fact]
    public async Task A_sweep_racing_a_settlement_leaves_the_command_one_answer()
    {
        var connectionString = await postgres.NewMigratedDatabaseAsync();
        var attempt = NewAttempt();
        var pending = Waiting(attempt);
        await WriteAsync(connectionString, (connection, transaction) =>
        {
            RedemptionLedger.RecordAttempt(connection, transaction, attempt, Now);
            return RedemptionSettlement.Pend(connection, transaction, pending, canWait: true, null, Rules, Now);
        });
        IReadOnlyList<OutgoingMessage>? swept = null;

        // Another delivery of the command hears Kombo's answer while the sweeper ends its window.
        var recorded = await InterleaveAsync(connectionString,
            (connection, transaction) => swept = RedemptionSettlement.Expire(connection, transaction, pending, Rules, Now),
            (connection, transaction) => RedemptionSettlement.Record(connection, transaction, pending, answerOwn: false, MadeIntegration(), Guid.NewGuid(), Now));

        Assert.Single(swept!);
        Assert.Empty(recorded.Answers);
    }

    private static IReadOnlyList<OutgoingMessage> CreatedWebhook(DbConnection connection, DbTransaction transaction)
    {
        IntegrationStore.UpsertReported(connection, transaction, new ReportedIntegration(IntegrationId, "personio", "HRIS", OriginId, "Acme", null), Now);
        return RedemptionSettlement.FromCreatedWebhook(connection, transaction, IntegrationId, Rules, Now);
    }

    private static ConnectedIntegration MadeIntegration() => new("personio", IntegrationId, OriginId, "Acme", null, "COMPLETED");

    /// <summary>
    /// Runs <paramref name="first"/> in a transaction it leaves open, then <paramref name="second"/> in another on its
    /// own connection until it has finished or waits for a lock, then commits the first and lets the second end.
    /// </summary>
    private static async Task<T> InterleaveAsync<T>(
        string connectionString, Action<DbConnection, DbTransaction> first, Func<DbConnection, DbTransaction, T> second)
    {
        await using var one = new NpgsqlConnection(connectionString);
        await one.OpenAsync();
        await using var firstTransaction = await one.BeginTransactionAsync(IsolationLevel.ReadCommitted);
        first(one, firstTransaction);

        await using var two = new NpgsqlConnection(connectionString);
        await two.OpenAsync();
        var secondRun = Task.Run(() =>
        {
            using var transaction = two.BeginTransaction(IsolationLevel.ReadCommitted);
            var result = second(two, transaction);
            transaction.Commit();
            return result;
        });
        await Eventually.HoldsAsync(
            async () => secondRun.IsCompleted || await WaitsForLockAsync(connectionString, two.ProcessID),
            "the second transaction has finished or waits for the first");

        await firstTransaction.CommitAsync();
        return await secondRun;
    }

    private static async Task<bool> WaitsForLockAsync(string connectionString, int processId)
    {
        await using var observer = new NpgsqlConnection(connectionString);
        await observer.OpenAsync();
        return await observer.ExecuteScalarAsync<bool>(
            "SELECT COALESCE((SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = @ProcessId), false)", new { ProcessId = processId });
    }

    private static async Task WriteAsync<T>(string connectionString, Func<DbConnection, DbTransaction, T> work)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        work(connection, transaction);
        await transaction.CommitAsync();
    }
}
