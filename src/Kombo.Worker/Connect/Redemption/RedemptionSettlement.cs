using System.Data.Common;
using Kombo.Contracts;
using Kombo.Worker.KomboApi;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;

namespace Kombo.Worker.Connect.Redemption;

/// <summary>
/// Decides every redemption whose outcome Kombo's answer left open, and records the ones Kombo answered. A token whose
/// attempt may have spent it waits (acknowledged, its attempt pending) for the <c>integration-created</c> webhook of
/// the integration it made; a token Kombo calls invalid that no attempt spent (it expired in a backlog) is answered
/// from such a webhook already stored. All of it runs in the writer's transaction under
/// <see cref="RedemptionLocks"/>, so one integration settles at most one token, on one instance or many.
/// </summary>
/// <remarks>
/// A webhook does not name the token, so a token T and an integration I are matched by what T can have made:
/// <list type="bullet">
/// <item>I belongs to the end user T's command expects, is not deleted, and no token claims it;</item>
/// <item>I was first recorded no earlier than T's lifetime before T was known to exist (its command's sent time, else
/// its first attempt): Kombo makes a token's integration when the flow finishes and the token is issued. So an
/// integration re-reported under a new event id, or a signed webhook replayed long after, never settles a newer token.
/// The links this worker created do not bound it further: a token may come from a link made elsewhere, or from an
/// older one, and the end user's newest link is often created after an integration of another tool.</item>
/// </list>
/// T is settled with I only when the pair is unique: I is T's only candidate and T is the only unresolved token that
/// could have made I. Two candidates are never resolved by guessing: T stays pending, and is answered
/// <see cref="FailureReasons.OutcomeUnknown"/> if the window ends while it is still ambiguous.
/// </remarks>
internal static class RedemptionSettlement
{
    /// <summary>Where settled answers are recorded in the inbox (the command itself was acknowledged long before).</summary>
    public const string Name = "redeem-connect-token-settlement";

    // Enough to tell one candidate from several.
    private const int CandidateProbe = 2;

    /// <summary>
    /// Records what Kombo answered for the token, even for another end user than expected: the token is spent, and its
    /// rightful redemption must find the integration here. Answers every command pending on the token.
    /// </summary>
    /// <param name="answerOwn">Whether <paramref name="attempt"/>'s command is answered too (not when it was answered before).</param>
    public static RecordedRedemption Record(
        DbConnection connection, DbTransaction transaction, RedemptionAttempt attempt, bool answerOwn, ConnectedIntegration integration,
        Guid eventId, DateTimeOffset now)
    {
        var tokenHash = attempt.TokenHash;
        RedemptionLocks.Take(connection, transaction, integration.EndUserOriginId, tokenHash);
        var stored = IntegrationStore.Find(connection, integration.Id, transaction);
        var newDuplicate = false;
        var recorded = RedemptionLedger.FindRedemption(connection, tokenHash, transaction);
        if (recorded is null)
        {
            newDuplicate = stored is null && AlsoConnected(connection, transaction, integration.EndUserOriginId, integration.Tool, integration.Id).Count > 0;
            IntegrationStore.Upsert(connection, transaction, new IntegrationConnected
            {
                IntegrationId = integration.Id,
                Tool = integration.Tool,
                EndUserOriginId = integration.EndUserOriginId,
                EndUserOrganizationName = integration.EndUserOrganizationName,
                EndUserEmail = integration.EndUserEmail,
                SetupStatus = integration.SetupStatus,
                ConnectedAt = UnixTime.Truncate(now),
            });
        }

        var claimed = Claim(connection, transaction, tokenHash, IntegrationStore.Find(connection, integration.Id, transaction)!, eventId, "redeemed", now, recorded);
        IReadOnlyList<OutgoingMessage> own = answerOwn ? RedemptionAnswers.FromRedemption(attempt, claimed.Redemption, claimed.Also, now) : [];
        return new RecordedRedemption(claimed.Redemption, claimed.Also, [.. own, .. claimed.Answers], newDuplicate);
    }

