using System.ComponentModel.DataAnnotations;

namespace Kombo.Worker.Connect.Webhooks;

/// <summary>
/// The <c>Webhooks</c> section: where Kombo's webhooks are received, and what the listener spends on a client before it
/// has proved it is Kombo. The listener is on only when <c>Kombo:WebhookSecret</c> is set, and it serves nothing but
/// <see cref="Path"/>.
/// </summary>
internal sealed record WebhookOptions
{
    public const string SectionName = "Webhooks";

    public const string Path = "/kombo/webhooks";

    /// <summary>Kestrel's allowance before a body's rate is checked: a connection's slow start is not a trickle.</summary>
    public static readonly TimeSpan MinRequestBodyGracePeriod = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The listener's addresses, separated by <c>;</c>, each with an explicit port of its own (not the health and
    /// metrics listener's). In a container: <c>http://0.0.0.0:8082</c>, behind a TLS-terminating proxy.
    /// </summary>
    [Required]
    public string Urls { get; init; } = "http://127.0.0.1:8082";

    /// <summary>
    /// The hard cap on a body: larger is refused with 413 before it is read. Kombo's connection webhooks are small, but
    /// types the worker does not handle may be large, and each must still be acknowledged.
    /// </summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxBodyBytes { get; init; } = 8 * 1024 * 1024;

    /// <summary>Connections open at once on the webhook listener; more are closed as they arrive.</summary>
    [Range(1, 100_000)]
    public int MaxConnections { get; init; } = 100;

    /// <summary>How long a client has to send a request's headers (Kestrel's limit, which it applies to every listener).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan RequestHeadersTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The slowest a body may arrive, averaged, after <see cref="MinRequestBodyGracePeriod"/>; slower, the request is
    /// cut. Kombo sends from a data centre; only a client holding the connection open trickles.
    /// </summary>
    [Range(240, 100 * 1024 * 1024)]
    public int MinRequestBodyBytesPerSecond { get; init; } = 16 * 1024;

    /// <summary>Refused requests are logged once per interval, with a count of the others, instead of one line each.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan RefusalLogInterval { get; init; } = TimeSpan.FromMinutes(1);
}
