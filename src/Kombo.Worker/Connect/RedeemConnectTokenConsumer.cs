using System.Data.Common;
using Kombo.Contracts;
using Kombo.Worker.KomboApi;
using Kombo.Worker.Messaging;
using Kombo.Worker.Operations;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;
using MassTransit;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Connect;

/// <summary>
/// Exchanges a connect token for the integration, checks that it belongs to the expected end user, records it and
/// announces it. A token redeemed before is answered from the stored integration, with the same event id.
/// </summary>
/// <remarks>
/// Kombo's tokens are single-use, so the worker asks Kombo at most once per token whenever it can: the answer is kept
/// across storage retries (<see cref="KomboAnswerMemo"/>), and every attempt is recorded before its call. When Kombo
/// calls the token invalid after an attempt of ours may have spent it, the command waits for the
/// <c>integration-created</c> webhook instead of failing (<see cref="RedemptionSettlement"/>).
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

    public async Task Consume(ConsumeContext<RedeemConnectToken> context)
    {
        var command = context.Message;
        var commandId = CommandIdentity.Of(context, command.CorrelationId, nameof(RedeemConnectToken));
        using var scope = logger.BeginCommandScope(command.CorrelationId);

        var problems = RedeemConnectTokenValidator.Validate(command);
        var tokenHash = problems.Count == 0 ? IntegrationStore.HashToken(command.Token!) : null;

        // Held until this delivery's answer is committed: a second delivery of the token then finds it (see TokenLocks).
        using var exclusive = tokenHash is null ? null : await tokenLocks.AcquireAsync(tokenHash, context.CancellationToken);
        Redemption? earlier = null;
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

            earlier = TokenRedemptionStore.Find(connection, tokenHash);
        }

        if (earlier is not null)
        {
            await AnswerFromEarlierRedemptionAsync(context, commandId, tokenHash, earlier);
            return;
        }

        RedemptionCall call;
        try
        {
            call = await KomboAnswerMemo.OnceAsync(context, () => CallKomboAsync(context, commandId, tokenHash));
        }
        catch (KomboUnavailableException ex) when (KomboRedeliveries.IsLastAttempt(context, options.Value))
        {
            await FailAsync(context, commandId, FailureReasons.KomboUnavailable, ex.Message, ex.LastError, retryable: true);
            return;
        }

        if (call.Result.Error is { } error)
        {
            await AnswerKomboErrorAsync(context, commandId, tokenHash, call, error);
            return;
        }

        await RecordAsync(context, commandId, tokenHash, call.Result.Value!);
    }

    /// <summary>Records the attempt durably, then asks Kombo: a crash after the call still leaves the attempt known.</summary>
    private async Task<RedemptionCall> CallKomboAsync(ConsumeContext<RedeemConnectToken> context, Guid commandId, string tokenHash)
    {
        var command = context.Message;
        var attempt = new NewRedemptionAttempt(tokenHash, commandId, command.CorrelationId, command.ExpectedEndUserOriginId, command.SkipOriginCheck);
        var earlierMayHaveSpent = await writer.WriteAsync(
            (connection, transaction) => RedemptionAttemptStore.RecordAndCheckEarlier(connection, transaction, attempt, time.GetUtcNow()),
            context.CancellationToken);
        var result = komboOptions.Value.UseActivateIntegration
            ? await kombo.ActivateIntegrationAsync(command.Token!, context.CancellationToken)
            : await kombo.GetIntegrationByTokenAsync(command.Token!, context.CancellationToken);
        return new RedemptionCall(result, earlierMayHaveSpent || result.Attempts > 1);
    }

    private async Task AnswerKomboErrorAsync(
        ConsumeContext<RedeemConnectToken> context, Guid commandId, string tokenHash, RedemptionCall call, KomboError error)
    {
        // An attempt that may have spent the token stays open whatever this one heard, so later ones know.
        var close = call.MayHaveBeenSpent ? null : tokenHash;
        if (KomboFailureClassifier.IsUnauthorized(error))
        {
            await FailAsync(context, commandId, FailureReasons.KomboUnauthorized,
                "Kombo refused the worker's API key; the operator must fix it (see /health/ready). Send the command again then.",
                error, retryable: true, close);
        }
        else if (!IsUnknownToken(error))
        {
            await FailAsync(context, commandId, FailureReasons.KomboRejected, "Kombo refused to redeem the token.", error, retryable: false, close);
        }
        else if (!call.MayHaveBeenSpent)
        {
            await FailAsync(context, commandId, FailureReasons.TokenInvalidOrExpired,
                "Kombo does not know this token, or it has expired.", error, retryable: false, close);
        }
        else
        {
            await AwaitSettlementAsync(context, commandId, tokenHash, error);
        }
    }

    /// <summary>
    /// Kombo calls the token invalid, but an earlier attempt of ours may have redeemed it: the integration may well
    /// exist. Settled at once from an integration-created webhook already received, else kept pending for one that
    /// comes later (or for <see cref="PendingRedemptionSweeper"/>); without webhooks nothing can settle it.
    /// </summary>
    private async Task AwaitSettlementAsync(ConsumeContext<RedeemConnectToken> context, Guid commandId, string tokenHash, KomboError error)
    {
        var command = context.Message;
        var settings = komboOptions.Value;
        if (string.IsNullOrEmpty(settings.WebhookSecret) || command.ExpectedEndUserOriginId is null)
        {
            var unknown = RedemptionSettlement.OutcomeUnknown(command.CorrelationId, command.ExpectedEndUserOriginId, time.GetUtcNow()) with
            {
                KomboErrorCode = error.Code,
                KomboErrorMessage = error.Message,
                KomboLogUrl = error.LogUrl,
            };
            await outbox.CommitAsync(new InboxEntry(commandId, Name, command.CorrelationId, FailureReasons.OutcomeUnknown), (connection, transaction, now) =>
            {
                RedemptionAttemptStore.Settle(connection, transaction, tokenHash, commandId, FailureReasons.OutcomeUnknown, now);
                return OutgoingMessage.Answer(context, commandId, command.CorrelationId, unknown, command.ExpectedEndUserOriginId);
            }, context.CancellationToken);
            CommandLog.Failed(logger, commandId, FailureReasons.OutcomeUnknown, error.Code, error.HttpStatus);
            return;
        }

        var settledAtOnce = false;
        var address = new AnswerAddress(context.ConversationId, context.RequestId, context.ResponseAddress);
        await outbox.CommitAsync(new InboxEntry(commandId, Name, command.CorrelationId, "uncertain"), (connection, transaction, now) =>
        {
            RedemptionAttemptStore.MarkPending(connection, transaction, tokenHash, commandId, address, now);
            var integration = TokenRedemptionStore.Find(connection, tokenHash, transaction) is { } recorded
                ? IntegrationStore.Find(connection, recorded.IntegrationId, transaction)
                : RedemptionSettlement.AlreadyReceived(connection, transaction, tokenHash, command.ExpectedEndUserOriginId, settings.ConnectTokenLifetime);
            if (integration is null)
            {
                return [];
            }

            settledAtOnce = true;
            return RedemptionSettlement.Claim(connection, transaction, tokenHash, integration,
                MessageIds.Derive(commandId, nameof(IntegrationConnected)), "webhook", now);
        }, context.CancellationToken);

        if (settledAtOnce)
        {
            LogSettledFromWebhook(commandId);
        }
        else
        {
            LogPending(commandId, settings.RedemptionSettleWindow);
        }
    }

    private async Task RecordAsync(ConsumeContext<RedeemConnectToken> context, Guid commandId, string tokenHash, ConnectedIntegration integration)
    {
        var command = context.Message;
        var matches = RedemptionAnswers.OriginMatches(command, integration.EndUserOriginId);
        var eventId = MessageIds.Derive(commandId, nameof(IntegrationConnected));
        IReadOnlyList<string> also = [];
        var committed = await outbox.CommitAsync(
            new InboxEntry(commandId, Name, command.CorrelationId, matches ? "succeeded" : FailureReasons.OriginMismatch), (connection, transaction, now) =>
            {
                var answered = Record(connection, transaction, tokenHash, integration, eventId, now, out var redemption);
                also = RedemptionSettlement.AlsoConnected(connection, transaction, redemption.EndUserOriginId, redemption.Tool, redemption.IntegrationId);
                var own = RedemptionAnswers.OriginMatches(command, redemption.EndUserOriginId)
                    ? OutgoingMessage.Answer(context, commandId, command.CorrelationId,
                        RedemptionAnswers.Connected(redemption, command.CorrelationId, !command.SkipOriginCheck, also),
                        redemption.EndUserOriginId, Guid.Parse(redemption.EventMessageId))
                    : OutgoingMessage.Answer(context, commandId, command.CorrelationId, OriginMismatch(command), command.ExpectedEndUserOriginId);
                return [.. own, .. answered];
            }, context.CancellationToken);

        if (!committed)
        {
            // Another delivery of this very command answered it while Kombo was answering this one (it heard "invalid"
            // and is pending): what Kombo told this delivery settles it.
            await outbox.CommitAsync(
                new InboxEntry(MessageIds.Derive(commandId, "settlement"), RedemptionSettlement.Name, command.CorrelationId, "succeeded"),
                (connection, transaction, now) => Record(connection, transaction, tokenHash, integration, eventId, now, out _),
                context.CancellationToken);
            LogSettledByConcurrentDelivery(commandId, integration.Id);
            return;
        }

        if (matches)
        {
            LogConnected(commandId, integration.Id, integration.SetupStatus, also.Count);
        }
        else
        {
            CommandLog.Failed(logger, commandId, FailureReasons.OriginMismatch, null, null);
        }
    }

    /// <summary>
    /// Records what Kombo answered for the token, even for another end user than expected: the token is spent, and
    /// its rightful redemption must find the integration here. Answers any command pending on the token.
    /// </summary>
    private IReadOnlyList<OutgoingMessage> Record(
        DbConnection connection, DbTransaction transaction,
        string tokenHash, ConnectedIntegration integration, Guid eventId, DateTimeOffset now, out Redemption redemption)
    {
        var stored = IntegrationStore.Find(connection, integration.Id, transaction);
        if (TokenRedemptionStore.Find(connection, tokenHash, transaction) is null)
        {
            var duplicates = RedemptionSettlement.AlsoConnected(connection, transaction, integration.EndUserOriginId, integration.Tool, integration.Id);
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

            // Counted once per integration: when its webhook came first, IntegrationLifecycle counted it already.
            if (stored is null && duplicates.Count > 0)
            {
                metrics.DuplicateIntegration(integration.Tool);
            }
        }

        var answered = RedemptionSettlement.Claim(
            connection, transaction, tokenHash, IntegrationStore.Find(connection, integration.Id, transaction)!, eventId, "redeemed", now);
        redemption = TokenRedemptionStore.Find(connection, tokenHash, transaction)!;
        return answered;
    }

    private async Task AnswerFromEarlierRedemptionAsync(ConsumeContext<RedeemConnectToken> context, Guid commandId, string tokenHash, Redemption earlier)
    {
        var command = context.Message;
        if (!RedemptionAnswers.OriginMatches(command, earlier.EndUserOriginId))
        {
            await FailAsync(context, commandId, FailureReasons.OriginMismatch, OriginMismatch(command).Message, null, retryable: false);
            return;
        }

        await outbox.CommitAsync(new InboxEntry(commandId, Name, command.CorrelationId, "succeeded"), (connection, transaction, _) =>
        {
            var redemption = TokenRedemptionStore.Find(connection, tokenHash, transaction) ?? earlier;
            var also = RedemptionSettlement.AlsoConnected(connection, transaction, redemption.EndUserOriginId, redemption.Tool, redemption.IntegrationId);
            return OutgoingMessage.Answer(context, commandId, command.CorrelationId,
                RedemptionAnswers.Connected(redemption, command.CorrelationId, !command.SkipOriginCheck, also),
                redemption.EndUserOriginId, Guid.Parse(redemption.EventMessageId));
        }, context.CancellationToken);
        LogRedeemedAgain(commandId, earlier.IntegrationId);
    }

    // Only Kombo's codes for an unknown token; a 400/404/410 without a code (a wrong base URL, a removed endpoint)
    // says nothing about the token.
    private static bool IsUnknownToken(KomboError error) =>
        error.Code is "PLATFORM.INPUT_INVALID" or "PLATFORM.INTEGRATION_NOT_FOUND";

    private ConnectTokenRedemptionFailed OriginMismatch(RedeemConnectToken command) => new()
    {
        CorrelationId = command.CorrelationId,
        ExpectedEndUserOriginId = command.ExpectedEndUserOriginId,
        Reason = FailureReasons.OriginMismatch,
        Message = "The integration belongs to another end user than the command expected; it was announced to no one.",
        Retryable = false,
        FailedAt = time.GetUtcNow(),
    };

    private async Task FailAsync(
        ConsumeContext<RedeemConnectToken> context, Guid commandId, string reason, string message, KomboError? error, bool retryable,
        string? closeAttemptOf = null)
    {
        var command = context.Message;
        var failed = new ConnectTokenRedemptionFailed
        {
            CorrelationId = command.CorrelationId,
            ExpectedEndUserOriginId = command.ExpectedEndUserOriginId,
            Reason = reason,
            Message = message,
            KomboErrorCode = error?.Code,
            KomboErrorMessage = error?.Message,
            KomboLogUrl = error?.LogUrl,
            Retryable = retryable,
            FailedAt = time.GetUtcNow(),
        };

        await outbox.CommitAsync(new InboxEntry(commandId, Name, command.CorrelationId, reason), (connection, transaction, _) =>
        {
            if (closeAttemptOf is not null)
            {
                RedemptionAttemptStore.Close(connection, transaction, closeAttemptOf, commandId, reason);
            }

            return OutgoingMessage.Answer(context, commandId, command.CorrelationId, failed, command.ExpectedEndUserOriginId);
        }, context.CancellationToken);
        CommandLog.Failed(logger, commandId, reason, error?.Code, error?.HttpStatus);
    }

    /// <summary>What one delivery learnt from Kombo, kept across its storage retries.</summary>
    private sealed record RedemptionCall(KomboResult<ConnectedIntegration> Result, bool MayHaveBeenSpent);

    [LoggerMessage(Level = LogLevel.Information, Message = "Command {CommandId} connected integration {IntegrationId} ({SetupStatus}, {AlsoConnected} other of that tool)")]
    private partial void LogConnected(Guid commandId, string integrationId, string setupStatus, int alsoConnected);

    [LoggerMessage(Level = LogLevel.Information, Message = "Command {CommandId} redeemed an already redeemed token; answered with integration {IntegrationId}")]
    private partial void LogRedeemedAgain(Guid commandId, string integrationId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Command {CommandId}: Kombo calls the token invalid after an earlier attempt may have redeemed it; waiting up to {Window} for integration-created")]
    private partial void LogPending(Guid commandId, TimeSpan window);

    [LoggerMessage(Level = LogLevel.Information, Message = "Command {CommandId}: Kombo calls the token invalid after an earlier attempt; settled from an integration-created webhook already received")]
    private partial void LogSettledFromWebhook(Guid commandId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Command {CommandId} was pending when this delivery got integration {IntegrationId} from Kombo; settled")]
    private partial void LogSettledByConcurrentDelivery(Guid commandId, string integrationId);
}

internal sealed class RedeemConnectTokenConsumerDefinition(IOptions<MessagingOptions> options)
    : CommandConsumerDefinition<RedeemConnectTokenConsumer, RedeemConnectToken>(options, RedeemConnectTokenConsumer.Name);
