using System.Data.Common;
using Dapper;
using Kombo.Contracts;
using Kombo.Worker.Storage;

namespace Kombo.Worker.Connect;

/// <summary>The connect_links table: one row per link created, without the link itself.</summary>
internal static class ConnectLinkStore
{
    private const string InsertSql = """
        INSERT INTO connect_links (command_id, correlation_id, end_user_origin_id, integration_category,
                                   integration_tool, link_type, link_fingerprint, created_at, expires_at)
        VALUES (@CommandId, @CorrelationId, @EndUserOriginId, @IntegrationCategory,
                @IntegrationTool, @LinkType, @LinkFingerprint, @CreatedAt, @ExpiresAt)
        """;

    private const string DeleteExpiredSql = """
        DELETE FROM connect_links WHERE command_id IN (
            SELECT command_id FROM connect_links WHERE expires_at <= @Cutoff LIMIT @Limit)
        """;

    public static ExpiringRows Expiring { get; } = new("connect_links", (_, retention) => retention.ExpiredLinks, (connection, transaction, cutoff, limit) =>
        connection.Execute(DeleteExpiredSql, new { Cutoff = UnixTime.ToMs(cutoff), Limit = limit }, transaction));

    public static void Insert(DbConnection connection, DbTransaction transaction, Guid commandId, LinkCreated link) =>
        connection.Execute(InsertSql, new
        {
            CommandId = commandId.ToString(),
            CorrelationId = link.CorrelationId.ToString(),
            link.EndUserOriginId,
            link.IntegrationCategory,
            link.IntegrationTool,
            link.LinkType,
            LinkFingerprint = Fingerprint(link.Link),
            CreatedAt = UnixTime.ToMs(link.CreatedAt),
            ExpiresAt = UnixTime.ToMs(link.ExpiresAt),
        }, transaction);

    /// <summary>Enough to match a link in support cases, useless to open it.</summary>
    public static string Fingerprint(string link) =>
        Sha256Text.Hex(link)[..16];
}
