using Kombo.Contracts;
using Kombo.Worker.KomboApi;
using Kombo.Worker.Messaging;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;
using MassTransit;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Connect;

/// <summary>
/// Creates a Kombo Connect link. The Kombo call runs outside any transaction; the link row, the inbox row and the
/// answer then commit together, and the command is acknowledged only after that commit.
/// </summary>
internal sealed partial class CreateConnectLinkConsumer(
    KomboClient kombo,
    TransactionalOutbox outbox,
    IDatabase database,
    TimeProvider time,
    IOptions<MessagingOptions> options,
    ILogger<CreateConnectLinkConsumer> logger) : IConsumer<CreateConnectLink>
{
    public const string Name = "create-connect-link";

    public async Task Consume(ConsumeContext<CreateConnectLink> context)
    {
        var command = context.Message;
        var commandId = CommandIdentity.Of(context, command.CorrelationId, nameof(CreateConnectLink));
        using var scope = logger.BeginCommandScope(command.CorrelationId);

        using (var connection = database.Open())
        {
            if (InboxStore.HasHandled(connection, commandId, Name))
            {
                CommandLog.Duplicate(logger, commandId);
                return;
            }

            var problems = CreateConnectLinkValidator.Validate(command);
            if (problems.Count > 0)
            {
                await FailAsync(context, commandId, FailureReasons.InvalidRequest, string.Join(" ", problems), null, retryable: false);
                return;
            }

            if (!command.AllowAdditionalConnection
                && command is { EndUserOriginId: { } originId, IntegrationTool: { } tool }
                && IntegrationStore.ConnectedIntegrationIds(connection, originId, tool) is { Count: > 0 } connected)
            {
                await FailAsync(context, commandId, FailureReasons.AlreadyConnected,
                    $"The end user already has {tool} connected ({string.Join(", ", connected)}). To renew its credentials, send "
                    + "CreateReconnectionLink for that integration; AllowAdditionalConnection creates a second, duplicate integration.",
                    null, retryable: false, connected);
                return;
            }
        }

        KomboResult<CreatedLink> result;
        try
        {
            result = await KomboAnswerMemo.OnceAsync(context, () => kombo.CreateLinkAsync(ToRequest(command), context.CancellationToken));
        }
        catch (KomboUnavailableException ex) when (KomboRedeliveries.IsLastAttempt(context, options.Value))
        {
            await FailAsync(context, commandId, FailureReasons.KomboUnavailable, ex.Message, ex.LastError, retryable: true);
            return;
        }

        if (result.Error is { } error)
        {
            var (reason, message, retryable) = KomboFailureClassifier.IsUnauthorized(error)
                ? (FailureReasons.KomboUnauthorized, "Kombo refused the worker's API key; the operator must fix it (see /health/ready). Send the command again then.", true)
                : (FailureReasons.KomboRejected, "Kombo refused to create the link.", false);
            await FailAsync(context, commandId, reason, message, error, retryable);
            return;
        }

        var now = time.GetUtcNow();
        var linkType = command.LinkType ?? LinkLifetime.Embedded;
        var created = new LinkCreated
        {
            CorrelationId = command.CorrelationId,
            EndUserOriginId = command.EndUserOriginId,
            IntegrationCategory = command.IntegrationCategory ?? "HRIS",
            IntegrationTool = command.IntegrationTool,
            Link = result.Value!.Link,
            LinkType = linkType,
            CreatedAt = now,
            ExpiresAt = LinkLifetime.ExpiresAt(linkType, now),
        };

        var committed = await outbox.CommitAsync(new InboxEntry(commandId, Name, command.CorrelationId, "succeeded"), (connection, transaction, _) =>
        {
            ConnectLinkStore.Insert(connection, transaction, commandId, created);
            return OutgoingMessage.Answer(context, commandId, command.CorrelationId, created, command.EndUserOriginId);
        }, context.CancellationToken);

        if (committed)
        {
            LogLinkCreated(commandId, linkType, ConnectLinkStore.Fingerprint(created.Link));
        }
    }

    private async Task FailAsync(
        ConsumeContext<CreateConnectLink> context, Guid commandId, string reason, string message, KomboError? error, bool retryable,
        IReadOnlyList<string>? connectedIntegrationIds = null)
    {
        var command = context.Message;
        var failed = new ConnectLinkFailed
        {
            CorrelationId = command.CorrelationId,
            EndUserOriginId = command.EndUserOriginId,
            Reason = reason,
            Message = message,
            KomboErrorCode = error?.Code,
            KomboErrorMessage = error?.Message,
            KomboLogUrl = error?.LogUrl,
            ConnectedIntegrationIds = connectedIntegrationIds ?? [],
            Retryable = retryable,
            FailedAt = time.GetUtcNow(),
        };

        await outbox.AnswerAsync(context, new InboxEntry(commandId, Name, command.CorrelationId, reason), failed, command.EndUserOriginId);
        CommandLog.Failed(logger, commandId, reason, error?.Code, error?.HttpStatus);
    }

    private static CreateLinkRequest ToRequest(CreateConnectLink command) => new()
    {
        EndUserEmail = command.EndUserEmail!,
        EndUserOrganizationName = command.EndUserOrganizationName!,
        EndUserOriginId = command.EndUserOriginId,
        RemoteEnvironment = command.RemoteEnvironment,
        IntegrationCategory = command.IntegrationCategory,
        IntegrationTool = command.IntegrationTool,
        Language = command.Language,
        ScopeConfigId = command.ScopeConfigId,
        EnableFiltering = command.EnableFiltering,
        EnableFieldMapping = command.EnableFieldMapping,
        LinkType = command.LinkType,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Command {CommandId} created a {LinkType} link (fingerprint {LinkFingerprint})")]
    private partial void LogLinkCreated(Guid commandId, string linkType, string linkFingerprint);
}

internal sealed class CreateConnectLinkConsumerDefinition(IOptions<MessagingOptions> options)
    : CommandConsumerDefinition<CreateConnectLinkConsumer, CreateConnectLink>(options, CreateConnectLinkConsumer.Name);
