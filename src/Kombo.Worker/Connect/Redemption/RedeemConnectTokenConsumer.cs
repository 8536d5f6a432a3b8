using Kombo.Contracts;
using Kombo.Worker.KomboApi;
using Kombo.Worker.Messaging;
using Kombo.Worker.Operations;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;
using MassTransit;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Connect.Redemption;

/// <summary>
/// Exchanges a connect token for the integration, checks that it belongs to the expected end user, records it and
/// announces it. A token redeemed before is answered from the stored integration, with the same event id.
/// </summary>
/// <remarks>
/// Kombo's tokens are single-use, so the worker asks Kombo at most once per token whenever it can: the answer is kept
/// across storage retries (<see cref="KomboAnswerMemo"/>), and every attempt is recorded before its call. Once an
/// attempt may have spent the token, no later answer of Kombo's (invalid, refused, unavailable) is taken for the
/// outcome: the command waits for the <c>integration-created</c> webhook instead (<see cref="RedemptionSettlement"/>).
/// </remarks>
internal sealed partial class RedeemConnectTokenConsumer(
    KomboClient kombo,
    TransactionalOutbox outbox,
    IDatabaseWriter writer,
    IDatabase database,
    TokenLocks tokenLocks,
    TimeProvider time,
    WorkerMetrics metrics,
    IOptions<MessagingOptions> options,
    IOptions<KomboOptions> komboOptions,
    ILogger<RedeemConnectTokenConsumer> logger) : IConsumer<RedeemConnectToken>
{
    public const string Name = "redeem-connect-token";

    private readonly SettlementRules _rules = new(komboOptions.Value.ConnectTokenLifetime);

    public async Task Consume(ConsumeContext<RedeemConnectToken> context)
    {
        var command = context.Message;
        var commandId = CommandIdentity.Of(context, command.CorrelationId, nameof(RedeemConnectToken));
        using var scope = logger.BeginCommandScope(command.CorrelationId);

        var problems = RedeemConnectTokenValidator.Validate(command);
        var tokenHash = problems.Count == 0 ? IntegrationStore.HashToken(command.Token!) : null;

        // Held until this delivery's answer is committed: a second delivery of the token then finds it (see TokenLocks).
        using var exclusive = tokenHash is null ? null : await tokenLocks.AcquireAsync(tokenHash, context.CancellationToken);
        RedeemedToken? earlier = null;
        using (var connection = database.Open())
        {
            if (InboxStore.HasHandled(connection, commandId, Name))
            {
                CommandLog.Duplicate(logger, commandId);
                return;
            }

            if (tokenHash is null)
            {
                await FailAsync(context, commandId, FailureReasons.InvalidRequest, string.Join(" ", problems), null, retryable: false);
                return;
            }

            earlier = RedemptionLedger.FindRedemption(connection, tokenHash);
        }

        var attempt = RedemptionAttempt.Of(
            new NewRedemptionAttempt(tokenHash, commandId, command.CorrelationId, command.ExpectedEndUserOriginId, command.SkipOriginCheck, null),
            AnswerAddress.Of(context));
        if (earlier is not null)
        {
            await AnswerFromEarlierRedemptionAsync(context, attempt, earlier);
            return;
        }

        RedemptionCall call;
        try
        {
            call = await KomboAnswerMemo.OnceAsync(context, () => CallKomboAsync(context, attempt));
        }
        catch (KomboUnavailableException ex) when (KomboRedeliveries.IsLastAttempt(context, options.Value))
        {
            await AnswerUnavailableAsync(context, attempt, ex);
            return;
        }

        if (call.Result.Error is { } error)
        {
            await AnswerKomboErrorAsync(context, attempt, call, error);
            return;
        }

        await RecordAsync(context, attempt, call.Result.Value!);
    }

    /// <summary>Records the attempt durably, then asks Kombo: a crash after the call still leaves the attempt known.</summary>
    private async Task<RedemptionCall> CallKomboAsync(ConsumeContext<RedeemConnectToken> context, RedemptionAttempt attempt)
    {
        var command = context.Message;
        var sentAt = context.SentTime is { } sent ? new DateTimeOffset(DateTime.SpecifyKind(sent, DateTimeKind.Utc)) : (DateTimeOffset?)null;
        var recorded = new NewRedemptionAttempt(
            attempt.TokenHash, attempt.Command, attempt.Correlation, attempt.ExpectedEndUserOriginId, attempt.SkipOriginCheck, sentAt);
        var earlierMayHaveSpent = await writer.WriteAsync(
            (connection, transaction) => RedemptionLedger.RecordAttempt(connection, transaction, recorded, time.GetUtcNow()),
            context.CancellationToken);
        KomboResult<ConnectedIntegration> result;
        try
        {
            result = komboOptions.Value.UseActivateIntegration
                ? await kombo.ActivateIntegrationAsync(command.Token!, context.CancellationToken)
                : await kombo.GetIntegrationByTokenAsync(command.Token!, context.CancellationToken);
        }
        catch (KomboUnavailableException ex) when (!ex.MayHaveTakenEffect && !earlierMayHaveSpent)
        {
            // Nothing ran at Kombo: the token is as unspent as before, and the next delivery may say "invalid" freely.
            await writer.WriteAsync(
                (connection, transaction) => RedemptionLedger.Close(connection, transaction, attempt.TokenHash, attempt.Command, "not-run") > 0,
                context.CancellationToken);
            throw;
        }

        return new RedemptionCall(result, earlierMayHaveSpent || result.Attempts > 1);
    }

    private async Task AnswerKomboErrorAsync(
        ConsumeContext<RedeemConnectToken> context, RedemptionAttempt attempt, RedemptionCall call, KomboError error)
    {
        if (call.MayHaveBeenSpent)
        {
            // Whatever Kombo says now (invalid, refused), the token may have made an integration.
            await PendAsync(context, attempt, error);
        }
        else
        {
            var command = context.Message;
            var unknownToken = IsUnknownToken(error);
            var failure = KomboFailureClassifier.IsUnauthorized(error)
                ? new RefusedAs(FailureReasons.KomboUnauthorized,
                    "Kombo refused the worker's API key; the operator must fix it (see /health/ready). Send the command again then.", Retryable: true)
                : unknownToken
                    ? new RefusedAs(FailureReasons.TokenInvalidOrExpired, "Kombo does not know this token, or it has expired.", Retryable: false)
                    : new RefusedAs(FailureReasons.KomboRejected, "Kombo refused to redeem the token.", Retryable: false);
            var resolution = await outbox.CommitAsync(
                new InboxEntry(attempt.Command, Name, command.CorrelationId, failure.Reason),
                (connection, transaction, now) => RedemptionSettlement.Refused(connection, transaction, attempt, failure, unknownToken, WebhooksOn, error, _rules, now),
                resolution => resolution.Answers, context.CancellationToken);
            LogResolution(attempt.Command, resolution, error);
        }
    }

    /// <summary>
    /// Kombo stayed unavailable through the last redelivery. An attempt whose answer was lost may have spent the token
    /// (a timeout after Kombo redeemed it), so the command waits like one Kombo called invalid; only when no attempt of
    /// the token is open (each was refused before it ran) is it answered <see cref="FailureReasons.KomboUnavailable"/>.
    /// </summary>
    private async Task AnswerUnavailableAsync(ConsumeContext<RedeemConnectToken> context, RedemptionAttempt attempt, KomboUnavailableException ex)
    {
        var command = context.Message;
        var resolution = await outbox.CommitAsync(
            new InboxEntry(attempt.Command, Name, command.CorrelationId, FailureReasons.KomboUnavailable), (connection, transaction, now) =>
                RedemptionLedger.AnyOpen(connection, transaction, attempt.TokenHash)
                    ? RedemptionSettlement.Pend(connection, transaction, attempt, CanWait(command), ex.LastError, _rules, now)
                    : new Resolution(RedemptionAnswers.Failure(attempt.Address, attempt.Command, attempt.Correlation, attempt.ExpectedEndUserOriginId,
                        FailureReasons.KomboUnavailable, ex.Message, ex.LastError, now, retryable: true), FailureReasons.KomboUnavailable),
            resolution => resolution.Answers, context.CancellationToken);
        LogResolution(attempt.Command, resolution, ex.LastError);
    }

    /// <summary>
    /// An attempt may have spent the token and Kombo's answer does not tell: settled at once from what is stored, else
    /// kept pending for the webhook that settles it (or for <see cref="PendingRedemptionSweeper"/>).
    /// </summary>
    private async Task PendAsync(ConsumeContext<RedeemConnectToken> context, RedemptionAttempt attempt, KomboError error)
    {
        var command = context.Message;
        var resolution = await outbox.CommitAsync(
            new InboxEntry(attempt.Command, Name, command.CorrelationId, "uncertain"),
            (connection, transaction, now) => RedemptionSettlement.Pend(connection, transaction, attempt, CanWait(command), error, _rules, now),
            resolution => resolution.Answers, context.CancellationToken);
        LogResolution(attempt.Command, resolution, error);
    }

    private async Task RecordAsync(ConsumeContext<RedeemConnectToken> context, RedemptionAttempt attempt, ConnectedIntegration integration)
    {
        var command = context.Message;
        var matches = RedemptionAnswers.OriginMatches(command.ExpectedEndUserOriginId, command.SkipOriginCheck, integration.EndUserOriginId);
        var eventId = MessageIds.Derive(attempt.Command, nameof(IntegrationConnected));
        var recorded = await outbox.CommitAsync(
            new InboxEntry(attempt.Command, Name, command.CorrelationId, matches ? "succeeded" : FailureReasons.OriginMismatch),
            (connection, transaction, now) => RedemptionSettlement.Record(connection, transaction, attempt, answerOwn: true, integration, eventId, now),
            recorded => recorded.Answers,
            context.CancellationToken);

        if (recorded is null)
        {
            // Another delivery of this very command answered it while Kombo was answering this one (it heard "invalid"
            // and is pending): what Kombo told this delivery settles it.
            recorded = await outbox.CommitAsync(
                new InboxEntry(MessageIds.Derive(attempt.Command, "settlement"), RedemptionSettlement.Name, command.CorrelationId, "succeeded"),
                (connection, transaction, now) => RedemptionSettlement.Record(connection, transaction, attempt, answerOwn: false, integration, eventId, now),
                recorded => recorded.Answers,
                context.CancellationToken);
            LogSettledByConcurrentDelivery(attempt.Command, integration.Id);
        }
        else if (matches)
        {
            LogConnected(attempt.Command, integration.Id, integration.SetupStatus, recorded.Also.Count);
        }
        else
        {
            CommandLog.Failed(logger, attempt.Command, FailureReasons.OriginMismatch, null, null);
        }

        if (recorded is { NewDuplicate: true })
        {
            // Counted once per integration: when its webhook came first, IntegrationLifecycle counted it already.
            metrics.DuplicateIntegration(integration.Tool);
        }
    }

    private async Task AnswerFromEarlierRedemptionAsync(ConsumeContext<RedeemConnectToken> context, RedemptionAttempt attempt, RedeemedToken earlier)
    {
        var command = context.Message;
        var outcome = !RedemptionAnswers.OriginMatches(command.ExpectedEndUserOriginId, command.SkipOriginCheck, earlier.EndUserOriginId)
            ? FailureReasons.OriginMismatch
            : earlier.DeletedAt is null ? "succeeded" : FailureReasons.IntegrationNotFound;
        var answered = await outbox.CommitAsync(new InboxEntry(attempt.Command, Name, command.CorrelationId, outcome), (connection, transaction, now) =>
        {
            var redemption = RedemptionLedger.FindRedemption(connection, attempt.TokenHash, transaction) ?? earlier;
            return RedemptionAnswers.FromRedemption(attempt, redemption, RedemptionSettlement.AlsoConnected(connection, transaction, redemption), now);
        }, context.CancellationToken);
        if (answered)
        {
            LogRedeemedAgain(attempt.Command, earlier.IntegrationId, outcome);
        }
    }

    // Only Kombo's codes for an unknown token; a 400/404/410 without a code (a wrong base URL, a removed endpoint)
    // says nothing about the token.
    private static bool IsUnknownToken(KomboError error) =>
        error.Code is "PLATFORM.INPUT_INVALID" or "PLATFORM.INTEGRATION_NOT_FOUND";

    private bool WebhooksOn => !string.IsNullOrWhiteSpace(komboOptions.Value.WebhookSecret);

    // Only a webhook can settle a pending redemption, and only one naming the end user the command expects.
    private bool CanWait(RedeemConnectToken command) => WebhooksOn && command.ExpectedEndUserOriginId is not null;

    private async Task FailAsync(
        ConsumeContext<RedeemConnectToken> context, Guid commandId, string reason, string message, KomboError? error, bool retryable,
        string? closeAttemptOf = null)
    {
        var command = context.Message;
        await outbox.CommitAsync(new InboxEntry(commandId, Name, command.CorrelationId, reason), (connection, transaction, now) =>
        {
            if (closeAttemptOf is not null)
            {
                RedemptionLedger.Close(connection, transaction, closeAttemptOf, commandId, reason);
            }

            return RedemptionAnswers.Failure(AnswerAddress.Of(context), commandId, command.CorrelationId, command.ExpectedEndUserOriginId,
                reason, message, error, now, retryable);
        }, context.CancellationToken);
        CommandLog.Failed(logger, commandId, reason, error?.Code, error?.HttpStatus);
    }

    private void LogResolution(Guid commandId, Resolution? resolution, KomboError? error)
    {
        switch (resolution?.Outcome)
        {
            case null:
                CommandLog.Duplicate(logger, commandId);
                break;
            case Resolution.Settled:
                LogSettledFromStored(commandId);
                break;
            case Resolution.Pending:
                LogPending(commandId, komboOptions.Value.RedemptionSettleWindow);
                break;
            default:
                CommandLog.Failed(logger, commandId, resolution.Outcome, error?.Code, error?.HttpStatus);
                break;
        }
    }

    /// <summary>What one delivery learnt from Kombo, kept across its storage retries.</summary>
    private sealed record RedemptionCall(KomboResult<ConnectedIntegration> Result, bool MayHaveBeenSpent);

    [LoggerMessage(Level = LogLevel.Information, Message = "Command {CommandId} connected integration {IntegrationId} ({SetupStatus}, {AlsoConnected} other of that tool)")]
    private partial void LogConnected(Guid commandId, string integrationId, string setupStatus, int alsoConnected);

    [LoggerMessage(Level = LogLevel.Information, Message = "Command {CommandId} redeemed an already redeemed token; answered from integration {IntegrationId}: {Outcome}")]
    private partial void LogRedeemedAgain(Guid commandId, string integrationId, string outcome);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Command {CommandId}: an attempt may have redeemed the token and Kombo's answer does not say what it made; waiting up to {Window} for integration-created")]
    private partial void LogPending(Guid commandId, TimeSpan window);

    [LoggerMessage(Level = LogLevel.Information, Message = "Command {CommandId}: Kombo's answer left the outcome open; settled from what is stored (a recorded redemption or an integration-created webhook)")]
    private partial void LogSettledFromStored(Guid commandId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Command {CommandId} was pending when this delivery got integration {IntegrationId} from Kombo; settled")]
    private partial void LogSettledByConcurrentDelivery(Guid commandId, string integrationId);
}

internal sealed class RedeemConnectTokenConsumerDefinition(IOptions<MessagingOptions> options)
    : CommandConsumerDefinition<RedeemConnectTokenConsumer, RedeemConnectToken>(options, RedeemConnectTokenConsumer.Name);
