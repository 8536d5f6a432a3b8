using System.Data.Common;
using Dapper;
using Kombo.Worker.Storage;

namespace Kombo.Worker.Connect;

/// <summary>
/// The token_redemption_attempts table: which commands tried to redeem a token, whether one of them may have spent it,
/// and which wait for a webhook to settle them.
/// </summary>
internal static class RedemptionAttemptStore
{
    private const string AnyOpenSql = """
        SELECT EXISTS (SELECT 1 FROM token_redemption_attempts WHERE token_hash = @TokenHash AND closed_as IS NULL)
        """;

    private const string InsertSql = """
        INSERT INTO token_redemption_attempts
            (token_hash, command_id, correlation_id, expected_end_user_origin_id, skip_origin_check, started_at)
        VALUES (@TokenHash, @CommandId, @CorrelationId, @ExpectedEndUserOriginId, @SkipOriginCheck, @Now)
        ON CONFLICT DO NOTHING
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
               started_at AS StartedAt, pending_since AS PendingSince, conversation_id AS ConversationId,
               request_id AS RequestId, response_address AS ResponseAddress
        FROM token_redemption_attempts
        """;

    private const string PendingForTokenSql = SelectColumns + """
         WHERE token_hash = @TokenHash AND pending_since IS NOT NULL AND settled_at IS NULL
        ORDER BY started_at, command_id
        """;

    private const string EarliestPendingForOriginSql = SelectColumns + """
         WHERE expected_end_user_origin_id = @OriginId AND pending_since IS NOT NULL AND settled_at IS NULL
           AND started_at >= @StartedSince
        ORDER BY started_at, command_id
        LIMIT 1
        """;

    private const string EarliestStartSql = """
        SELECT MIN(started_at) FROM token_redemption_attempts WHERE token_hash = @TokenHash
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

    /// <summary>
    /// Records the attempt (once per command and token) and says whether an earlier one, of this command or another,
    /// may already have spent the token.
    /// </summary>
    public static bool RecordAndCheckEarlier(
        DbConnection connection, DbTransaction transaction, NewRedemptionAttempt attempt, DateTimeOffset now)
    {
        var earlier = connection.ExecuteScalar<bool>(AnyOpenSql, new { attempt.TokenHash }, transaction);
        connection.Execute(InsertSql, new
        {
            attempt.TokenHash,
            CommandId = attempt.CommandId.ToString(),
            CorrelationId = attempt.CorrelationId.ToString(),
            attempt.ExpectedEndUserOriginId,
            attempt.SkipOriginCheck,
            Now = UnixTime.ToMs(now),
        }, transaction);
        return earlier;
    }

    /// <summary>This attempt did not spend the token (Kombo's answer shows it).</summary>
    public static void Close(DbConnection connection, DbTransaction transaction, string tokenHash, Guid commandId, string closedAs) =>
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

    public static IReadOnlyList<RedemptionAttempt> PendingForToken(DbConnection connection, DbTransaction transaction, string tokenHash) =>
        connection.Query<RedemptionAttempt>(PendingForTokenSql, new { TokenHash = tokenHash }, transaction).AsList();

    public static RedemptionAttempt? EarliestPendingForOrigin(
        DbConnection connection, DbTransaction transaction, string originId, DateTimeOffset startedSince) =>
        connection.QuerySingleOrDefault<RedemptionAttempt>(EarliestPendingForOriginSql,
            new { OriginId = originId, StartedSince = UnixTime.ToMs(startedSince) }, transaction);

    public static long? EarliestStart(DbConnection connection, DbTransaction transaction, string tokenHash) =>
        connection.ExecuteScalar<long?>(EarliestStartSql, new { TokenHash = tokenHash }, transaction);

    public static IReadOnlyList<RedemptionAttempt> PendingBefore(DbConnection connection, DateTimeOffset before, int limit) =>
        connection.Query<RedemptionAttempt>(PendingBeforeSql, new { Before = UnixTime.ToMs(before), Limit = limit }).AsList();

    public static int DeleteFinishedBefore(DbConnection connection, DbTransaction transaction, DateTimeOffset before, int limit) =>
        connection.Execute(DeleteFinishedSql, new { Before = UnixTime.ToMs(before), Limit = limit }, transaction);

    /// <returns>False when it was settled before.</returns>
    public static bool Settle(
        DbConnection connection, DbTransaction transaction, string tokenHash, Guid commandId, string settledAs, DateTimeOffset now) =>
        connection.Execute(SettleSql, new
        {
            TokenHash = tokenHash,
            CommandId = commandId.ToString(),
            SettledAs = settledAs,
            Now = UnixTime.ToMs(now),
        }, transaction) == 1;
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

    public string? ConversationId { get; init; }

    public string? RequestId { get; init; }

    public string? ResponseAddress { get; init; }

    public Guid Command => Guid.Parse(CommandId);

    public Guid Correlation => Guid.Parse(CorrelationId);

    public AnswerAddress Address => new(
        ConversationId is { } conversation ? Guid.Parse(conversation) : null,
        RequestId is { } request ? Guid.Parse(request) : null,
        ResponseAddress is { } address ? new Uri(address) : null);
}

/// <summary>The attempt a command is about to make, as the consumer knows it.</summary>
internal sealed record NewRedemptionAttempt(
    string TokenHash, Guid CommandId, Guid CorrelationId, string? ExpectedEndUserOriginId, bool SkipOriginCheck);

/// <summary>Where a command's answer goes besides its event: what MassTransit's context said when it arrived.</summary>
internal sealed record AnswerAddress(Guid? ConversationId, Guid? RequestId, Uri? ResponseAddress);
