using System.Text.Json.Serialization;

namespace Kombo.Worker.KomboApi;

/// <summary>The body of <c>POST /connect/create-link</c>. Nulls are omitted on the wire.</summary>
internal sealed record CreateLinkRequest
{
    [JsonPropertyName("end_user_email")]
    public required string EndUserEmail { get; init; }

    [JsonPropertyName("end_user_organization_name")]
    public required string EndUserOrganizationName { get; init; }

    [JsonPropertyName("end_user_origin_id")]
    public string? EndUserOriginId { get; init; }

    [JsonPropertyName("remote_environment")]
    public string? RemoteEnvironment { get; init; }

    [JsonPropertyName("integration_category")]
    public string? IntegrationCategory { get; init; }

    [JsonPropertyName("integration_tool")]
    public string? IntegrationTool { get; init; }

    [JsonPropertyName("language")]
    public string? Language { get; init; }

    [JsonPropertyName("scope_config_id")]
    public string? ScopeConfigId { get; init; }

    [JsonPropertyName("enable_filtering")]
    public bool? EnableFiltering { get; init; }

    [JsonPropertyName("enable_field_mapping")]
    public bool? EnableFieldMapping { get; init; }

    [JsonPropertyName("link_type")]
    public string? LinkType { get; init; }
}

/// <summary>The <c>data</c> of a successful create-link answer.</summary>
/// <summary>The body of <c>POST /integrations/{integration_id}/relink</c>; every field optional. Nulls are omitted on the wire.</summary>
internal sealed record RelinkRequest
{
    [JsonPropertyName("language")]
    public string? Language { get; init; }

    [JsonPropertyName("scope_config_id")]
    public string? ScopeConfigId { get; init; }

    [JsonPropertyName("link_type")]
    public string? LinkType { get; init; }
}

internal sealed record CreatedLink([property: JsonPropertyName("link")] string Link);

/// <summary>The flat <c>data</c> of <c>GET /connect/integration-by-token/{token}</c> (and of activate-integration).</summary>
internal sealed record ConnectedIntegration(
    [property: JsonPropertyName("tool")] string Tool,
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("end_user_origin_id")] string? EndUserOriginId,
    [property: JsonPropertyName("end_user_organization_name")] string EndUserOrganizationName,
    [property: JsonPropertyName("end_user_email")] string? EndUserEmail,
    [property: JsonPropertyName("setup_status")] string SetupStatus);

/// <summary>The <c>data</c> of <c>GET /check-api-key</c>.</summary>
internal sealed record ApiKeyEnvironment([property: JsonPropertyName("environment_id")] string? EnvironmentId);
