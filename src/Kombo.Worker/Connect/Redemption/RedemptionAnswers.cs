using Kombo.Contracts;
using Kombo.Worker.KomboApi;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;

namespace Kombo.Worker.Connect.Redemption;

/// <summary>
/// The answers a redemption can get, built one way whether its delivery is still running or the command waited for a
/// webhook (then its address and expectations come from its recorded attempt).
/// </summary>
internal static class RedemptionAnswers
{
    /// <summary>The answer for a recorded redemption: the same integration, whichever command asks.</summary>
    public static IReadOnlyList<OutgoingMessage> FromRedemption(
        AnswerAddress address, Guid commandId, Guid correlationId, string? expectedOriginId, bool skipOriginCheck,
        RedeemedToken redemption, IReadOnlyList<string> also, DateTimeOffset now)
    {
        if (!OriginMatches(expectedOriginId, skipOriginCheck, redemption.EndUserOriginId))
        {
            return Failure(address, commandId, correlationId, expectedOriginId, FailureReasons.OriginMismatch,
                "The integration belongs to another end user than the command expected; it was announced to no one.", null, now);
        }

        if (redemption.DeletedAt is not null)
        {
            // Announcing it would attach an integration that no longer exists.
            return Failure(address, commandId, correlationId, expectedOriginId, FailureReasons.IntegrationNotFound,
                "The token made an integration that has since been deleted; the end user must connect again.", null, now);
        }

        var connected = new IntegrationConnected
        {
            CorrelationId = correlationId,
            IntegrationId = redemption.IntegrationId,
            Tool = redemption.Tool,
            IntegrationCategory = redemption.Category,
            EndUserOriginId = redemption.EndUserOriginId,
            EndUserOrganizationName = redemption.EndUserOrganizationName,
            EndUserEmail = redemption.EndUserEmail,
            SetupStatus = redemption.SetupStatus,
            OriginVerified = !skipOriginCheck,
            AlsoConnectedIntegrationIds = also,
            ConnectedAt = UnixTime.FromMs(redemption.ConnectedAt),
        };
        return OutgoingMessage.Answer(address, commandId, correlationId, connected, redemption.EndUserOriginId, Guid.Parse(redemption.EventMessageId));
    }

    public static IReadOnlyList<OutgoingMessage> FromRedemption(
        RedemptionAttempt attempt, RedeemedToken redemption, IReadOnlyList<string> also, DateTimeOffset now) =>
        FromRedemption(attempt.Address, attempt.Command, attempt.Correlation, attempt.ExpectedEndUserOriginId, attempt.SkipOriginCheck,
            redemption, also, now);

    /// <summary>Says the outcome is unknown: an attempt may have spent the token, and nothing settled it.</summary>
    public static IReadOnlyList<OutgoingMessage> OutcomeUnknown(RedemptionAttempt attempt, KomboError? error, DateTimeOffset now) =>
        Failure(attempt.Address, attempt.Command, attempt.Correlation, attempt.ExpectedEndUserOriginId, FailureReasons.OutcomeUnknown,
            "An earlier attempt may have redeemed this token, Kombo's later answers do not say, and no integration-created "
            + "webhook settled it. The integration may exist: look in Kombo's dashboard for a new integration of the expected "
            + "end user before asking them to connect again.", error, now);

    public static IReadOnlyList<OutgoingMessage> Failure(
        AnswerAddress address, Guid commandId, Guid correlationId, string? expectedOriginId, string reason, string message,
        KomboError? error, DateTimeOffset now, bool retryable = false) =>
        OutgoingMessage.Answer(address, commandId, correlationId, new ConnectTokenRedemptionFailed
        {
            CorrelationId = correlationId,
            ExpectedEndUserOriginId = expectedOriginId,
            Reason = reason,
            Message = message,
            KomboErrorCode = error?.Code,
            KomboErrorMessage = error?.Message,
            KomboLogUrl = error?.LogUrl,
            Retryable = retryable,
            FailedAt = UnixTime.Truncate(now),
        }, expectedOriginId);

    /// <summary>One customer must not attach another customer's integration by replaying its token.</summary>
    public static bool OriginMatches(string? expectedOriginId, bool skipOriginCheck, string? actualOriginId) =>
        skipOriginCheck || string.Equals(expectedOriginId, actualOriginId, StringComparison.Ordinal);
}
