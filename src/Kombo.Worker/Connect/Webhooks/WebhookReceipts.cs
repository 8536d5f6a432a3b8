using System.Data.Common;
using Dapper;
using Kombo.Worker.Storage;

namespace Kombo.Worker.Connect.Webhooks;

/// <summary>The webhook_receipts table: the ids of the webhooks received, for <see cref="RetentionOptions.WebhookIds"/>.</summary>
internal static class WebhookReceipts
{
    private const string InsertSql = """
        INSERT INTO webhook_receipts (inbox_id, received_at) VALUES (@InboxId, @Now) ON CONFLICT DO NOTHING
        """;

    private const string DeleteBeforeSql = """
        DELETE FROM webhook_receipts WHERE inbox_id IN (
            SELECT inbox_id FROM webhook_receipts WHERE received_at <= @Cutoff LIMIT @Limit)
        """;

    public static ExpiringRows Expiring { get; } = new("webhook_receipts", (_, retention) => retention.WebhookIds, (connection, transaction, cutoff, limit) =>
        connection.Execute(DeleteBeforeSql, new { Cutoff = UnixTime.ToMs(cutoff), Limit = limit }, transaction));

    /// <returns>False when a webhook of that id was received before: a replay.</returns>
    public static bool TryRecord(DbConnection connection, DbTransaction transaction, Guid inboxId, DateTimeOffset now) =>
        connection.Execute(InsertSql, new { InboxId = inboxId.ToString(), Now = UnixTime.ToMs(now) }, transaction) == 1;
}
