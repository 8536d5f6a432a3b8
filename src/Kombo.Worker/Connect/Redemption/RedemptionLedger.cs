using System.Data.Common;
using Dapper;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;

namespace Kombo.Worker.Connect.Redemption;

/// <summary>
/// What the worker knows of each connect token: every command's attempt at it (token_redemption_attempts: whether one
/// may have spent the token, which wait for a webhook), and the redemption that settled it (token_redemptions). Only
/// the token's hash is stored.
/// </summary>
internal static class RedemptionLedger
{
    // A sender's clock may be wrong: its sent time widens a token's window by at most this much.
    private static readonly TimeSpan MaxSentTimeLead = TimeSpan.FromDays(1);

    private const string AnyOpenSql = """
        SELECT EXISTS (SELECT 1 FROM token_redemption_attempts WHERE token_hash = @TokenHash AND closed_as IS NULL)
        """;

    private const string AnyOtherOpenSql = """
        SELECT EXISTS (SELECT 1 FROM token_redemption_attempts
                       WHERE token_hash = @TokenHash AND command_id <> @CommandId AND closed_as IS NULL AND settled_at IS NULL)
        """;

    private const string InsertSql = """
        INSERT INTO token_redemption_attempts
            (token_hash, command_id, correlation_id, expected_end_user_origin_id, skip_origin_check, started_at, sent_at)
        VALUES (@TokenHash, @CommandId, @CorrelationId, @ExpectedEndUserOriginId, @SkipOriginCheck, @Now, @SentAt)
        ON CONFLICT (token_hash, command_id) DO UPDATE SET closed_as = NULL
        """;

    private const string CloseSql = """
        UPDATE token_redemption_attempts SET closed_as = @ClosedAs
        WHERE token_hash = @TokenHash AND command_id = @CommandId AND closed_as IS NULL
        """;

    private const string CloseAllSql = """
        UPDATE token_redemption_attempts SET closed_as = @ClosedAs WHERE token_hash = @TokenHash AND closed_as IS NULL
        """;

    private const string MarkPendingSql = """
        UPDATE token_redemption_attempts
        SET pending_since = @Now, conversation_id = @ConversationId, request_id = @RequestId, response_address = @ResponseAddress
        WHERE token_hash = @TokenHash AND command_id = @CommandId AND settled_at IS NULL
        """;

    private const string SelectColumns = """
        SELECT token_hash AS TokenHash, command_id AS CommandId, correlation_id AS CorrelationId,
               expected_end_user_origin_id AS ExpectedEndUserOriginId, skip_origin_check AS SkipOriginCheck,
               started_at AS StartedAt, pending_since AS PendingSince, settled_at AS SettledAt,
               conversation_id AS ConversationId, request_id AS RequestId, response_address AS ResponseAddress
        FROM token_redemption_attempts
        """;

    private const string PendingForTokenSql = SelectColumns + """
         WHERE token_hash = @TokenHash AND pending_since IS NOT NULL AND settled_at IS NULL
        ORDER BY started_at, command_id
        """;

    private const string FindAttemptSql = SelectColumns + """
         WHERE token_hash = @TokenHash AND command_id = @CommandId
        """;

    // A token is unresolved while one of its attempts neither ended (closed) nor was answered later (settled).
    private const string UnresolvedTokensSql = """
        SELECT DISTINCT token_hash FROM token_redemption_attempts
        WHERE expected_end_user_origin_id = @OriginId AND closed_as IS NULL AND settled_at IS NULL
        """;

    // The earliest moment the token is known to have existed: its command's sent time, else its first attempt.
    private const string AnchorSql = """
        SELECT MIN(CASE WHEN sent_at IS NOT NULL AND sent_at < started_at THEN sent_at ELSE started_at END)
        FROM token_redemption_attempts WHERE token_hash = @TokenHash
        """;

    private const string PendingBeforeSql = SelectColumns + """
         WHERE pending_since IS NOT NULL AND settled_at IS NULL AND pending_since <= @Before
        ORDER BY pending_since
        LIMIT @Limit
        """;

    private const string DeleteFinishedSql = """
        DELETE FROM token_redemption_attempts WHERE (token_hash, command_id) IN (
            SELECT token_hash, command_id FROM token_redemption_attempts
            WHERE started_at <= @Before AND (pending_since IS NULL OR settled_at IS NOT NULL)
            LIMIT @Limit)
        """;

    private const string SettleSql = """
        UPDATE token_redemption_attempts SET settled_at = @Now, settled_as = @SettledAs
        WHERE token_hash = @TokenHash AND command_id = @CommandId AND settled_at IS NULL
        """;

    private const string FindRedemptionSql = """
        SELECT r.event_message_id AS EventMessageId, i.integration_id AS IntegrationId, i.tool AS Tool,
               i.category AS Category, i.end_user_origin_id AS EndUserOriginId,
               i.end_user_organization_name AS EndUserOrganizationName, i.end_user_email AS EndUserEmail,
               COALESCE(i.setup_status, '') AS SetupStatus, i.connected_at AS ConnectedAt, i.deleted_at AS DeletedAt
        FROM token_redemptions AS r
        JOIN integrations AS i ON i.integration_id = r.integration_id
        WHERE r.token_hash = @TokenHash
        """;

