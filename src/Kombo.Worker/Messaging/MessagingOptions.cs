using System.ComponentModel.DataAnnotations;

namespace Kombo.Worker.Messaging;

internal sealed record MessagingOptions
{
    public const string SectionName = "Messaging";

    /// <summary>Commands handled at once per queue; also sizes the HTTP connection pool to Kombo.</summary>
    [Range(1, 1024)]
    public int ConcurrentMessageLimit { get; init; } = 32;

    [Range(1, 65535)]
    public int PrefetchCount { get; init; } = 64;

    /// <summary>
    /// How events are published: <c>envelope</c> (MassTransit's, the event under <c>message</c>) or <c>raw</c> (the bare
    /// event as JSON, its ids in the AMQP properties and headers). Responses to request clients keep the envelope.
    /// </summary>
    [RegularExpression("^(envelope|raw)$", ErrorMessage = "Messaging:EventFormat must be envelope or raw.")]
    public string EventFormat { get; init; } = "envelope";

    /// <summary>
    /// The largest command body accepted; larger ones go to the error queue unread. A valid command is a few KiB at
    /// most (every field is bounded), so the default leaves room for MassTransit's envelope and headers.
    /// </summary>
    [Range(1024, 128 * 1024 * 1024)]
    public int MaxMessageBytes { get; init; } = 64 * 1024;

    /// <summary>First wait before a command is tried again after a storage failure (disk full, read-only, I/O error).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan StorageRetryMinDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest wait between tries after storage failures; they go on until the storage recovers.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan StorageRetryMaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Waits before the command is tried again after Kombo stayed unavailable through a whole retry budget. After the
    /// last one the command is answered with a retryable <c>kombo_unavailable</c> failure.
    /// </summary>
    /// <remarks>Left empty, the defaults apply (the configuration binder appends to, never replaces, an array).</remarks>
    public TimeSpan[] KomboRedeliveryIntervals { get; init; } = [];

    public IReadOnlyList<TimeSpan> EffectiveKomboRedeliveryIntervals =>
        KomboRedeliveryIntervals.Length > 0
            ? KomboRedeliveryIntervals
            : [TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(2)];
}
