namespace Kombo.Emulator.Connect;

/// <summary>A link handed out by create-link (or relink), with what the caller asked for, until it expires.</summary>
public sealed record ConnectLink(string Token, CreateLinkRequest Request, DateTimeOffset ExpiresAt)
{
    /// <summary>Set for a reconnection link: completing it reconnects this integration instead of making one.</summary>
    public string? RelinkIntegrationId { get; init; }
}

/// <summary>A validated create-link body with Kombo's defaults filled in.</summary>
public sealed record CreateLinkRequest(
    string EndUserEmail,
    string EndUserOrganizationName,
    string? EndUserOriginId,
    string? RemoteEnvironment,
    string IntegrationCategory,
    string? IntegrationTool,
    string Language,
    string? ScopeConfigId,
    bool EnableFiltering,
    bool EnableFieldMapping,
    string LinkType);