    private const string InsertRedemptionSql = """
        INSERT INTO token_redemptions (token_hash, integration_id, event_message_id, redeemed_at)
        VALUES (@TokenHash, @IntegrationId, @EventMessageId, @RedeemedAt)
        """;

    private const string DeleteRedeemedBeforeSql = """
        DELETE FROM token_redemptions WHERE token_hash IN (
            SELECT token_hash FROM token_redemptions WHERE redeemed_at <= @Cutoff LIMIT @Limit)
        """;

    /// <summary>Old redemptions go with the inbox rows of their commands: a token is single-use at Kombo anyway.</summary>
    public static ExpiringRows Expiring { get; } = new("token_redemptions", (outbox, _) => outbox.InboxRetention, (connection, transaction, cutoff, limit) =>
        connection.Execute(DeleteRedeemedBeforeSql, new { Cutoff = UnixTime.ToMs(cutoff), Limit = limit }, transaction));

    /// <summary>
    /// Records the attempt (one row per command and token, open again for each delivery's call) and says whether an
    /// earlier one, of this command or another, on this instance or another, may already have spent the token.
    /// </summary>
    public static bool RecordAttempt(DbConnection connection, DbTransaction transaction, NewRedemptionAttempt attempt, DateTimeOffset now)
    {
        // Check-then-insert: without the lock two instances' first attempts both see nothing open.
        RedemptionLocks.Take(connection, transaction, attempt.ExpectedEndUserOriginId, attempt.TokenHash);
        var earlier = connection.ExecuteScalar<bool>(AnyOpenSql, new { attempt.TokenHash }, transaction);
        var sentAt = attempt.SentAt is { } sent && sent < now ? Max(sent, now - MaxSentTimeLead) : (DateTimeOffset?)null;
        connection.Execute(InsertSql, new
        {
            attempt.TokenHash,
            CommandId = attempt.CommandId.ToString(),
            CorrelationId = attempt.CorrelationId.ToString(),
            attempt.ExpectedEndUserOriginId,
            attempt.SkipOriginCheck,
            Now = UnixTime.ToMs(now),
            SentAt = sentAt is { } value ? UnixTime.ToMs(value) : (long?)null,
        }, transaction);
        return earlier;
    }

    public static bool AnyOpen(DbConnection connection, DbTransaction transaction, string tokenHash) =>
        connection.ExecuteScalar<bool>(AnyOpenSql, new { TokenHash = tokenHash }, transaction);

    /// <summary>Whether another command's attempt at the token may have spent it and is still unanswered.</summary>
    public static bool AnyOtherOpen(DbConnection connection, DbTransaction transaction, string tokenHash, Guid commandId) =>
        connection.ExecuteScalar<bool>(AnyOtherOpenSql, new { TokenHash = tokenHash, CommandId = commandId.ToString() }, transaction);

    /// <summary>This attempt did not spend the token (Kombo's answer shows it).</summary>
    public static int Close(DbConnection connection, DbTransaction transaction, string tokenHash, Guid commandId, string closedAs) =>
        connection.Execute(CloseSql, new { TokenHash = tokenHash, CommandId = commandId.ToString(), ClosedAs = closedAs }, transaction);

    /// <summary>The token's redemption is recorded: no attempt of it is open any more.</summary>
    public static void CloseAll(DbConnection connection, DbTransaction transaction, string tokenHash, string closedAs) =>
        connection.Execute(CloseAllSql, new { TokenHash = tokenHash, ClosedAs = closedAs }, transaction);

    public static void MarkPending(
        DbConnection connection, DbTransaction transaction, string tokenHash, Guid commandId, AnswerAddress address, DateTimeOffset now) =>
        connection.Execute(MarkPendingSql, new
        {
            TokenHash = tokenHash,
            CommandId = commandId.ToString(),
            ConversationId = address.ConversationId?.ToString(),
            RequestId = address.RequestId?.ToString(),
            ResponseAddress = address.ResponseAddress?.ToString(),
            Now = UnixTime.ToMs(now),
        }, transaction);

    public static RedemptionAttempt? FindAttempt(DbConnection connection, DbTransaction transaction, string tokenHash, Guid commandId) =>
        connection.QuerySingleOrDefault<RedemptionAttempt>(FindAttemptSql, new { TokenHash = tokenHash, CommandId = commandId.ToString() }, transaction);

    public static IReadOnlyList<RedemptionAttempt> PendingForToken(DbConnection connection, DbTransaction transaction, string tokenHash) =>
        connection.Query<RedemptionAttempt>(PendingForTokenSql, new { TokenHash = tokenHash }, transaction).AsList();

    /// <summary>The tokens expected to connect <paramref name="originId"/> whose outcome is still open.</summary>
    public static IReadOnlyList<string> UnresolvedTokensOf(DbConnection connection, DbTransaction transaction, string originId) =>
        connection.Query<string>(UnresolvedTokensSql, new { OriginId = originId }, transaction).AsList();

