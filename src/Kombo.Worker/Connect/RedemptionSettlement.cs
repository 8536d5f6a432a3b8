using System.Data.Common;
using Kombo.Contracts;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;

namespace Kombo.Worker.Connect;

/// <summary>
/// Settles redemptions whose outcome was uncertain: Kombo answered "invalid or expired" after an earlier attempt of
/// ours may have spent the token. Such a command waits (acknowledged, its attempt marked pending) for the
/// <c>integration-created</c> webhook of the integration its token made, and is answered from it.
/// </summary>
/// <remarks>
/// A webhook does not name the token, so the match is by end user: the integration's origin id equals the attempt's
/// expected origin id, no redemption has claimed it yet, and it was recorded within one token lifetime of the
/// attempt (Kombo sends the webhook when the end user finishes the flow, the moment the token is issued, so it
/// usually arrives before the redemption). Ambiguity, when one end user has several unclaimed integrations or several
/// pending redemptions, is resolved first come, first served: the oldest pending attempt takes the oldest unclaimed
/// integration. Any pick gives the command an integration that Kombo really made for that same end user; the
/// others are still announced by <see cref="IntegrationCreated"/>. An attempt without an expected origin cannot be
/// matched and is answered <see cref="FailureReasons.OutcomeUnknown"/>.
/// All of this runs inside the writer's transaction, so one integration settles at most one token.
/// </remarks>
internal static class RedemptionSettlement
{
    /// <summary>Where settled answers are recorded in the inbox (the command itself was acknowledged long before).</summary>
    public const string Name = "redeem-connect-token-settlement";

    /// <summary>
    /// Claims <paramref name="integration"/> for the token and answers every command pending on it.
    /// </summary>
    public static IReadOnlyList<OutgoingMessage> Claim(
        DbConnection connection, DbTransaction transaction, string tokenHash, StoredIntegration integration,
        Guid eventId, string settledAs, DateTimeOffset now)
    {
        if (TokenRedemptionStore.Find(connection, tokenHash, transaction) is null)
        {
            TokenRedemptionStore.Insert(connection, transaction, tokenHash, integration.IntegrationId, eventId, now);
        }

        RedemptionAttemptStore.CloseAll(connection, transaction, tokenHash, "redeemed");
        var redemption = TokenRedemptionStore.Find(connection, tokenHash, transaction)!;
        var also = AlsoConnected(connection, transaction, integration.EndUserOriginId, integration.Tool, integration.IntegrationId);
        var outgoing = new List<OutgoingMessage>();
        foreach (var attempt in RedemptionAttemptStore.PendingForToken(connection, transaction, tokenHash))
        {
            RedemptionAttemptStore.Settle(connection, transaction, tokenHash, attempt.Command, settledAs, now);
            outgoing.AddRange(AnswerPending(attempt, redemption, also));
        }

        return outgoing;
    }

    /// <summary>An integration-created webhook was recorded: settles the oldest redemption it can answer.</summary>
    public static IReadOnlyList<OutgoingMessage> FromCreatedWebhook(
        DbConnection connection, DbTransaction transaction, string integrationId, TimeSpan tokenLifetime, DateTimeOffset now)
    {
        var integration = IntegrationStore.Find(connection, integrationId, transaction);
        if (integration is not { EndUserOriginId: { } originId, DeletedAt: null }
            || IntegrationStore.IsClaimed(connection, transaction, integrationId))
        {
            return [];
        }

        var attempt = RedemptionAttemptStore.EarliestPendingForOrigin(connection, transaction, originId, now - tokenLifetime);
        return attempt is null
            ? []
            : Claim(connection, transaction, attempt.TokenHash, integration, MessageIds.Derive(attempt.Command, nameof(IntegrationConnected)), "webhook", now);
    }

