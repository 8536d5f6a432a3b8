namespace Kombo.Contracts;

/// <summary>
/// An end user hit an error in Kombo's Connect flow (<c>connection-flow-failed</c>); no integration exists. Worth an
/// alert: <see cref="LogUrl"/> shows what went wrong.
/// </summary>
public sealed record ConnectionFlowFailed
{
    public string Tool { get; init; } = "";

    public string Category { get; init; } = "";

    public string? EndUserOriginId { get; init; }

    public string EndUserOrganizationName { get; init; } = "";

    /// <summary>Kombo's dashboard log of the failed flow.</summary>
    public string LogUrl { get; init; } = "";

    /// <summary>When the worker received the webhook.</summary>
    public DateTimeOffset FailedAt { get; init; }
}
