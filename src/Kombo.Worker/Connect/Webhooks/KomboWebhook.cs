namespace Kombo.Worker.Connect.Webhooks;

/// <summary>A verified webhook from Kombo: <c>{ "id", "type", "data" }</c>, one record per type the worker handles.</summary>
internal abstract record KomboWebhook(string Id, string Type)
{
    public const string IntegrationCreatedType = "integration-created";
    public const string IntegrationDeletedType = "integration-deleted";
    public const string IntegrationStateChangedType = "integration-state-changed";
    public const string ConnectionFlowFailedType = "connection-flow-failed";
}

/// <summary>The <c>end_user</c> object every connection webhook carries.</summary>
internal sealed record WebhookEndUser(string OrganizationName, string? CreatorEmail, string? OriginId);

internal sealed record IntegrationCreatedWebhook(string Id, string IntegrationId, string Tool, string Category, WebhookEndUser EndUser)
    : KomboWebhook(Id, IntegrationCreatedType);

internal sealed record IntegrationDeletedWebhook(
    string Id, string IntegrationId, string Tool, string Category, WebhookEndUser EndUser, DateTimeOffset DeletedAt)
    : KomboWebhook(Id, IntegrationDeletedType);

internal sealed record IntegrationStateChangedWebhook(
    string Id,
    string IntegrationId,
    string Tool,
    string Category,
    WebhookEndUser EndUser,
    string State,
    string? SetupStatus,
    string QaStatus,
    DateTimeOffset UpdatedAt)
    : KomboWebhook(Id, IntegrationStateChangedType);

internal sealed record ConnectionFlowFailedWebhook(string Id, string Tool, string Category, WebhookEndUser EndUser, string LogUrl)
    : KomboWebhook(Id, ConnectionFlowFailedType);

/// <summary>A type the worker does not handle (Kombo adds types): acknowledged and counted, nothing else.</summary>
internal sealed record UnknownWebhook(string Id, string Type) : KomboWebhook(Id, Type);
