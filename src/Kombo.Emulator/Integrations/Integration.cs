namespace Kombo.Emulator.Integrations;

/// <summary>An integration the emulator made, as Kombo keeps it, until it is deleted.</summary>
public sealed record Integration(
    string Id,
    string Tool,
    string Category,
    IntegrationEndUser EndUser,
    string State,
    string SetupStatus,
    string QaStatus,
    DateTimeOffset CreatedAt);

/// <summary>Kombo's nested <c>end_user</c> object of webhooks and integration details.</summary>
public sealed record IntegrationEndUser(string OrganizationName, string? CreatorEmail, string? OriginId);
