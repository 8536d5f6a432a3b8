using Kombo.Contracts;
using Kombo.Worker.Inbox;
using Kombo.Worker.Integrations;
using Kombo.Worker.KomboApi;
using Kombo.Worker.Messaging;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;
using MassTransit;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.TokenRedemption;

/// <summary>
/// Exchanges a connect token for the integration, checks that it belongs to the expected end user, records it and
/// announces it. A token redeemed before is answered from the stored integration, with the same event id.
/// </summary>
public sealed partial class RedeemConnectTokenConsumer(
    KomboClient kombo,
    TransactionalOutbox outbox,
    SqliteDatabase database,
    TimeProvider time,
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
            await AnswerFromEarlierRedemptionAsync(context, commandId, earlier);
            return;
        }

        KomboResult<ConnectedIntegration> result;
        try
        {
            result = await KomboAnswerMemo.OnceAsync(context, () => komboOptions.Value.UseActivateIntegration
                ? kombo.ActivateIntegrationAsync(command.Token!, context.CancellationToken)
                : kombo.GetIntegrationByTokenAsync(command.Token!, context.CancellationToken));
        }
        catch (KomboUnavailableException ex) when (options.Value.IsLastAttempt(context))
        {
            await FailAsync(context, commandId, FailureReasons.KomboUnavailable, ex.Message, ex.LastError, retryable: true);
            return;
        }

        if (result.Error is { } error)
        {
            var (reason, message) = IsUnknownToken(error)
                ? (FailureReasons.TokenInvalidOrExpired, "Kombo does not know this token, or it has expired.")
                : (FailureReasons.KomboRejected, "Kombo refused to redeem the token.");
            await FailAsync(context, commandId, reason, message, error, retryable: false);
            return;
        }

        var integration = result.Value!;
        if (!OriginMatches(command, integration.EndUserOriginId))
        {
            await FailOriginMismatchAsync(context, commandId);
            return;
        }

        var connected = new IntegrationConnected
        {
            CorrelationId = command.CorrelationId,
            IntegrationId = integration.Id,
            Tool = integration.Tool,
            EndUserOriginId = integration.EndUserOriginId,
            EndUserOrganizationName = integration.EndUserOrganizationName,
            EndUserEmail = integration.EndUserEmail,
            SetupStatus = integration.SetupStatus,
            ConnectedAt = UnixTime.Truncate(time.GetUtcNow()),
        };
        var eventId = MessageIds.Derive(commandId, nameof(IntegrationConnected));

        await outbox.CommitAsync(new InboxEntry(commandId, Name, command.CorrelationId, "succeeded"), (connection, transaction, now) =>
        {
            // Two commands carrying the same token may race past the lookup above: the first commit wins and
            // the second answers with the first one's event id.
            if (TokenRedemptionStore.Find(connection, tokenHash, transaction) is { } winner)
            {
                return OutgoingMessage.Answer(context, commandId, command.CorrelationId,
                    ToEvent(winner, command.CorrelationId), winner.EndUserOriginId, Guid.Parse(winner.EventMessageId));
            }

            connected = connected with { IntegrationCategory = IntegrationStore.Find(connection, connected.IntegrationId, transaction)?.Category };
            IntegrationStore.Upsert(connection, transaction, connected);
            TokenRedemptionStore.Insert(connection, transaction, tokenHash, connected.IntegrationId, eventId, now);
            return OutgoingMessage.Answer(context, commandId, command.CorrelationId, connected, connected.EndUserOriginId, eventId);
        }, context.CancellationToken);

        LogConnected(commandId, connected.IntegrationId, connected.SetupStatus);
    }

    private async Task AnswerFromEarlierRedemptionAsync(ConsumeContext<RedeemConnectToken> context, Guid commandId, Redemption earlier)
    {
        var command = context.Message;
        if (!OriginMatches(command, earlier.EndUserOriginId))
        {
            await FailOriginMismatchAsync(context, commandId);
            return;
        }

        await outbox.AnswerAsync(context, new InboxEntry(commandId, Name, command.CorrelationId, "succeeded"),
            ToEvent(earlier, command.CorrelationId), earlier.EndUserOriginId, Guid.Parse(earlier.EventMessageId));
        LogRedeemedAgain(commandId, earlier.IntegrationId);
    }

    /// <summary>One customer must not attach another customer's integration by replaying its token.</summary>
    private static bool OriginMatches(RedeemConnectToken command, string? actualOriginId) =>
        command.ExpectedEndUserOriginId is null || string.Equals(command.ExpectedEndUserOriginId, actualOriginId, StringComparison.Ordinal);

    private static bool IsUnknownToken(KomboError error) =>
        error.Code is "PLATFORM.INPUT_INVALID" or "PLATFORM.INTEGRATION_NOT_FOUND"
        || (error.Code is null && error.HttpStatus is 400 or 404 or 410);

    private static IntegrationConnected ToEvent(Redemption redemption, Guid correlationId) => new()
    {
        CorrelationId = correlationId,
        IntegrationId = redemption.IntegrationId,
        Tool = redemption.Tool,
        IntegrationCategory = redemption.Category,
        EndUserOriginId = redemption.EndUserOriginId,
        EndUserOrganizationName = redemption.EndUserOrganizationName,
        EndUserEmail = redemption.EndUserEmail,
        SetupStatus = redemption.SetupStatus,
        ConnectedAt = UnixTime.FromMs(redemption.ConnectedAt),
    };

    private Task FailOriginMismatchAsync(ConsumeContext<RedeemConnectToken> context, Guid commandId) =>
        FailAsync(context, commandId, FailureReasons.OriginMismatch,
            "The integration belongs to another end user than the command expected; nothing was recorded.", null, retryable: false);

    private async Task FailAsync(
        ConsumeContext<RedeemConnectToken> context, Guid commandId, string reason, string message, KomboError? error, bool retryable)
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

        await outbox.AnswerAsync(context, new InboxEntry(commandId, Name, command.CorrelationId, reason), failed, command.ExpectedEndUserOriginId);
        CommandLog.Failed(logger, commandId, reason, error?.Code, error?.HttpStatus);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Command {CommandId} connected integration {IntegrationId} ({SetupStatus})")]
    private partial void LogConnected(Guid commandId, string integrationId, string setupStatus);

    [LoggerMessage(Level = LogLevel.Information, Message = "Command {CommandId} redeemed an already redeemed token; answered with integration {IntegrationId}")]
    private partial void LogRedeemedAgain(Guid commandId, string integrationId);
}

public sealed class RedeemConnectTokenConsumerDefinition(IOptions<MessagingOptions> options)
    : CommandConsumerDefinition<RedeemConnectTokenConsumer, RedeemConnectToken>(options, RedeemConnectTokenConsumer.Name);