    /// <summary>
    /// The command's attempt may have spent the token, and Kombo's answer does not say what it made. Answered at once
    /// from a recorded redemption or a stored matching integration; else it waits for the webhook when it can
    /// (<paramref name="canWait"/>: webhooks on and an expected end user), and is answered outcome_unknown when not.
    /// </summary>
    public static Resolution Pend(
        DbConnection connection, DbTransaction transaction, RedemptionAttempt attempt, bool canWait,
        KomboError? error, SettlementRules rules, DateTimeOffset now)
    {
        RedemptionLocks.Take(connection, transaction, attempt.ExpectedEndUserOriginId, attempt.TokenHash);
        RedemptionLedger.MarkPending(connection, transaction, attempt.TokenHash, attempt.Command, attempt.Address, now);
        if (RedemptionLedger.FindRedemption(connection, attempt.TokenHash, transaction) is { } recorded)
        {
            return new Resolution(AnswerPending(connection, transaction, attempt.TokenHash, recorded, "redeemed", now).Answers, Resolution.Settled);
        }

        if (canWait && UniqueMatch(connection, transaction, attempt.TokenHash, attempt.ExpectedEndUserOriginId, rules) is { } integration)
        {
            return new Resolution(
                Claim(connection, transaction, attempt.TokenHash, integration, MessageIds.Derive(attempt.Command, nameof(IntegrationConnected)), "webhook", now).Answers,
                Resolution.Settled);
        }

        // Without webhooks only another command's attempt under way can still settle it.
        if (canWait || RedemptionLedger.AnyOtherOpen(connection, transaction, attempt.TokenHash, attempt.Command))
        {
            return new Resolution([], Resolution.Pending);
        }

        RedemptionLedger.Settle(connection, transaction, attempt.TokenHash, attempt.Command, FailureReasons.OutcomeUnknown, now);
        return new Resolution(RedemptionAnswers.OutcomeUnknown(attempt, error, now), FailureReasons.OutcomeUnknown);
    }

    /// <summary>
    /// Kombo refused the command's first attempt, which spent nothing. Still not a failure when another command's
    /// attempt, under way beside this one on any instance, may have spent the token (Kombo answered "invalid" because
    /// of it) or has recorded its redemption: then it is answered from that redemption, now or when it commits. A token
    /// Kombo calls invalid (<paramref name="unknownToken"/>) may also have expired before its first use: the integration
    /// it made, if already stored (the same rules as a webhook's), answers it. Else it fails as <paramref name="failure"/>.
    /// </summary>
    public static Resolution Refused(
        DbConnection connection, DbTransaction transaction, RedemptionAttempt attempt, RefusedAs failure, bool unknownToken, bool webhooksOn,
        KomboError error, SettlementRules rules, DateTimeOffset now)
    {
        RedemptionLocks.Take(connection, transaction, attempt.ExpectedEndUserOriginId, attempt.TokenHash);
        if (RedemptionLedger.FindRedemption(connection, attempt.TokenHash, transaction) is { } recorded)
        {
            RedemptionLedger.MarkPending(connection, transaction, attempt.TokenHash, attempt.Command, attempt.Address, now);
            return new Resolution(AnswerPending(connection, transaction, attempt.TokenHash, recorded, "redeemed", now).Answers, Resolution.Settled);
        }

        if (RedemptionLedger.AnyOtherOpen(connection, transaction, attempt.TokenHash, attempt.Command))
        {
            // Its own answer, or the sweeper at the window's end, answers this one too.
            RedemptionLedger.MarkPending(connection, transaction, attempt.TokenHash, attempt.Command, attempt.Address, now);
            return new Resolution([], Resolution.Pending);
        }

        if (unknownToken && webhooksOn && UniqueMatch(connection, transaction, attempt.TokenHash, attempt.ExpectedEndUserOriginId, rules) is { } integration)
        {
            RedemptionLedger.MarkPending(connection, transaction, attempt.TokenHash, attempt.Command, attempt.Address, now);
            return new Resolution(
                Claim(connection, transaction, attempt.TokenHash, integration, MessageIds.Derive(attempt.Command, nameof(IntegrationConnected)), "stored-webhook", now).Answers,
                Resolution.Settled);
        }

        RedemptionLedger.Close(connection, transaction, attempt.TokenHash, attempt.Command, failure.Reason);
        return new Resolution(RedemptionAnswers.Failure(attempt.Address, attempt.Command, attempt.Correlation, attempt.ExpectedEndUserOriginId,
            failure.Reason, failure.Message, error, now, failure.Retryable), failure.Reason);
    }

