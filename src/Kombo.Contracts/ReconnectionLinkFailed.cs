namespace Kombo.Contracts;

/// <summary>A <see cref="CreateReconnectionLink"/> could not be carried out; <see cref="Reason"/> says why.</summary>
public sealed record ReconnectionLinkFailed
{
    public Guid CorrelationId { get; init; }

    public string? IntegrationId { get; init; }

    /// <summary>One of <see cref="FailureReasons"/>; an integration Kombo does not know is <c>integration_not_found</c>.</summary>
    public string Reason { get; init; } = "";

    /// <summary>A human-readable explanation, safe to log.</summary>
    public string Message { get; init; } = "";

    /// <summary>Kombo's <c>error.code</c>, when Kombo answered with one.</summary>
    public string? KomboErrorCode { get; init; }

    public string? KomboErrorMessage { get; init; }

    /// <summary>Kombo's dashboard log link, for support.</summary>
    public string? KomboLogUrl { get; init; }

    /// <summary>Whether sending the same command again could succeed.</summary>
    public bool Retryable { get; init; }

    public DateTimeOffset FailedAt { get; init; }
}
