namespace Kombo.Contracts;

/// <summary>
/// Asks the worker for a Kombo Connect link (<c>POST /connect/create-link</c>).
/// Answered by <see cref="LinkCreated"/> or <see cref="ConnectLinkFailed"/>, published and, for a request, sent back.
/// </summary>
public sealed record CreateConnectLink
{
    /// <summary>Chosen by the caller; every answer carries it.</summary>
    public Guid CorrelationId { get; init; }

    /// <summary>Email of the end user the link is for (<c>end_user_email</c>).</summary>
    public string? EndUserEmail { get; init; }

    /// <summary>Name of the end user's organisation (<c>end_user_organization_name</c>).</summary>
    public string? EndUserOrganizationName { get; init; }

    /// <summary>The customer's id in the caller's own database (<c>end_user_origin_id</c>).</summary>
    public string? EndUserOriginId { get; init; }

    /// <summary>Environment of the remote tool, when it has several (<c>remote_environment</c>).</summary>
    public string? RemoteEnvironment { get; init; }

    /// <summary><c>HRIS</c> (Kombo's default), <c>ATS</c>, <c>ASSESSMENT</c> or <c>LMS</c>.</summary>
    public string? IntegrationCategory { get; init; }

    /// <summary>Pre-selects one tool, for example <c>personio</c>; an open vocabulary.</summary>
    public string? IntegrationTool { get; init; }

    /// <summary><c>en</c>, <c>de</c>, <c>fr</c>, <c>it</c> or <c>es</c>.</summary>
    public string? Language { get; init; }

    /// <summary>A specific scope config (<c>scope_config_id</c>).</summary>
    public string? ScopeConfigId { get; init; }

    /// <summary>Turns on the filtering step (HRIS only).</summary>
    public bool? EnableFiltering { get; init; }

    /// <summary>Turns on the field-mapping step.</summary>
    public bool? EnableFieldMapping { get; init; }

    /// <summary><c>EMBEDDED</c> (valid 1 hour, the default) or <c>MAGIC_LINK</c> (valid 1 year).</summary>
    public string? LinkType { get; init; }

    /// <summary>
    /// Kombo does not deduplicate integrations: unless this is set, a link for a tool the end user already
    /// has connected is refused with <see cref="FailureReasons.AlreadyConnected"/>.
    /// </summary>
    public bool AllowAdditionalConnection { get; init; }
}
