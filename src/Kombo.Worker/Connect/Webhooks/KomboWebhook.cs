namespace Kombo.Worker.Connect.Webhooks;

/// <summary>A verified webhook from Kombo: <c>{ "id", "type", "data" }</c>, one record per type the worker handles.</summary>
public abstract record KomboWebhook(string Id, string Type)
{
    public const string IntegrationCreatedType = "integration-created";
    public const string IntegrationDeletedType = "integration-deleted";
    public const string IntegrationStateChangedType = "integration-state-changed";
    public const string ConnectionFlowFailedType = "connection-flow-failed";
}

/// <summary>The <c>end_user</c> object every connection webhook carries.</summary>
public sealed record WebhookEndUser(string OrganizationName, string? CreatorEmail, string? OriginId);

public sealed record IntegrationCreatedWebhook(string Id, string IntegrationId, string Tool, string Category, WebhookEndUser EndUser)
    : KomboWebhook(Id, IntegrationCreatedType);

public sealed record IntegrationDeletedWebhook(
    string Id, string IntegrationId, string Tool, string Category, WebhookEndUser EndUser, DateTimeOffset DeletedAt)
    : KomboWebhook(Id, IntegrationDeletedType);

public sealed record IntegrationStateChangedWebhook(
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

public sealed record ConnectionFlowFailedWebhook(string Id, string Tool, string Category, WebhookEndUser EndUser, string LogUrl)
    : KomboWebhook(Id, ConnectionFlowFailedType);

/// <summary>A type the worker does not handle (Kombo adds types): acknowledged and counted, nothing else.</summary>
public sealed record UnknownWebhook(string Id, string Type) : KomboWebhook(Id, Type);
