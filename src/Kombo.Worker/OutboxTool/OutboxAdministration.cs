using System.Data.Common;
using System.Globalization;
using Dapper;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;

namespace Kombo.Worker.OutboxTool;

/// <summary>
/// The operator's SQL on the outbox: look at it, put a parked row back in line, delete sent rows. Bodies are never
/// read: a body may hold a link, which is a credential; SQL only tells whether its link was redacted.
/// </summary>
internal static class OutboxAdministration
{
    public const int PurgeBatchSize = 1000;

    private const string SentSql = "SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL";

    private const string LastErrorsSql = """
        SELECT last_error AS Error, COUNT(*) AS Rows
        FROM outbox
        WHERE sent_at IS NULL AND last_error IS NOT NULL
        GROUP BY last_error
        ORDER BY COUNT(*) DESC, MAX(sequence) DESC
        LIMIT 5
        """;

    private const string ParkedSql = """
        SELECT sequence AS Sequence, message_id AS MessageId, message_type AS MessageType, attempts AS Attempts,
               parked_at AS ParkedAt, last_error AS LastError,
               CASE WHEN body LIKE @RedactedLinkPattern THEN 1 ELSE 0 END AS RedactedLink
        FROM outbox
        WHERE parked_at IS NOT NULL
        ORDER BY sequence
        LIMIT @Limit
        """;

    private const string FindSql = """
        SELECT sequence AS Sequence, message_id AS MessageId, message_type AS MessageType, attempts AS Attempts,
               next_attempt_at AS NextAttemptAt, sent_at AS SentAt, parked_at AS ParkedAt,
               CASE WHEN body LIKE @RedactedLinkPattern THEN 1 ELSE 0 END AS RedactedLink
        FROM outbox
        WHERE sequence = @Sequence OR message_id = @MessageId
        ORDER BY sequence
        """;

    private const string ParkedMatchingSql = """
        SELECT sequence AS Sequence, message_id AS MessageId, message_type AS MessageType, attempts AS Attempts,
               next_attempt_at AS NextAttemptAt, sent_at AS SentAt, parked_at AS ParkedAt,
               CASE WHEN body LIKE @RedactedLinkPattern THEN 1 ELSE 0 END AS RedactedLink
        FROM outbox
        WHERE parked_at IS NOT NULL AND sent_at IS NULL
          AND (@MessageType IS NULL OR message_type = @MessageType)
          AND (@Error IS NULL OR instr(last_error, @Error) > 0)
        ORDER BY sequence
        """;

    // The attempts start again from zero: the row gets the full MaxAttempts before it can be parked again.
    private const string ReplaySql = """
        UPDATE outbox SET parked_at = NULL, attempts = 0, next_attempt_at = @Now
        WHERE sequence = @Sequence AND parked_at IS NOT NULL AND sent_at IS NULL
        """;

    public static OutboxStatus Status(DbConnection connection)
    {
        var outbox = OutboxStatistics.ReadOutbox(connection);
        return new OutboxStatus(
            outbox,
            connection.ExecuteScalar<long>(SentSql),
            OutboxStatistics.ReadInboxRows(connection),
            connection.Query<ErrorCount>(LastErrorsSql).AsList(),
            OutboxToolDatabase.SchemaVersion(connection));
    }

    public static IReadOnlyList<ParkedRow> Parked(DbConnection connection, int limit) =>
        connection.Query<ParkedRow>(ParkedSql, new { Limit = limit, ParkedLinkRedaction.RedactedLinkPattern }).AsList();