    /// <summary>An integration-created webhook was recorded: settles the one pending redemption it can answer.</summary>
    public static IReadOnlyList<OutgoingMessage> FromCreatedWebhook(
        DbConnection connection, DbTransaction transaction, string integrationId, SettlementRules rules, DateTimeOffset now)
    {
        var integration = IntegrationStore.Find(connection, integrationId, transaction);
        if (integration is not { EndUserOriginId: { } originId, DeletedAt: null })
        {
            return [];
        }

        RedemptionLocks.Take(connection, transaction, originId, null);
        var tokens = TokensThatCouldHaveMade(connection, transaction, integration, rules);
        if (tokens.Count != 1 || IntegrationStore.IsClaimed(connection, transaction, integrationId))
        {
            return [];
        }

        var token = tokens[0];
        RedemptionLocks.Take(connection, transaction, null, token);
        var pending = RedemptionLedger.PendingForToken(connection, transaction, token);

        // No command waits on it yet (its attempt is under way): it finds this integration when it does.
        if (pending.Count == 0 || RedemptionLedger.FindRedemption(connection, token, transaction) is not null
            || UniqueMatch(connection, transaction, token, originId, rules)?.IntegrationId != integrationId)
        {
            return [];
        }

        return Claim(connection, transaction, token, integration, MessageIds.Derive(pending[0].Command, nameof(IntegrationConnected)), "webhook", now).Answers;
    }

    /// <summary>
    /// The settle window of a pending redemption ended: a last look for a unique match (an ambiguity may have cleared
    /// since), else outcome_unknown. Nothing when another transaction settled it meanwhile.
    /// </summary>
    public static IReadOnlyList<OutgoingMessage> Expire(
        DbConnection connection, DbTransaction transaction, RedemptionAttempt due, SettlementRules rules, DateTimeOffset now)
    {
        RedemptionLocks.Take(connection, transaction, due.ExpectedEndUserOriginId, due.TokenHash);
        var attempt = RedemptionLedger.FindAttempt(connection, transaction, due.TokenHash, due.Command);
        if (attempt is not { PendingSince: not null, SettledAt: null })
        {
            return [];
        }

        if (RedemptionLedger.FindRedemption(connection, attempt.TokenHash, transaction) is { } recorded)
        {
            return AnswerPending(connection, transaction, attempt.TokenHash, recorded, "redeemed", now).Answers;
        }

        if (UniqueMatch(connection, transaction, attempt.TokenHash, attempt.ExpectedEndUserOriginId, rules) is { } integration)
        {
            return Claim(connection, transaction, attempt.TokenHash, integration, MessageIds.Derive(attempt.Command, nameof(IntegrationConnected)), "webhook", now).Answers;
        }

        RedemptionLedger.Settle(connection, transaction, attempt.TokenHash, attempt.Command, FailureReasons.OutcomeUnknown, now);
        return RedemptionAnswers.OutcomeUnknown(attempt, null, now);
    }

    public static IReadOnlyList<string> AlsoConnected(
        DbConnection connection, DbTransaction transaction, string? originId, string tool, string integrationId) =>
        originId is null
            ? []
            : IntegrationStore.ConnectedIntegrationIds(connection, originId, tool, transaction).Where(id => id != integrationId).ToList();

    public static IReadOnlyList<string> AlsoConnected(DbConnection connection, DbTransaction transaction, RedeemedToken redemption) =>
        AlsoConnected(connection, transaction, redemption.EndUserOriginId, redemption.Tool, redemption.IntegrationId);

    /// <summary>Claims <paramref name="integration"/> for the token and answers every command pending on it.</summary>
    /// <param name="recorded">The token's redemption when the caller has just read it.</param>
    private static Claimed Claim(
        DbConnection connection, DbTransaction transaction, string tokenHash, StoredIntegration integration,
        Guid eventId, string settledAs, DateTimeOffset now, RedeemedToken? recorded = null)
    {
        var redemption = recorded ?? RedemptionLedger.FindRedemption(connection, tokenHash, transaction);
        if (redemption is null)
        {
            RedemptionLedger.InsertRedemption(connection, transaction, tokenHash, integration.IntegrationId, eventId, now);
            redemption = RedeemedToken.Of(integration, eventId);
        }

        RedemptionLedger.CloseAll(connection, transaction, tokenHash, "redeemed");
        return AnswerPending(connection, transaction, tokenHash, redemption, settledAs, now);
    }

