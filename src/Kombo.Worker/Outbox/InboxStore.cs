using System.Data.Common;
using Dapper;
using Kombo.Worker.Storage;

namespace Kombo.Worker.Outbox;

/// <summary>Which commands each consumer has already handled, keyed by (message id, consumer).</summary>
internal static class InboxStore
{
    private const string ExistsSql = """
        SELECT EXISTS (SELECT 1 FROM inbox WHERE message_id = @MessageId AND consumer = @Consumer)
        """;

    private const string InsertSql = """
        INSERT INTO inbox (message_id, consumer, correlation_id, outcome, received_at)
        VALUES (@MessageId, @Consumer, @CorrelationId, @Outcome, @ReceivedAt)
        ON CONFLICT DO NOTHING
        """;

    private const string DeleteReceivedBeforeSql = """
        DELETE FROM inbox WHERE (message_id, consumer) IN (
            SELECT message_id, consumer FROM inbox WHERE received_at <= @Cutoff LIMIT @Limit)
        """;

    public static bool HasHandled(DbConnection connection, Guid messageId, string consumer) =>
        connection.ExecuteScalar<bool>(ExistsSql, new { MessageId = messageId.ToString(), Consumer = consumer });

    /// <summary>Records the command inside the caller's transaction; false when it was already there.</summary>
    public static bool TryRecord(DbConnection connection, DbTransaction transaction, InboxEntry entry, DateTimeOffset now) =>
        connection.Execute(InsertSql, new
        {
            MessageId = entry.MessageId.ToString(),
            entry.Consumer,
            CorrelationId = entry.CorrelationId.ToString(),
            entry.Outcome,
            ReceivedAt = UnixTime.ToMs(now),
        }, transaction) == 1;

    /// <summary>Deletes at most <paramref name="limit"/> entries received at or before the cutoff.</summary>
    public static int DeleteReceivedBefore(DbConnection connection, DbTransaction transaction, DateTimeOffset cutoff, int limit) =>
        connection.Execute(DeleteReceivedBeforeSql, new { Cutoff = UnixTime.ToMs(cutoff), Limit = limit }, transaction);
}

/// <summary>A handled command: <see cref="Outcome"/> is <c>succeeded</c> or the failure reason.</summary>
internal sealed record InboxEntry(Guid MessageId, string Consumer, Guid CorrelationId, string Outcome);
