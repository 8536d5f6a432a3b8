using System.Data.Common;
using Dapper;
using Kombo.Contracts;
using Kombo.Worker.Storage;

namespace Kombo.Worker.Connect;

/// <summary>
/// The integrations table: what redemptions and Kombo's webhooks said about each integration. It is what the
/// duplicate guard reads: an integration counts as connected until Kombo reports it deleted.
/// </summary>
internal static class IntegrationStore
{
    private const string ConnectedIdsSql = """
        SELECT integration_id FROM integrations
        WHERE end_user_origin_id = @EndUserOriginId AND tool = @Tool AND deleted_at IS NULL
        ORDER BY connected_at, integration_id
        """;

    // Integrations a webhook reported that no redemption has claimed, oldest first (see RedemptionSettlement).
    private const string UnclaimedSinceSql = """
        SELECT integration_id AS IntegrationId, tool AS Tool, category AS Category, end_user_origin_id AS EndUserOriginId,
               end_user_organization_name AS EndUserOrganizationName, end_user_email AS EndUserEmail,
               setup_status AS SetupStatus, state AS State, state_updated_at AS StateUpdatedAt,
               connected_at AS ConnectedAt, announced_at AS AnnouncedAt, deleted_at AS DeletedAt
        FROM integrations AS i
        WHERE end_user_origin_id = @EndUserOriginId AND deleted_at IS NULL AND connected_at >= @Since
          AND NOT EXISTS (SELECT 1 FROM token_redemptions AS r WHERE r.integration_id = i.integration_id)
        ORDER BY connected_at, integration_id
        LIMIT @Limit
        """;

    private const string FindSql = """
        SELECT integration_id AS IntegrationId, tool AS Tool, category AS Category, end_user_origin_id AS EndUserOriginId,
               end_user_organization_name AS EndUserOrganizationName, end_user_email AS EndUserEmail,
               setup_status AS SetupStatus, state AS State, state_updated_at AS StateUpdatedAt,
               connected_at AS ConnectedAt, announced_at AS AnnouncedAt, deleted_at AS DeletedAt
        FROM integrations WHERE integration_id = @IntegrationId
        """;