    /// <summary>The earliest moment the token is known to have existed, or null when no attempt of it is recorded.</summary>
    public static DateTimeOffset? Anchor(DbConnection connection, DbTransaction transaction, string tokenHash) =>
        connection.ExecuteScalar<long?>(AnchorSql, new { TokenHash = tokenHash }, transaction) is { } ms ? UnixTime.FromMs(ms) : null;

    public static IReadOnlyList<RedemptionAttempt> PendingBefore(DbConnection connection, DateTimeOffset before, int limit) =>
        connection.Query<RedemptionAttempt>(PendingBeforeSql, new { Before = UnixTime.ToMs(before), Limit = limit }).AsList();

    public static int DeleteFinishedBefore(DbConnection connection, DbTransaction transaction, DateTimeOffset before, int limit) =>
        connection.Execute(DeleteFinishedSql, new { Before = UnixTime.ToMs(before), Limit = limit }, transaction);

    /// <returns>False when it was settled before: whoever settled it answered it.</returns>
    public static bool Settle(
        DbConnection connection, DbTransaction transaction, string tokenHash, Guid commandId, string settledAs, DateTimeOffset now) =>
        connection.Execute(SettleSql, new
        {
            TokenHash = tokenHash,
            CommandId = commandId.ToString(),
            SettledAs = settledAs,
            Now = UnixTime.ToMs(now),
        }, transaction) == 1;

    public static RedeemedToken? FindRedemption(DbConnection connection, string tokenHash, DbTransaction? transaction = null) =>
        connection.QuerySingleOrDefault<RedeemedToken>(FindRedemptionSql, new { TokenHash = tokenHash }, transaction);

    public static void InsertRedemption(
        DbConnection connection, DbTransaction transaction, string tokenHash, string integrationId, Guid eventMessageId, DateTimeOffset now) =>
        connection.Execute(InsertRedemptionSql, new
        {
            TokenHash = tokenHash,
            IntegrationId = integrationId,
            EventMessageId = eventMessageId.ToString(),
            RedeemedAt = UnixTime.ToMs(now),
        }, transaction);

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}

/// <summary>One command's attempt at a token (ids as stored: text).</summary>
internal sealed record RedemptionAttempt
{
    public string TokenHash { get; init; } = "";

    public string CommandId { get; init; } = "";

    public string CorrelationId { get; init; } = "";

    public string? ExpectedEndUserOriginId { get; init; }

    public bool SkipOriginCheck { get; init; }

    public long StartedAt { get; init; }

    public long? PendingSince { get; init; }

    public long? SettledAt { get; init; }

    public string? ConversationId { get; init; }

    public string? RequestId { get; init; }

    public string? ResponseAddress { get; init; }

    public Guid Command => Guid.Parse(CommandId);

    public Guid Correlation => Guid.Parse(CorrelationId);

    /// <summary>A command's attempt as its delivery knows it, before it is read back from the table.</summary>
    public static RedemptionAttempt Of(NewRedemptionAttempt attempt, AnswerAddress address) => new()
    {
        TokenHash = attempt.TokenHash,
        CommandId = attempt.CommandId.ToString(),
        CorrelationId = attempt.CorrelationId.ToString(),
        ExpectedEndUserOriginId = attempt.ExpectedEndUserOriginId,
        SkipOriginCheck = attempt.SkipOriginCheck,
        ConversationId = address.ConversationId?.ToString(),
        RequestId = address.RequestId?.ToString(),
        ResponseAddress = address.ResponseAddress?.ToString(),
    };

    public AnswerAddress Address => new(
        ConversationId is { } conversation ? Guid.Parse(conversation) : null,
        RequestId is { } request ? Guid.Parse(request) : null,
        ResponseAddress is { } address ? new Uri(address) : null);
}

/// <summary>The attempt a command is about to make, as the consumer knows it.</summary>
/// <param name="SentAt">When the command was sent, if its envelope says: the token existed by then.</param>
internal sealed record NewRedemptionAttempt(
    string TokenHash, Guid CommandId, Guid CorrelationId, string? ExpectedEndUserOriginId, bool SkipOriginCheck, DateTimeOffset? SentAt);

/// <summary>A token redeemed before, with the integration it gave and the id of the event that announced it.</summary>
internal sealed record RedeemedToken
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

    public long? DeletedAt { get; init; }

    /// <summary>The redemption just recorded for <paramref name="integration"/>: what the redemption query would read.</summary>
    public static RedeemedToken Of(StoredIntegration integration, Guid eventMessageId) => new()
    {
        EventMessageId = eventMessageId.ToString(),
        IntegrationId = integration.IntegrationId,
        Tool = integration.Tool,
        Category = integration.Category,
        EndUserOriginId = integration.EndUserOriginId,
        EndUserOrganizationName = integration.EndUserOrganizationName,
        EndUserEmail = integration.EndUserEmail,
        SetupStatus = integration.SetupStatus ?? "",
        ConnectedAt = integration.ConnectedAt,
        DeletedAt = integration.DeletedAt,
    };
}