    /// <returns>The rows put back in line (normally one).</returns>
    /// <exception cref="OutboxToolException">No row has that id, or none of those that do is parked.</exception>
    public static IReadOnlyList<OutboxRow> Replay(DbConnection connection, string idOrSequence, DateTimeOffset now)
    {
        var (sequence, messageId) = ParseId(idOrSequence);
        using var transaction = connection.BeginTransaction();
        var rows = connection.Query<OutboxRow>(
            FindSql, new { Sequence = sequence, MessageId = messageId, ParkedLinkRedaction.RedactedLinkPattern }, transaction).AsList();
        if (rows.Count == 0)
        {
            throw new OutboxToolException($"no outbox row has message id or sequence '{idOrSequence}'");
        }

        var parked = rows.Where(r => r.ParkedAt is not null && r.SentAt is null).ToList();
        if (parked.Count == 0)
        {
            var row = rows[0];
            throw new OutboxToolException(row.SentAt is { } sentAt
                ? $"row {row.Sequence} ({row.MessageType} {row.MessageId}) is not parked: it was sent at {OutboxToolOutput.Timestamp(sentAt)}"
                : $"row {row.Sequence} ({row.MessageType} {row.MessageId}) is not parked: it is pending, next attempt at {OutboxToolOutput.Timestamp(row.NextAttemptAt)}");
        }

        if (parked.All(r => r.LinkRedacted))
        {
            var row = parked[0];
            throw new OutboxToolException(
                $"row {row.Sequence} ({row.MessageType} {row.MessageId}) is not replayed: {RedactedReason}");
        }

        var at = UnixTime.ToMs(now);
        parked = [.. parked.Where(r => !r.LinkRedacted)];
        connection.Execute(ReplaySql, parked.Select(r => new { r.Sequence, Now = at }), transaction);
        transaction.Commit();
        return parked;
    }

    /// <summary>Why a row whose link was redacted (<see cref="ParkedLinkRedaction"/>) is never replayed.</summary>
    public const string RedactedReason =
        "its link expired and was redacted, so subscribers would get a useless link; send the command again for a new one";

    /// <summary>
    /// Every parked row, or those of one message type and whose last error contains a text, back to pending; rows whose
    /// link was redacted stay parked and are returned as skipped.
    /// </summary>
    public static ReplayedRows ReplayAll(DbConnection connection, string? messageType, string? errorContains, DateTimeOffset now)
    {
        using var transaction = connection.BeginTransaction();
        var rows = connection.Query<OutboxRow>(
            ParkedMatchingSql, new { MessageType = messageType, Error = errorContains, ParkedLinkRedaction.RedactedLinkPattern }, transaction).AsList();
        var replayed = rows.Where(r => !r.LinkRedacted).ToList();
        connection.Execute(ReplaySql, replayed.Select(r => new { r.Sequence, Now = UnixTime.ToMs(now) }), transaction);
        transaction.Commit();
        return new ReplayedRows(replayed, [.. rows.Where(r => r.LinkRedacted)]);
    }

    /// <summary>Deletes in batches of <see cref="PurgeBatchSize"/>, each its own short transaction, so a running worker never waits long.</summary>
    public static long PurgeSent(DbConnection connection, DateTimeOffset cutoff)
    {
        // Each batch runs synchronously: the returned task has completed by the time it is read.
        var purge = BatchedDelete.RunAsync(_ =>
        {
            using var transaction = connection.BeginTransaction();
            var deleted = OutboxStore.DeleteSent(connection, transaction, cutoff, PurgeBatchSize);
            transaction.Commit();
            return ValueTask.FromResult(deleted);
        }, PurgeBatchSize, CancellationToken.None);
        return purge.GetAwaiter().GetResult();
    }

    private static (long? Sequence, string? MessageId) ParseId(string text) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var sequence)
            ? (sequence, null)
            : Guid.TryParse(text, out var messageId)
                ? (null, messageId.ToString())
                : throw new OutboxToolException($"'{text}' is neither a message id (a GUID) nor a sequence number");
}

internal sealed record ReplayedRows(IReadOnlyList<OutboxRow> Replayed, IReadOnlyList<OutboxRow> Skipped);

internal sealed record OutboxStatus(OutboxCounts Outbox, long Sent, long InboxRows, IReadOnlyList<ErrorCount> LastErrors, int SchemaVersion);

internal sealed record ErrorCount
{
    public string Error { get; init; } = "";

    public long Rows { get; init; }
}

internal sealed record ParkedRow
{
    public long Sequence { get; init; }

    public string MessageId { get; init; } = "";

    public string MessageType { get; init; } = "";

    public long Attempts { get; init; }

    public long ParkedAt { get; init; }

    public string? LastError { get; init; }

    public long RedactedLink { get; init; }

    public bool LinkRedacted => RedactedLink != 0;
}

internal sealed record OutboxRow
{
    public long Sequence { get; init; }

    public string MessageId { get; init; } = "";

    public string MessageType { get; init; } = "";

    public long Attempts { get; init; }

    public long NextAttemptAt { get; init; }

    public long? SentAt { get; init; }

    public long? ParkedAt { get; init; }

    public long RedactedLink { get; init; }

    public bool LinkRedacted => RedactedLink != 0;
}
