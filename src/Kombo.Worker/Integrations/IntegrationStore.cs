using System.Security.Cryptography;
using System.Text;
using Dapper;
using Kombo.Contracts;
using Kombo.Worker.Storage;
using Microsoft.Data.Sqlite;

namespace Kombo.Worker.Integrations;

/// <summary>Connected integrations and the (hashed) tokens they were redeemed with.</summary>
public static class IntegrationStore
{
    private const string IsConnectedSql = """
        SELECT EXISTS (SELECT 1 FROM integrations WHERE end_user_origin_id = @EndUserOriginId AND tool = @Tool)
        """;

    private const string UpsertSql = """
        INSERT INTO integrations (integration_id, tool, end_user_origin_id, end_user_organization_name,
                                  end_user_email, setup_status, connected_at, updated_at)
        VALUES (@IntegrationId, @Tool, @EndUserOriginId, @EndUserOrganizationName,
                @EndUserEmail, @SetupStatus, @ConnectedAt, @ConnectedAt)
        ON CONFLICT (integration_id) DO UPDATE SET
            tool = excluded.tool,
            end_user_origin_id = excluded.end_user_origin_id,
            end_user_organization_name = excluded.end_user_organization_name,
            end_user_email = excluded.end_user_email,
            setup_status = excluded.setup_status,
            updated_at = excluded.updated_at
        """;

    private const string FindRedemptionSql = """
        SELECT r.event_message_id AS EventMessageId, i.integration_id AS IntegrationId, i.tool AS Tool,
               i.end_user_origin_id AS EndUserOriginId, i.end_user_organization_name AS EndUserOrganizationName,
               i.end_user_email AS EndUserEmail, i.setup_status AS SetupStatus, i.connected_at AS ConnectedAt
        FROM token_redemptions AS r
        JOIN integrations AS i ON i.integration_id = r.integration_id
        WHERE r.token_hash = @TokenHash
        """;

    private const string InsertRedemptionSql = """
        INSERT INTO token_redemptions (token_hash, integration_id, event_message_id, redeemed_at)
        VALUES (@TokenHash, @IntegrationId, @EventMessageId, @RedeemedAt)
        """;

    public static bool IsConnected(SqliteConnection connection, string endUserOriginId, string tool) =>
        connection.ExecuteScalar<bool>(IsConnectedSql, new { EndUserOriginId = endUserOriginId, Tool = tool });

    public static Redemption? FindRedemption(SqliteConnection connection, string tokenHash, SqliteTransaction? transaction = null) =>
        connection.QuerySingleOrDefault<Redemption>(FindRedemptionSql, new { TokenHash = tokenHash }, transaction);

    public static void Upsert(SqliteConnection connection, SqliteTransaction transaction, IntegrationConnected integration) =>
        connection.Execute(UpsertSql, new
        {
            integration.IntegrationId,
            integration.Tool,
            integration.EndUserOriginId,
            integration.EndUserOrganizationName,
            integration.EndUserEmail,
            integration.SetupStatus,
            ConnectedAt = UnixTime.ToMs(integration.ConnectedAt),
        }, transaction);

    public static void InsertRedemption(
        SqliteConnection connection, SqliteTransaction transaction, string tokenHash, string integrationId, Guid eventMessageId, DateTimeOffset now) =>
        connection.Execute(InsertRedemptionSql, new
        {
            TokenHash = tokenHash,
            IntegrationId = integrationId,
            EventMessageId = eventMessageId.ToString(),
            RedeemedAt = UnixTime.ToMs(now),
        }, transaction);

    /// <summary>Tokens are credentials: only this hash is ever stored.</summary>
    public static string HashToken(string token) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}

/// <summary>A token redeemed before, with the integration it gave and the id of the event that announced it.</summary>
public sealed record Redemption
{
    public string EventMessageId { get; init; } = "";

    public string IntegrationId { get; init; } = "";

    public string Tool { get; init; } = "";

    public string? EndUserOriginId { get; init; }

    public string EndUserOrganizationName { get; init; } = "";

    public string? EndUserEmail { get; init; }

    public string SetupStatus { get; init; } = "";

    public long ConnectedAt { get; init; }
}
