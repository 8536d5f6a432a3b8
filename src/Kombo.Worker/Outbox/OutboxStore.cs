using System.Data.Common;
using System.Text.Json;
using Dapper;
using Kombo.Worker.Storage;
using Microsoft.Data.Sqlite;

namespace Kombo.Worker.Outbox;

/// <summary>The outbox table's SQL: append inside a command's transaction, read what is due, record the outcome.</summary>
internal static class OutboxStore
{
    private const string InsertSql = """
        INSERT INTO outbox (message_id, message_type, body, correlation_id, conversation_id, initiator_id,
                            request_id, destination, ordering_key, created_at, next_attempt_at,
                            trace_parent, trace_state, baggage, partition_id)
        VALUES (@MessageId, @MessageType, @Body, @CorrelationId, @ConversationId, @InitiatorId,
                @RequestId, @Destination, @OrderingKey, @CreatedAt, @CreatedAt,
                @TraceParent, @TraceState, @Baggage, @PartitionId)
        RETURNING sequence
        """;

    // A row waits while an earlier row of the same end user is parked or backing off: per-end-user order is kept,
    // and nobody else is held up.
    private const string DueSql = """
        SELECT o.sequence AS Sequence, o.message_id AS MessageId, o.message_type AS MessageType, o.body AS Body,
               o.correlation_id AS CorrelationId, o.conversation_id AS ConversationId, o.initiator_id AS InitiatorId,
               o.request_id AS RequestId, o.destination AS Destination, o.ordering_key AS OrderingKey, o.attempts AS Attempts,
               o.created_at AS CreatedAt, o.trace_parent AS TraceParent, o.trace_state AS TraceState, o.baggage AS Baggage,
               o.partition_id AS PartitionId
        FROM outbox AS o
        WHERE o.sent_at IS NULL AND o.parked_at IS NULL AND o.next_attempt_at <= @Now /**partitions**/
          AND (o.ordering_key IS NULL OR NOT EXISTS (
                SELECT 1 FROM outbox AS earlier
                WHERE earlier.ordering_key = o.ordering_key AND earlier.sequence < o.sequence
                  AND earlier.sent_at IS NULL
                  AND (earlier.parked_at IS NOT NULL OR earlier.next_attempt_at > @Now)))
        ORDER BY o.sequence
        LIMIT @Limit
        """;

    // The end users whose next row must wait for an earlier one that failed (an outage failure costs no attempt but
    // leaves its error): the relay hands such users' new rows back to the table's order above.
    private const string HeldOrderingKeysSql = """
        SELECT DISTINCT ordering_key FROM outbox AS o
        WHERE sent_at IS NULL AND ordering_key IS NOT NULL
          AND (parked_at IS NOT NULL OR attempts > 0 OR last_error IS NOT NULL) /**partitions**/
        """;

    // One text for any set of rows: Dapper compiles a parameter binder for every new text, and a mark runs several
    // times a second (the sequences written into the text cost a compilation per mark, on the writer's thread). A stale
    // owner (one that lost its partition a moment ago) must not mark a row its successor sent again.
    private const string SqliteMarkSentSql = """
        UPDATE outbox SET sent_at = @SentAt
        WHERE sequence IN (SELECT value FROM json_each(@Sequences)) AND sent_at IS NULL
        """;

    private const string PostgreSqlMarkSentSql = "UPDATE outbox SET sent_at = @SentAt WHERE sequence = ANY(@Sequences) AND sent_at IS NULL";

    private const string RecordFailureSql = """
        UPDATE outbox
        SET attempts = attempts + CASE WHEN @CountsAsAttempt THEN 1 ELSE 0 END,
            last_error = @Error,
            next_attempt_at = @NextAttemptAt,
            parked_at = CASE WHEN @Park THEN @Now END
        WHERE sequence = @Sequence AND sent_at IS NULL
        """;

    // On a shared database a failure lands only while the given owner session holds the row's partition: once it was
    // given back or taken over, the row is its successor's to back off or park, and the stale failure changes nothing.
    private const string FencedRecordFailureSql = RecordFailureSql + """

          AND EXISTS (
                SELECT 1 FROM pg_locks
                WHERE locktype = 'advisory' AND granted AND pid = @OwnerPid
                  AND classid = @PartitionSpace::oid AND objid = outbox.partition_id::oid AND objsubid = 2
                  AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))
        """;

