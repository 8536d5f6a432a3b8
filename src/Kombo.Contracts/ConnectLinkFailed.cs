namespace Kombo.Contracts;

/// <summary>A <see cref="CreateConnectLink"/> could not be carried out; <see cref="Reason"/> says why.</summary>
public sealed record ConnectLinkFailed
{
    public Guid CorrelationId { get; init; }

    public string? EndUserOriginId { get; init; }

    /// <summary>One of <see cref="FailureReasons"/>.</summary>
    public string Reason { get; init; } = "";

    /// <summary>A human-readable explanation, safe to log.</summary>
    public string Message { get; init; } = "";

    /// <summary>Kombo's <c>error.code</c>, when Kombo answered with one.</summary>
    public string? KomboErrorCode { get; init; }

    public string? KomboErrorMessage { get; init; }

    /// <summary>Kombo's dashboard log link, for support.</summary>
    public string? KomboLogUrl { get; init; }

    /// <summary>
    /// With <see cref="FailureReasons.AlreadyConnected"/>: the end user's integrations of that tool, for a
    /// <see cref="CreateReconnectionLink"/>. Empty otherwise.
    /// </summary>
    public IReadOnlyList<string> ConnectedIntegrationIds { get; init; } = [];

    /// <summary>Whether sending the same command again could succeed.</summary>
    public bool Retryable { get; init; }

    public DateTimeOffset FailedAt { get; init; }
}