    /// <summary>
    /// Answers the commands pending on a redeemed token. Only those this transaction settles: one the sweeper or
    /// another instance answered already is not answered a second time.
    /// </summary>
    private static Claimed AnswerPending(
        DbConnection connection, DbTransaction transaction, string tokenHash, RedeemedToken redemption, string settledAs, DateTimeOffset now)
    {
        var also = AlsoConnected(connection, transaction, redemption);
        var outgoing = new List<OutgoingMessage>();
        foreach (var attempt in RedemptionLedger.PendingForToken(connection, transaction, tokenHash))
        {
            if (RedemptionLedger.Settle(connection, transaction, tokenHash, attempt.Command, settledAs, now))
            {
                outgoing.AddRange(RedemptionAnswers.FromRedemption(attempt, redemption, also, now));
            }
        }

        return new Claimed(redemption, also, outgoing);
    }

    /// <summary>A token's redemption with the end user's other integrations of its tool, and the answers it wrote.</summary>
    private sealed record Claimed(RedeemedToken Redemption, IReadOnlyList<string> Also, IReadOnlyList<OutgoingMessage> Answers);

    /// <summary>The one integration the token can have made, when exactly one can and no other token could have made it.</summary>
    private static StoredIntegration? UniqueMatch(
        DbConnection connection, DbTransaction transaction, string tokenHash, string? originId, SettlementRules rules)
    {
        if (originId is null || WindowStart(connection, transaction, tokenHash, rules) is not { } since)
        {
            return null;
        }

        var candidates = IntegrationStore.UnclaimedSince(connection, transaction, originId, since, CandidateProbe);
        return candidates is [var only] && TokensThatCouldHaveMade(connection, transaction, only, rules) is [var token] && token == tokenHash
            ? only
            : null;
    }

    /// <summary>The unresolved tokens expected to connect the integration's end user whose window holds it.</summary>
    private static IReadOnlyList<string> TokensThatCouldHaveMade(
        DbConnection connection, DbTransaction transaction, StoredIntegration integration, SettlementRules rules)
    {
        var firstSeen = UnixTime.FromMs(integration.ConnectedAt);
        return RedemptionLedger.UnresolvedTokensOf(connection, transaction, integration.EndUserOriginId!)
            .Where(token => WindowStart(connection, transaction, token, rules) is { } since && firstSeen >= since)
            .ToList();
    }

    /// <summary>The earliest moment an integration the token made can have been first recorded.</summary>
    private static DateTimeOffset? WindowStart(DbConnection connection, DbTransaction transaction, string tokenHash, SettlementRules rules)
    {
        if (RedemptionLedger.Anchor(connection, transaction, tokenHash) is not { } anchor)
        {
            return null;
        }

        return anchor - rules.TokenLifetime;
    }
}

/// <summary>The failure a refused redemption is answered with when nothing else answers it.</summary>
internal sealed record RefusedAs(string Reason, string Message, bool Retryable);

/// <summary>What a token's lifetime allows a settlement to match (<see cref="KomboOptions.ConnectTokenLifetime"/>).</summary>
internal sealed record SettlementRules(TimeSpan TokenLifetime);

/// <summary>What a settlement decided for a command, and the answers it wrote.</summary>
/// <param name="Outcome"><see cref="Settled"/>, <see cref="Pending"/>, or the failure reason answered.</param>
internal sealed record Resolution(IReadOnlyList<OutgoingMessage> Answers, string Outcome)
{
    public const string Settled = "settled";
    public const string Pending = "pending";
}

/// <summary>A redemption Kombo answered, as recorded, with the answers it wrote (its command's and those pending on the token).</summary>
internal sealed record RecordedRedemption(
    RedeemedToken Redemption, IReadOnlyList<string> Also, IReadOnlyList<OutgoingMessage> Answers, bool NewDuplicate);