    private const string UpsertRedeemedSql = """
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

    // What a webhook says about the end user is as fresh as a redemption's answer; what it leaves out is kept.
    private const string UpsertReportedSql = """
        INSERT INTO integrations (integration_id, tool, category, end_user_origin_id, end_user_organization_name,
                                  end_user_email, connected_at, updated_at)
        VALUES (@IntegrationId, @Tool, @Category, @EndUserOriginId, @EndUserOrganizationName,
                @EndUserEmail, @Now, @Now)
        ON CONFLICT (integration_id) DO UPDATE SET
            tool = excluded.tool,
            category = excluded.category,
            end_user_origin_id = excluded.end_user_origin_id,
            end_user_organization_name = excluded.end_user_organization_name,
            end_user_email = excluded.end_user_email,
            updated_at = excluded.updated_at
        """;

    private const string MarkAnnouncedSql = """
        UPDATE integrations SET announced_at = @Now WHERE integration_id = @IntegrationId
        """;

    private const string MarkDeletedSql = """
        UPDATE integrations SET deleted_at = @DeletedAt, updated_at = @Now
        WHERE integration_id = @IntegrationId AND deleted_at IS NULL
        """;

    private const string ApplyStateSql = """
        UPDATE integrations
        SET state = @State, setup_status = COALESCE(@SetupStatus, setup_status), qa_status = @QaStatus,
            state_updated_at = @UpdatedAt, updated_at = @Now
        WHERE integration_id = @IntegrationId
        """;

    private const string RecordStateChangeSql = """
        INSERT INTO integration_state_changes
            (webhook_id, integration_id, state, setup_status, qa_status, updated_at, received_at, applied)
        VALUES (@WebhookId, @IntegrationId, @State, @SetupStatus, @QaStatus, @UpdatedAt, @Now, @Applied)
        ON CONFLICT DO NOTHING
        """;

    private const string DeleteStateChangesSql = """
        DELETE FROM integration_state_changes WHERE webhook_id IN (
            SELECT webhook_id FROM integration_state_changes WHERE received_at <= @Cutoff LIMIT @Limit)
        """;

    // Counted from when the worker recorded the deletion (Kombo's deleted_at may be long before a late delivery). A
    // row a redemption still names stays until that redemption expires with its inbox row.
    private const string DeleteDeletedSql = """
        DELETE FROM integrations WHERE integration_id IN (
            SELECT integration_id FROM integrations AS i
            WHERE deleted_at IS NOT NULL AND updated_at <= @Cutoff
              AND NOT EXISTS (SELECT 1 FROM token_redemptions AS r WHERE r.integration_id = i.integration_id)
            LIMIT @Limit)
        """;

    public static ExpiringRows ExpiringStateChanges { get; } = new("integration_state_changes", (_, retention) => retention.StateChanges,
        (connection, transaction, cutoff, limit) => connection.Execute(DeleteStateChangesSql, new { Cutoff = UnixTime.ToMs(cutoff), Limit = limit }, transaction));

    public static ExpiringRows ExpiringDeleted { get; } = new("integrations", (_, retention) => retention.DeletedIntegrations,
        (connection, transaction, cutoff, limit) => connection.Execute(DeleteDeletedSql, new { Cutoff = UnixTime.ToMs(cutoff), Limit = limit }, transaction));

    public static IReadOnlyList<string> ConnectedIntegrationIds(
        DbConnection connection, string endUserOriginId, string tool, DbTransaction? transaction = null) =>
        connection.Query<string>(ConnectedIdsSql, new { EndUserOriginId = endUserOriginId, Tool = tool }, transaction).AsList();

    /// <summary>
    /// The end user's integrations first recorded since <paramref name="since"/> that no token claims and that are not
    /// deleted, oldest first, at most <paramref name="limit"/>.
    /// </summary>
    public static IReadOnlyList<StoredIntegration> UnclaimedSince(
        DbConnection connection, DbTransaction transaction, string endUserOriginId, DateTimeOffset since, int limit) =>
        connection.Query<StoredIntegration>(UnclaimedSinceSql,
            new { EndUserOriginId = endUserOriginId, Since = UnixTime.ToMs(since), Limit = limit }, transaction).AsList();

    public static bool IsClaimed(DbConnection connection, DbTransaction transaction, string integrationId) =>
        connection.ExecuteScalar<bool>(
            "SELECT EXISTS (SELECT 1 FROM token_redemptions WHERE integration_id = @IntegrationId)", new { IntegrationId = integrationId }, transaction);

    public static StoredIntegration? Find(DbConnection connection, string integrationId, DbTransaction? transaction = null) =>
        connection.QuerySingleOrDefault<StoredIntegration>(FindSql, new { IntegrationId = integrationId }, transaction);

    public static void Upsert(DbConnection connection, DbTransaction transaction, IntegrationConnected integration) =>
        connection.Execute(UpsertRedeemedSql, new
        {
            integration.IntegrationId,
            integration.Tool,
            integration.EndUserOriginId,
            integration.EndUserOrganizationName,
            integration.EndUserEmail,
            integration.SetupStatus,
            ConnectedAt = UnixTime.ToMs(integration.ConnectedAt),
        }, transaction);

    /// <summary>Records an integration a webhook reported (created, deleted or changed), keeping what it leaves out.</summary>
    public static void UpsertReported(DbConnection connection, DbTransaction transaction, ReportedIntegration integration, DateTimeOffset now) =>
        connection.Execute(UpsertReportedSql, new
        {
            integration.IntegrationId,
            integration.Tool,
            integration.Category,
            integration.EndUserOriginId,
            integration.EndUserOrganizationName,
            integration.EndUserEmail,
            Now = UnixTime.ToMs(now),
        }, transaction);

    public static void MarkAnnounced(DbConnection connection, DbTransaction transaction, string integrationId, DateTimeOffset now) =>
        connection.Execute(MarkAnnouncedSql, new { IntegrationId = integrationId, Now = UnixTime.ToMs(now) }, transaction);

    /// <returns>False when the integration was already deleted.</returns>
    public static bool MarkDeleted(
        DbConnection connection, DbTransaction transaction, string integrationId, DateTimeOffset deletedAt, DateTimeOffset now) =>
        connection.Execute(MarkDeletedSql, new
        {
            IntegrationId = integrationId,
            DeletedAt = UnixTime.ToMs(deletedAt),
            Now = UnixTime.ToMs(now),
        }, transaction) == 1;

    /// <summary>
    /// Keeps every state change received; applies it only when it is newer (by Kombo's <c>updated_at</c>) than the
    /// one applied before, since Kombo may deliver webhooks out of order.
    /// </summary>
    /// <returns>Whether the change was applied.</returns>
    public static bool RecordStateChange(
        DbConnection connection, DbTransaction transaction, string webhookId, StateChange change, DateTimeOffset now)
    {
        var stored = Find(connection, change.IntegrationId, transaction);
        var updatedAt = UnixTime.ToMs(change.UpdatedAt);
        var applied = stored is not null && (stored.StateUpdatedAt is not { } last || updatedAt > last);
        if (applied)
        {
            connection.Execute(ApplyStateSql, new
            {
                change.IntegrationId,
                change.State,
                change.SetupStatus,
                change.QaStatus,
                UpdatedAt = updatedAt,
                Now = UnixTime.ToMs(now),
            }, transaction);
        }

        connection.Execute(RecordStateChangeSql, new
        {
            WebhookId = webhookId,
            change.IntegrationId,
            change.State,
            change.SetupStatus,
            change.QaStatus,
            UpdatedAt = updatedAt,
            Now = UnixTime.ToMs(now),
            Applied = applied,
        }, transaction);
        return applied;
    }

    /// <summary>Tokens are credentials: only this hash is ever stored.</summary>
    public static string HashToken(string token) =>
        Sha256Text.Hex(token);
}

/// <summary>One row of the integrations table.</summary>
internal sealed record StoredIntegration
{
    public string IntegrationId { get; init; } = "";

    public string Tool { get; init; } = "";

    public string? Category { get; init; }

    public string? EndUserOriginId { get; init; }

    public string EndUserOrganizationName { get; init; } = "";

    public string? EndUserEmail { get; init; }

    public string? SetupStatus { get; init; }

    public string? State { get; init; }

    public long? StateUpdatedAt { get; init; }

    public long ConnectedAt { get; init; }

    public long? AnnouncedAt { get; init; }

    public long? DeletedAt { get; init; }
}

/// <summary>An integration as a webhook describes it.</summary>
internal sealed record ReportedIntegration(
    string IntegrationId, string Tool, string? Category, string? EndUserOriginId, string EndUserOrganizationName, string? EndUserEmail);

/// <summary>What an <c>integration-state-changed</c> webhook says.</summary>
internal sealed record StateChange(
    string IntegrationId, string State, string? SetupStatus, string QaStatus, DateTimeOffset UpdatedAt);
