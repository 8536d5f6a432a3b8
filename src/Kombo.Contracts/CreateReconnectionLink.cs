namespace Kombo.Contracts;

/// <summary>
/// Asks for a link that lets the end user re-enter the credentials of an existing integration
/// (<c>POST /integrations/{integration_id}/relink</c>): Kombo's remedy for expired credentials, instead of a second
/// integration. Answered by <see cref="ReconnectionLinkCreated"/> or <see cref="ReconnectionLinkFailed"/>.
/// </summary>
public sealed record CreateReconnectionLink
{
    /// <summary>Chosen by the caller; every answer carries it.</summary>
    public Guid CorrelationId { get; init; }

    /// <summary>The integration to reconnect, e.g. <c>personio:CBNMt7dSNCzBdnRTx87dev4E</c>.</summary>
    public string? IntegrationId { get; init; }

    /// <summary><c>en</c> (Kombo's default), <c>de</c>, <c>fr</c>, <c>it</c> or <c>es</c>.</summary>
    public string? Language { get; init; }

    /// <summary>A scope config the integration switches to once the reconnection completes.</summary>
    public string? ScopeConfigId { get; init; }

    /// <summary><c>EMBEDDED</c> (valid 1 hour, the default) or <c>MAGIC_LINK</c> (valid 1 year).</summary>
    public string? LinkType { get; init; }
}
