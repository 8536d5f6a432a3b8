using System.ComponentModel.DataAnnotations;

namespace Kombo.Worker.Messaging;

public sealed record MessagingOptions
{
    public const string SectionName = "Messaging";

    /// <summary>Commands handled at once per queue; also sizes the HTTP connection pool to Kombo.</summary>
    [Range(1, 1024)]
    public int ConcurrentMessageLimit { get; init; } = 32;

    [Range(1, 65535)]
    public int PrefetchCount { get; init; } = 64;

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

    /// <summary>Whether this delivery is the last one: the one that must answer rather than throw.</summary>
    public bool IsLastAttempt(MassTransit.ConsumeContext context) =>
        MassTransit.RetryContextExtensions.GetRetryAttempt(context) >= EffectiveKomboRedeliveryIntervals.Count;
}
