using Kombo.Contracts;
using Kombo.Worker.KomboApi;
using Kombo.Worker.Messaging;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;
using MassTransit;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Connect;

/// <summary>
/// Creates a reconnection link for an existing integration, Kombo's remedy for credentials that stopped working. Like
/// a connect link: the Kombo call runs outside any transaction, then the link row, the inbox row and the answer commit
/// together, in the order of the integration's end user when the worker knows it.
/// </summary>
internal sealed partial class CreateReconnectionLinkConsumer(
    KomboClient kombo,
    TransactionalOutbox outbox,
    IDatabase database,
    TimeProvider time,
    IOptions<MessagingOptions> options,
    ILogger<CreateReconnectionLinkConsumer> logger) : IConsumer<CreateReconnectionLink>
{
    public const string Name = "create-reconnection-link";

    public async Task Consume(ConsumeContext<CreateReconnectionLink> context)
    {
        var command = context.Message;
        var commandId = CommandIdentity.Of(context, command.CorrelationId, nameof(CreateReconnectionLink));
        using var scope = logger.BeginCommandScope(command.CorrelationId);

        string? orderingKey;
        using (var connection = database.Open())
        {
            if (InboxStore.HasHandled(connection, commandId, Name))
            {
                CommandLog.Duplicate(logger, commandId);
                return;
            }

            var problems = CreateReconnectionLinkValidator.Validate(command);
            if (problems.Count > 0)
            {
                await FailAsync(context, commandId, null, FailureReasons.InvalidRequest, string.Join(" ", problems), null, retryable: false);
                return;
            }

            orderingKey = IntegrationStore.Find(connection, command.IntegrationId!)?.EndUserOriginId;
        }

        KomboResult<CreatedLink> result;
        try
        {
            result = await KomboAnswerMemo.OnceAsync(context, () => kombo.RelinkAsync(command.IntegrationId!, new RelinkRequest
            {
                Language = command.Language,
                ScopeConfigId = command.ScopeConfigId,
                LinkType = command.LinkType,
            }, context.CancellationToken));
        }
        catch (KomboUnavailableException ex) when (KomboRedeliveries.IsLastAttempt(context, options.Value))
        {
            await FailAsync(context, commandId, orderingKey, FailureReasons.KomboUnavailable, ex.Message, ex.LastError, retryable: true);
            return;
        }

        if (result.Error is { } error)
        {
            var (reason, message, retryable) = error.Code == "PLATFORM.INTEGRATION_NOT_FOUND"
                ? (FailureReasons.IntegrationNotFound, "Kombo does not know this integration (never created, or deleted).", false)
                : KomboFailureClassifier.IsUnauthorized(error)
                    ? (FailureReasons.KomboUnauthorized, "Kombo refused the worker's API key; the operator must fix it (see /health/ready). Send the command again then.", true)
                    : (FailureReasons.KomboRejected, "Kombo refused to create the reconnection link.", false);
            await FailAsync(context, commandId, orderingKey, reason, message, error, retryable);
            return;
        }

        var now = time.GetUtcNow();
        var linkType = command.LinkType ?? LinkLifetime.Embedded;
        var created = new ReconnectionLinkCreated
        {
            CorrelationId = command.CorrelationId,
            IntegrationId = command.IntegrationId!,
            Link = result.Value!.Link,
            LinkType = linkType,
            CreatedAt = now,
            ExpiresAt = LinkLifetime.ExpiresAt(linkType, now),
        };

        var committed = await outbox.CommitAsync(new InboxEntry(commandId, Name, command.CorrelationId, "succeeded"), (connection, transaction, _) =>
        {
            ReconnectionLinkStore.Insert(connection, transaction, commandId, created);
            return OutgoingMessage.Answer(context, commandId, command.CorrelationId, created, orderingKey);
        }, context.CancellationToken);

        if (committed)
        {
            LogCreated(commandId, created.IntegrationId, linkType, ConnectLinkStore.Fingerprint(created.Link));
        }
    }

    private async Task FailAsync(
        ConsumeContext<CreateReconnectionLink> context, Guid commandId, string? orderingKey, string reason, string message, KomboError? error, bool retryable)
    {
        var command = context.Message;
        var failed = new ReconnectionLinkFailed
        {
            CorrelationId = command.CorrelationId,
            IntegrationId = command.IntegrationId,
            Reason = reason,
            Message = message,
            KomboErrorCode = error?.Code,
            KomboErrorMessage = error?.Message,
            KomboLogUrl = error?.LogUrl,
            Retryable = retryable,
            FailedAt = time.GetUtcNow(),
        };

        await outbox.AnswerAsync(context, new InboxEntry(commandId, Name, command.CorrelationId, reason), failed, orderingKey);
        CommandLog.Failed(logger, commandId, reason, error?.Code, error?.HttpStatus);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Command {CommandId} created a {LinkType} reconnection link for {IntegrationId} (fingerprint {LinkFingerprint})")]
    private partial void LogCreated(Guid commandId, string integrationId, string linkType, string linkFingerprint);
}

internal sealed class CreateReconnectionLinkConsumerDefinition(IOptions<MessagingOptions> options)
    : CommandConsumerDefinition<CreateReconnectionLinkConsumer, CreateReconnectionLink>(options, CreateReconnectionLinkConsumer.Name);
