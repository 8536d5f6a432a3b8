using System.Data.Common;
using Dapper;
using Kombo.Worker.Storage;

namespace Kombo.Worker.Connect;

/// <summary>Redeemed connect tokens, by hash, with the integration each gave and the event that announced it.</summary>
internal static class TokenRedemptionStore
{
    private const string FindSql = """
        SELECT r.event_message_id AS EventMessageId, i.integration_id AS IntegrationId, i.tool AS Tool,
               i.category AS Category, i.end_user_origin_id AS EndUserOriginId,
               i.end_user_organization_name AS EndUserOrganizationName, i.end_user_email AS EndUserEmail,
               COALESCE(i.setup_status, '') AS SetupStatus, i.connected_at AS ConnectedAt
        FROM token_redemptions AS r
        JOIN integrations AS i ON i.integration_id = r.integration_id
        WHERE r.token_hash = @TokenHash
        """;

    private const string InsertSql = """
        INSERT INTO token_redemptions (token_hash, integration_id, event_message_id, redeemed_at)
        VALUES (@TokenHash, @IntegrationId, @EventMessageId, @RedeemedAt)
        """;

    private const string DeleteRedeemedBeforeSql = """
        DELETE FROM token_redemptions WHERE token_hash IN (
            SELECT token_hash FROM token_redemptions WHERE redeemed_at <= @Cutoff LIMIT @Limit)
        """;

    /// <summary>Old redemptions go with the inbox rows of their commands: a token is single-use at Kombo anyway.</summary>
    public static ExpiringRows Expiring { get; } = new("token_redemptions", (connection, transaction, cutoff, limit) =>
        connection.Execute(DeleteRedeemedBeforeSql, new { Cutoff = UnixTime.ToMs(cutoff), Limit = limit }, transaction));

    public static Redemption? Find(DbConnection connection, string tokenHash, DbTransaction? transaction = null) =>
        connection.QuerySingleOrDefault<Redemption>(FindSql, new { TokenHash = tokenHash }, transaction);

    public static void Insert(
        DbConnection connection, DbTransaction transaction, string tokenHash, string integrationId, Guid eventMessageId, DateTimeOffset now) =>
        connection.Execute(InsertSql, new
        {
            TokenHash = tokenHash,
            IntegrationId = integrationId,
            EventMessageId = eventMessageId.ToString(),
            RedeemedAt = UnixTime.ToMs(now),
        }, transaction);
}

/// <summary>A token redeemed before, with the integration it gave and the id of the event that announced it.</summary>
internal sealed record Redemption
{
    public string EventMessageId { get; init; } = "";

    public string IntegrationId { get; init; } = "";

    public string Tool { get; init; } = "";

    public string? Category { get; init; }

    public string? EndUserOriginId { get; init; }

    public string EndUserOrganizationName { get; init; } = "";

    public string? EndUserEmail { get; init; }

    public string SetupStatus { get; init; } = "";

    public long ConnectedAt { get; init; }
}
