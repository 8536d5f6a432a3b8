using System.Data.Common;
using Dapper;
using Kombo.Worker.Storage;

namespace Kombo.Worker.Outbox;

/// <summary>
/// What the outbox and inbox hold, for the gauges and the readiness check. Each figure is read at most once per
/// <see cref="OutboxMaxAge"/> (<see cref="InboxMaxAge"/> for the inbox, whose count walks a week of rows) however
/// often it is scraped, and only when someone asks: the command path never queries for metrics.
/// </summary>
internal sealed class OutboxStatistics(IDatabase database, TimeProvider time)
{
    public static readonly TimeSpan OutboxMaxAge = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan InboxMaxAge = TimeSpan.FromSeconds(15);

    // Both counts walk partial indexes (outbox_pending, outbox_parked), never the sent rows.
    private const string OutboxSql = """
        SELECT COUNT(*) AS Pending,
               MIN(created_at) AS OldestPendingCreatedAt,
               (SELECT COUNT(*) FROM outbox WHERE parked_at IS NOT NULL) AS Parked
        FROM outbox
        WHERE sent_at IS NULL AND parked_at IS NULL
        """;

    private const string InboxSql = "SELECT COUNT(*) FROM inbox";

    private readonly Lock _lock = new();
    private OutboxCounts? _outbox;
    private DateTimeOffset _outboxReadAt;
    private long? _inboxRows;
    private DateTimeOffset _inboxReadAt;

    public static OutboxCounts ReadOutbox(DbConnection connection)
    {
        var row = connection.QuerySingle<(long Pending, long? OldestPendingCreatedAt, long Parked)>(OutboxSql);
        return new OutboxCounts(row.Pending, row.OldestPendingCreatedAt is { } at ? UnixTime.FromMs(at) : null, row.Parked);
    }

    public static long ReadInboxRows(DbConnection connection) => connection.ExecuteScalar<long>(InboxSql);

    /// <exception cref="DbException">The database cannot be read.</exception>
    public OutboxCounts Outbox()
    {
        lock (_lock)
        {
            var now = time.GetUtcNow();
            if (_outbox is null || now - _outboxReadAt >= OutboxMaxAge)
            {
                using var connection = database.Open();
                _outbox = ReadOutbox(connection);
                _outboxReadAt = now;
            }

            return _outbox;
        }
    }

    /// <exception cref="DbException">The database cannot be read.</exception>
    public long InboxRows()
    {
        lock (_lock)
        {
            var now = time.GetUtcNow();
            if (_inboxRows is null || now - _inboxReadAt >= InboxMaxAge)
            {
                using var connection = database.Open();
                _inboxRows = ReadInboxRows(connection);
                _inboxReadAt = now;
            }

            return _inboxRows.Value;
        }
    }
}

/// <summary>Rows waiting for the relay (not parked), the commit time of the oldest of them, and parked rows.</summary>
internal sealed record OutboxCounts(long Pending, DateTimeOffset? OldestPendingAt, long Parked)
{
    public TimeSpan OldestPendingAge(DateTimeOffset now) =>
        OldestPendingAt is { } at && now > at ? now - at : TimeSpan.Zero;
}
