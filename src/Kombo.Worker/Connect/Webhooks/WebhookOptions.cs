using System.ComponentModel.DataAnnotations;

namespace Kombo.Worker.Connect.Webhooks;

/// <summary>
/// The <c>Webhooks</c> section: where Kombo's webhooks are received. The listener is on only when
/// <c>Kombo:WebhookSecret</c> is set, and it serves nothing but <see cref="Path"/>.
/// </summary>
internal sealed record WebhookOptions
{
    public const string SectionName = "Webhooks";

    public const string Path = "/kombo/webhooks";

    /// <summary>
    /// The listener's addresses, separated by <c>;</c>, each with an explicit port of its own (not the health and
    /// metrics listener's). In a container: <c>http://0.0.0.0:8082</c>, behind a TLS-terminating proxy.
    /// </summary>
    [Required]
    public string Urls { get; init; } = "http://127.0.0.1:8082";

    /// <summary>Kombo's webhooks are small; anything larger is refused with 413 before it is verified.</summary>
    [Range(1024, 16 * 1024 * 1024)]
    public int MaxBodyBytes { get; init; } = 256 * 1024;
}
