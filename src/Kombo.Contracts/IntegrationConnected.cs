namespace Kombo.Contracts;

/// <summary>
/// An end user finished the Connect flow and the worker recorded the integration. The fields are those of
/// Kombo's flat <c>integration-by-token</c> answer.
/// </summary>
public sealed record IntegrationConnected
{
    public Guid CorrelationId { get; init; }

    /// <summary>Kombo's integration id, e.g. <c>personio:CBNMt7dSNCzBdnRTx87dev4E</c>; for the backend only.</summary>
    public string IntegrationId { get; init; } = "";

    public string Tool { get; init; } = "";

    /// <summary><c>HRIS</c>, <c>ATS</c>, <c>ASSESSMENT</c> or <c>LMS</c>, when the worker knows it (from the link or a webhook).</summary>
    public string? IntegrationCategory { get; init; }

    public string? EndUserOriginId { get; init; }

    public string EndUserOrganizationName { get; init; } = "";

    public string? EndUserEmail { get; init; }

    /// <summary>
    /// <c>COMPLETED</c> means ready; <c>INCOMPLETE</c> or <c>FINAL_SYNC_PENDING</c> mean connected, data not ready yet.
    /// </summary>
    public string SetupStatus { get; init; } = "";

    /// <summary>
    /// Whether the worker checked that the integration belongs to the command's expected end user; false only for a
    /// command that set <c>SkipOriginCheck</c>.
    /// </summary>
    public bool OriginVerified { get; init; }

    /// <summary>
    /// Other integrations of the same tool the end user already had connected: non-empty means Kombo made a duplicate
    /// (it does not deduplicate). Offer to delete one, or use <c>CreateReconnectionLink</c> next time.
    /// </summary>
    public IReadOnlyList<string> AlsoConnectedIntegrationIds { get; init; } = [];

    /// <summary>When the worker recorded the integration.</summary>
    public DateTimeOffset ConnectedAt { get; init; }
}
