using Kombo.Worker.Outbox;

namespace Kombo.Worker.Connect.Webhooks;

/// <summary>
/// The ids a webhook is deduplicated and announced by, derived like every other id of the worker (name-based UUIDs),
/// so a webhook Kombo delivers again, or that two instances both take, writes the very same rows.
/// </summary>
internal static class WebhookIds
{
    private static readonly Guid Namespace = new("0b8f3f7e-52a4-4c1e-9d0a-6a3b9e1c2d47");

    /// <summary>The inbox key of a webhook: Kombo's event id.</summary>
    public static Guid Inbox(string webhookId) => MessageIds.Derive(Namespace, "webhook:" + webhookId);

    /// <summary>
    /// Events that happen once in an integration's life (created, deleted) take their id from the integration, not
    /// from the webhook: Kombo may report the same fact under two event ids.
    /// </summary>
    public static Guid OfIntegrationEvent(string integrationId, string eventType) =>
        MessageIds.Derive(Namespace, eventType + ":" + integrationId);
}
