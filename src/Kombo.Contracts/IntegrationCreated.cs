namespace Kombo.Contracts;

/// <summary>
/// Kombo created an integration (its <c>integration-created</c> webhook): through a connect link, a magic link
/// completed away from the app, or Kombo's dashboard. Published once per integration; its message id derives from
/// <see cref="IntegrationId"/>, so subscribers can deduplicate. A redemption still answers with
/// <see cref="IntegrationConnected"/>.
/// </summary>
public sealed record IntegrationCreated
{
    /// <summary>Kombo's integration id, e.g. <c>personio:CBNMt7dSNCzBdnRTx87dev4E</c>; for the backend only.</summary>
    public string IntegrationId { get; init; } = "";

    public string Tool { get; init; } = "";

    /// <summary><c>HRIS</c>, <c>ATS</c>, <c>ASSESSMENT</c> or <c>LMS</c>; an open vocabulary.</summary>
    public string Category { get; init; } = "";

    public string? EndUserOriginId { get; init; }

    public string EndUserOrganizationName { get; init; } = "";

    public string? EndUserEmail { get; init; }

    /// <summary>
    /// Other integrations of the same tool this end user already has: Kombo does not deduplicate, so a non-empty list
    /// means the end user connected the tool again.
    /// </summary>
    public IReadOnlyList<string> AlsoConnectedIntegrationIds { get; init; } = [];

    /// <summary>When the worker received the webhook (Kombo's payload carries no creation time).</summary>
    public DateTimeOffset CreatedAt { get; init; }
}
