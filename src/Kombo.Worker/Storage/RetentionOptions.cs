using System.ComponentModel.DataAnnotations;

namespace Kombo.Worker.Storage;

/// <summary>
/// How long the tables that only grow keep their rows once those have served their purpose: what the cleanup
/// (<see cref="Outbox.OutboxCleanup"/>) deletes, in bounded batches, at every <c>Outbox:CleanupInterval</c>. The outbox
/// and the inbox keep their own settings (<c>Outbox:SentRetention</c>, <c>Outbox:InboxRetention</c>).
/// </summary>
internal sealed record RetentionOptions
{
    public const string SectionName = "Retention";

    /// <summary>Connect and reconnection links, counted from their expiry: support cases look them up by fingerprint.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00")]
    public TimeSpan ExpiredLinks { get; init; } = TimeSpan.FromDays(7);

    /// <summary>The history of <c>integration-state-changed</c> webhooks, from their receipt (the latest state stays).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00")]
    public TimeSpan StateChanges { get; init; } = TimeSpan.FromDays(30);

    /// <summary>
    /// A deleted integration's row, from its deletion: the tombstone that keeps a late <c>integration-created</c> from
    /// announcing it. Keep it at least as long as <see cref="WebhookIds"/>.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00")]
    public TimeSpan DeletedIntegrations { get; init; } = TimeSpan.FromDays(90);

    /// <summary>The ids of webhooks received: a webhook replayed within this window has no effect.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00")]
    public TimeSpan WebhookIds { get; init; } = TimeSpan.FromDays(90);
}
