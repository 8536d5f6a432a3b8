using System.Data.Common;
using Dapper;
using Kombo.Contracts;
using Kombo.Worker.Storage;

namespace Kombo.Worker.Connect;

/// <summary>The reconnection_links table: one row per reconnection link created, without the link itself.</summary>
internal static class ReconnectionLinkStore
{
    private const string InsertSql = """
        INSERT INTO reconnection_links (command_id, correlation_id, integration_id, link_type, link_fingerprint, created_at, expires_at)
        VALUES (@CommandId, @CorrelationId, @IntegrationId, @LinkType, @LinkFingerprint, @CreatedAt, @ExpiresAt)
        """;

    private const string DeleteExpiredSql = """
        DELETE FROM reconnection_links WHERE command_id IN (
            SELECT command_id FROM reconnection_links WHERE expires_at <= @Cutoff LIMIT @Limit)
        """;

    public static ExpiringRows Expiring { get; } = new("reconnection_links", (_, retention) => retention.ExpiredLinks, (connection, transaction, cutoff, limit) =>
        connection.Execute(DeleteExpiredSql, new { Cutoff = UnixTime.ToMs(cutoff), Limit = limit }, transaction));

    public static void Insert(DbConnection connection, DbTransaction transaction, Guid commandId, ReconnectionLinkCreated link) =>
        connection.Execute(InsertSql, new
        {
            CommandId = commandId.ToString(),
            CorrelationId = link.CorrelationId.ToString(),
            link.IntegrationId,
            link.LinkType,
            LinkFingerprint = ConnectLinkStore.Fingerprint(link.Link),
            CreatedAt = UnixTime.ToMs(link.CreatedAt),
            ExpiresAt = UnixTime.ToMs(link.ExpiresAt),
        }, transaction);
}