    /// <summary>An integration already received that could be what the token made, or null.</summary>
    public static StoredIntegration? AlreadyReceived(
        DbConnection connection, DbTransaction transaction, string tokenHash, string? expectedOriginId, TimeSpan tokenLifetime)
    {
        if (expectedOriginId is null || RedemptionAttemptStore.EarliestStart(connection, transaction, tokenHash) is not { } firstAttempt)
        {
            return null;
        }

        return IntegrationStore.OldestUnclaimed(connection, transaction, expectedOriginId, UnixTime.FromMs(firstAttempt) - tokenLifetime);
    }

    public static IReadOnlyList<string> AlsoConnected(
        DbConnection connection, DbTransaction transaction, string? originId, string tool, string integrationId) =>
        originId is null
            ? []
            : IntegrationStore.ConnectedIntegrationIds(connection, originId, tool, transaction).Where(id => id != integrationId).ToList();

    /// <summary>Says the outcome is unknown, for an attempt nothing settled in time.</summary>
    public static IReadOnlyList<OutgoingMessage> AnswerUnknown(RedemptionAttempt attempt, DateTimeOffset now) =>
        Answer(attempt, OutcomeUnknown(attempt.Correlation, attempt.ExpectedEndUserOriginId, now), attempt.ExpectedEndUserOriginId, null);

    public static ConnectTokenRedemptionFailed OutcomeUnknown(Guid correlationId, string? expectedOriginId, DateTimeOffset now) => new()
    {
        CorrelationId = correlationId,
        ExpectedEndUserOriginId = expectedOriginId,
        Reason = FailureReasons.OutcomeUnknown,
        Message = "An earlier attempt may have redeemed this token, Kombo now calls it invalid, and no integration-created "
            + "webhook settled it. The integration may exist: look in Kombo's dashboard for a new integration of the expected "
            + "end user before asking them to connect again.",
        Retryable = false,
        FailedAt = now,
    };

    private static IReadOnlyList<OutgoingMessage> AnswerPending(RedemptionAttempt attempt, Redemption redemption, IReadOnlyList<string> also)
    {
        if (!attempt.SkipOriginCheck && !string.Equals(attempt.ExpectedEndUserOriginId, redemption.EndUserOriginId, StringComparison.Ordinal))
        {
            var failed = new ConnectTokenRedemptionFailed
            {
                CorrelationId = attempt.Correlation,
                ExpectedEndUserOriginId = attempt.ExpectedEndUserOriginId,
                Reason = FailureReasons.OriginMismatch,
                Message = "The integration belongs to another end user than the command expected; it was announced to no one.",
                Retryable = false,
                FailedAt = UnixTime.FromMs(redemption.ConnectedAt),
            };
            return Answer(attempt, failed, attempt.ExpectedEndUserOriginId, null);
        }

        var connected = RedemptionAnswers.Connected(redemption, attempt.Correlation, originVerified: !attempt.SkipOriginCheck, also);
        return Answer(attempt, connected, redemption.EndUserOriginId, Guid.Parse(redemption.EventMessageId));
    }

    /// <summary>What <see cref="OutgoingMessage.Answer"/> writes, for a command whose consume context is long gone.</summary>
    private static IReadOnlyList<OutgoingMessage> Answer(RedemptionAttempt attempt, object message, string? orderingKey, Guid? eventId)
    {
        var type = OutboxMessageTypes.NameOf(message);
        var address = attempt.Address;
        var published = new OutgoingMessage(
            eventId ?? MessageIds.Derive(attempt.Command, type), type, OutboxMessageTypes.Serialize(message), attempt.Correlation,
            address.ConversationId, attempt.Command, null, null, orderingKey);
        if (address is not { RequestId: { } requestId, ResponseAddress: { } responseAddress })
        {
            return [published];
        }

        return [published, published with
        {
            MessageId = MessageIds.Derive(attempt.Command, "response:" + type),
            RequestId = requestId,
            Destination = responseAddress,
            OrderingKey = null,
        }];
    }
}