    // The check above holds at the UPDATE; the commit follows a round trip later. Should this host go silent in between,
    // the server ends the transaction after 5 s, before it drops the silent owner session (about 11 s) and lets a
    // successor take the partition: a late commit can never land after a takeover.
    private const string FailureTransactionSql = "SET LOCAL idle_in_transaction_session_timeout = '5s'";

    private const string DeleteSentSql = """
        DELETE FROM outbox WHERE sequence IN (
            SELECT sequence FROM outbox WHERE sent_at IS NOT NULL AND sent_at <= @Cutoff LIMIT @Limit)
        """;

    /// <returns>The rows as written, with their sequence numbers, in commit order.</returns>
    public static IReadOnlyList<PendingMessage> Append(
        DbConnection connection, DbTransaction transaction, IEnumerable<OutgoingMessage> messages, DateTimeOffset now)
    {
        var rows = new List<PendingMessage>();
        foreach (var message in messages)
        {
            var row = OutboxPublishing.AsRow(message, now);
            var sequence = connection.ExecuteScalar<long>(InsertSql, row, transaction);
            rows.Add(row with { Sequence = sequence });
        }

        return rows;
    }

    /// <param name="owned">The partitions to read; null for all of them.</param>
    public static IReadOnlyList<PendingMessage> ReadDue(DbConnection connection, DateTimeOffset now, int limit, IReadOnlyList<int>? owned = null) =>
        connection.Query<PendingMessage>(InPartitions(DueSql, owned), new { Now = UnixTime.ToMs(now), Limit = limit }).AsList();

    /// <param name="owned">The partitions to read; null for all of them.</param>
    public static HashSet<string> ReadHeldOrderingKeys(DbConnection connection, IReadOnlyList<int>? owned = null) =>
        [.. connection.Query<string>(InPartitions(HeldOrderingKeysSql, owned))];

    // Only where other instances own partitions (PostgreSQL); a SQLite file's one worker reads them all.
    private static string InPartitions(string sql, IReadOnlyList<int>? owned) =>
        sql.Replace("/**partitions**/", owned is null ? "" : $"AND o.partition_id IN {SqlList.Of(owned)}", StringComparison.Ordinal);

    public static void MarkSent(
        DbConnection connection, DbTransaction transaction, IReadOnlyCollection<long> sequences, DateTimeOffset now)
    {
        var sentAt = UnixTime.ToMs(now);
        if (connection is SqliteConnection)
        {
            connection.Execute(SqliteMarkSentSql, new { SentAt = sentAt, Sequences = JsonSerializer.Serialize(sequences) }, transaction);
        }
        else
        {
            connection.Execute(PostgreSqlMarkSentSql, new { SentAt = sentAt, Sequences = sequences.ToArray() }, transaction);
        }
    }

    /// <param name="owner">The owner session that must hold each row's partition; null where every partition is this instance's.</param>
    /// <returns>How many rows took their failure.</returns>
    public static int RecordFailures(
        DbConnection connection, DbTransaction transaction, IEnumerable<PublishFailure> failures, DateTimeOffset now, OwnerSession? owner = null)
    {
        if (owner is not null)
        {
            connection.Execute(FailureTransactionSql, transaction: transaction);
        }

        var at = UnixTime.ToMs(now);
        return connection.Execute(owner is null ? RecordFailureSql : FencedRecordFailureSql, failures.Select(f => new
        {
            f.Sequence,
            f.Error,
            NextAttemptAt = UnixTime.ToMs(f.NextAttemptAt),
            f.Park,
            f.CountsAsAttempt,
            Now = at,
            OwnerPid = owner?.BackendPid ?? 0,
            PartitionSpace = owner?.PartitionSpace ?? 0,
        }), transaction);
    }

    public static int DeleteSent(DbConnection connection, DbTransaction transaction, DateTimeOffset cutoff, int limit) =>
        connection.Execute(DeleteSentSql, new { Cutoff = UnixTime.ToMs(cutoff), Limit = limit }, transaction);
}
