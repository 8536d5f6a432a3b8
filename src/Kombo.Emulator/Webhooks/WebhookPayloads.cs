using System.Globalization;
using Kombo.Emulator.Integrations;

namespace Kombo.Emulator.Webhooks;

/// <summary>
/// Kombo's webhook bodies: <c>{"id","type","data"}</c>, snake_case, every key written (the nullable ones as null).
/// Timestamps are strings so they read like Kombo's (<c>2026-05-01T12:00:00.000Z</c>), not .NET's round-trip format.
/// </summary>
public sealed record WebhookEnvelope<T>(string Id, string Type, T Data);

public static class WebhookTypes
{
    public const string IntegrationCreated = "integration-created";
    public const string IntegrationDeleted = "integration-deleted";
    public const string IntegrationStateChanged = "integration-state-changed";
    public const string ConnectionFlowFailed = "connection-flow-failed";
}

public sealed record IntegrationCreatedData(string Id, string Tool, string Category, IntegrationEndUser EndUser)
{
    public static IntegrationCreatedData For(Integration integration) =>
        new(integration.Id, integration.Tool, integration.Category, integration.EndUser);
}

public sealed record IntegrationDeletedData(string Id, string Tool, string Category, IntegrationEndUser EndUser, string DeletedAt)
{
    public static IntegrationDeletedData For(Integration integration, DateTimeOffset deletedAt) =>
        new(integration.Id, integration.Tool, integration.Category, integration.EndUser, WebhookTime.Format(deletedAt));
}

public sealed record IntegrationStateChangedData(
    string IntegrationTool,
    string IntegrationId,
    string IntegrationCategory,
    IntegrationEndUser EndUser,
    string QaStatus,
    string SetupStatus,
    string State,
    string UpdatedAt)
{
    public static IntegrationStateChangedData For(Integration integration, DateTimeOffset updatedAt) =>
        new(integration.Tool, integration.Id, integration.Category, integration.EndUser, integration.QaStatus,
            integration.SetupStatus, integration.State, WebhookTime.Format(updatedAt));
}

public sealed record ConnectionFlowFailedData(
    string IntegrationTool, string IntegrationCategory, IntegrationEndUser EndUser, string LogUrl);

public static class WebhookTime
{
    public static string Format(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
