using System.Data.Common;
using Kombo.Contracts;
using Kombo.Worker.Connect.Redemption;
using Kombo.Worker.KomboApi;
using Kombo.Worker.Operations;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Connect.Webhooks;

/// <summary>
/// Applies a verified webhook like a command: its id is the inbox key, and what it changes in the integrations table
/// commits in one transaction with the events it announces, in each end user's order. Every decision (already
/// announced, already deleted, older than the stored state) is taken inside that transaction, against what the
/// single writer has committed, so duplicate and reordered deliveries have one effect.
/// </summary>
internal sealed partial class IntegrationLifecycle(
    TransactionalOutbox outbox, WorkerMetrics metrics, IOptions<KomboOptions> komboOptions, ILogger<IntegrationLifecycle> logger)
{
    public const string Name = "kombo-webhook";

    private readonly SettlementRules _rules = new(komboOptions.Value.ConnectTokenLifetime);

    /// <returns>False when the webhook had been handled before (nothing was written, or only its receipt).</returns>
    public async Task<bool> HandleAsync(KomboWebhook webhook, CancellationToken cancellationToken)
    {
        var inboxId = WebhookIds.Inbox(webhook.Id);
        var handled = await outbox.CommitAsync(new InboxEntry(inboxId, Name, inboxId, webhook.Type), (connection, transaction, now) =>
            // Past the inbox's window a webhook is known by its receipt alone: a replay changes and announces nothing.
            !WebhookReceipts.TryRecord(connection, transaction, inboxId, now)
                ? Applied.Replay
                : new Applied(webhook switch
                {
                    IntegrationCreatedWebhook created => Created(connection, transaction, created, inboxId, now),
                    IntegrationDeletedWebhook deleted => Deleted(connection, transaction, deleted, inboxId, now),
                    IntegrationStateChangedWebhook changed => StateChanged(connection, transaction, changed, inboxId, now),
                    ConnectionFlowFailedWebhook failed => [FlowFailed(failed, inboxId, now)],
                    _ => [],
                }, IsReplay: false),
            applied => applied.Outgoing, cancellationToken);

        if (handled is null or { IsReplay: true })
        {
            LogDuplicate(webhook.Id, webhook.Type);
        }

        return handled is { IsReplay: false };
    }

    private IReadOnlyList<OutgoingMessage> Created(
        DbConnection connection, DbTransaction transaction, IntegrationCreatedWebhook webhook, Guid inboxId, DateTimeOffset now)
    {
        var stored = IntegrationStore.Find(connection, webhook.IntegrationId, transaction);
        if (stored?.DeletedAt is not null)
        {
            // Delivered after its deletion: announcing it now would attach an integration that no longer exists.
            LogCreatedAfterDeletion(webhook.Id, webhook.IntegrationId);
            return [];
        }

        var also = webhook.EndUser.OriginId is { } originId
            ? IntegrationStore.ConnectedIntegrationIds(connection, originId, webhook.Tool, transaction)
                .Where(id => id != webhook.IntegrationId).ToList()
            : [];
        IntegrationStore.UpsertReported(connection, transaction, Reported(webhook.IntegrationId, webhook.Tool, webhook.Category, webhook.EndUser), now);

        // A redemption that Kombo answered "invalid" after an earlier attempt may have spent its token waits for this.
        var settled = RedemptionSettlement.FromCreatedWebhook(connection, transaction, webhook.IntegrationId, _rules, now);
        if (settled.Count > 0)
        {
            LogSettledRedemption(webhook.Id, webhook.IntegrationId);
        }

        if (stored?.AnnouncedAt is not null)
        {
            return settled;
        }

        IntegrationStore.MarkAnnounced(connection, transaction, webhook.IntegrationId, now);
        if (also.Count > 0)
        {
            metrics.DuplicateIntegration(webhook.Tool);
        }

        var created = new IntegrationCreated
        {
            IntegrationId = webhook.IntegrationId,
            Tool = webhook.Tool,
            Category = webhook.Category,
            EndUserOriginId = webhook.EndUser.OriginId,
            EndUserOrganizationName = webhook.EndUser.OrganizationName,
            EndUserEmail = webhook.EndUser.CreatorEmail,
            AlsoConnectedIntegrationIds = also,
            CreatedAt = UnixTime.Truncate(now),
        };
        return [OutgoingMessage.Event(
            WebhookIds.OfIntegrationEvent(webhook.IntegrationId, nameof(IntegrationCreated)), created, inboxId, webhook.EndUser.OriginId), .. settled];
    }

    private static IReadOnlyList<OutgoingMessage> Deleted(
        DbConnection connection, DbTransaction transaction, IntegrationDeletedWebhook webhook, Guid inboxId, DateTimeOffset now)
    {
        // Recorded even for an integration never seen, so that its integration-created, delivered late, announces nothing.
        IntegrationStore.UpsertReported(connection, transaction, Reported(webhook.IntegrationId, webhook.Tool, webhook.Category, webhook.EndUser), now);
        if (!IntegrationStore.MarkDeleted(connection, transaction, webhook.IntegrationId, webhook.DeletedAt, now))
        {
            return [];
        }

        var deleted = new IntegrationDeleted
        {
            IntegrationId = webhook.IntegrationId,
            Tool = webhook.Tool,
            Category = webhook.Category,
            EndUserOriginId = webhook.EndUser.OriginId,
            DeletedAt = webhook.DeletedAt,
        };
        return [OutgoingMessage.Event(
            WebhookIds.OfIntegrationEvent(webhook.IntegrationId, nameof(IntegrationDeleted)), deleted, inboxId, webhook.EndUser.OriginId)];
    }

    private IReadOnlyList<OutgoingMessage> StateChanged(
        DbConnection connection, DbTransaction transaction, IntegrationStateChangedWebhook webhook, Guid inboxId, DateTimeOffset now)
    {
        var stored = IntegrationStore.Find(connection, webhook.IntegrationId, transaction);
        if (stored is null)
        {
            IntegrationStore.UpsertReported(connection, transaction, Reported(webhook.IntegrationId, webhook.Tool, webhook.Category, webhook.EndUser), now);
        }

        var change = new StateChange(webhook.IntegrationId, webhook.State, webhook.SetupStatus, webhook.QaStatus, webhook.UpdatedAt);
        if (!IntegrationStore.RecordStateChange(connection, transaction, webhook.Id, change, now))
        {
            LogStaleStateChange(webhook.Id, webhook.IntegrationId);
            return [];
        }

        if (stored?.DeletedAt is not null)
        {
            return [];
        }

        var changed = new IntegrationStateChanged
        {
            IntegrationId = webhook.IntegrationId,
            Tool = webhook.Tool,
            EndUserOriginId = webhook.EndUser.OriginId,
            State = webhook.State,
            SetupStatus = webhook.SetupStatus,
            QaStatus = webhook.QaStatus,
            UpdatedAt = webhook.UpdatedAt,
        };
        return [OutgoingMessage.Event(MessageIds.Derive(inboxId, nameof(IntegrationStateChanged)), changed, inboxId, webhook.EndUser.OriginId)];
    }

    private static OutgoingMessage FlowFailed(ConnectionFlowFailedWebhook webhook, Guid inboxId, DateTimeOffset now) =>
        OutgoingMessage.Event(MessageIds.Derive(inboxId, nameof(ConnectionFlowFailed)), new ConnectionFlowFailed
        {
            Tool = webhook.Tool,
            Category = webhook.Category,
            EndUserOriginId = webhook.EndUser.OriginId,
            EndUserOrganizationName = webhook.EndUser.OrganizationName,
            LogUrl = webhook.LogUrl,
            FailedAt = UnixTime.Truncate(now),
        }, inboxId, webhook.EndUser.OriginId);

    private static ReportedIntegration Reported(string integrationId, string tool, string category, WebhookEndUser endUser) =>
        new(integrationId, tool, category, endUser.OriginId, endUser.OrganizationName, endUser.CreatorEmail);

    /// <summary>What a webhook changed: the messages it announces, or nothing for a replay.</summary>
    private sealed record Applied(IReadOnlyList<OutgoingMessage> Outgoing, bool IsReplay)
    {
        public static readonly Applied Replay = new([], IsReplay: true);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook {WebhookId} reports integration {IntegrationId}, which settles a pending redemption")]
    private partial void LogSettledRedemption(string webhookId, string integrationId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook {WebhookId} ({WebhookType}) was handled before; nothing changed")]
    private partial void LogDuplicate(string webhookId, string webhookType);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook {WebhookId} reports integration {IntegrationId} created after its deletion; not announced")]
    private partial void LogCreatedAfterDeletion(string webhookId, string integrationId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook {WebhookId} changes the state of {IntegrationId} as of an older time than the stored state; recorded, not applied")]
    private partial void LogStaleStateChange(string webhookId, string integrationId);
}
