namespace Kombo.Contracts;

/// <summary>A reconnection link was created; hand <see cref="Link"/> to <c>showKomboConnect(link)</c>.</summary>
public sealed record ReconnectionLinkCreated
{
    public Guid CorrelationId { get; init; }

    public string IntegrationId { get; init; } = "";

    /// <summary>The link. A credential: pass it to the browser, do not log it.</summary>
    public string Link { get; init; } = "";

    /// <summary><c>EMBEDDED</c> or <c>MAGIC_LINK</c>.</summary>
    public string LinkType { get; init; } = "";

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>One hour after creation for <c>EMBEDDED</c>, one year for <c>MAGIC_LINK</c>.</summary>
    public DateTimeOffset ExpiresAt { get; init; }
}
