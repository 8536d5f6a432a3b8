using System.Text;
using System.Text.Json;
using Kombo.Worker.Connect.Webhooks;

namespace Kombo.Worker.Tests.Connect.Webhooks;

/// <summary>Webhook bodies in Kombo's wire format, for the tests.</summary>
internal static class WebhookJson
{
    public static object EndUser(string? originId = "customer-1") =>
        new { organization_name = "Acme, Inc.", creator_email = "admin@acme.test", origin_id = originId };

    public static string Created(string id, string integrationId, string? originId = "customer-1", string tool = "personio") =>
        JsonSerializer.Serialize(new
        {
            id,
            type = "integration-created",
            data = new { id = integrationId, tool, category = "HRIS", end_user = EndUser(originId) },
        });

    public static string Deleted(string id, string integrationId, string? originId = "customer-1", string tool = "personio") =>
        JsonSerializer.Serialize(new
        {
            id,
            type = "integration-deleted",
            data = new { id = integrationId, tool, category = "HRIS", end_user = EndUser(originId), deleted_at = "2026-05-02T08:00:00Z" },
        });

    public static string StateChanged(string id, string integrationId, string state, DateTimeOffset updatedAt, string? originId = "customer-1") =>
        JsonSerializer.Serialize(new
        {
            id,
            type = "integration-state-changed",
            data = new
            {
                integration_tool = "personio",
                integration_id = integrationId,
                integration_category = "HRIS",
                end_user = EndUser(originId),
                qa_status = "PASSED",
                setup_status = "COMPLETED",
                state,
                updated_at = updatedAt.ToString("O"),
            },
        });

    public static string FlowFailed(string id, string? originId = "customer-1") =>
        JsonSerializer.Serialize(new
        {
            id,
            type = "connection-flow-failed",
            data = new { integration_tool = "personio", integration_category = "HRIS", end_user = EndUser(originId), log_url = "https://app.kombo.dev/logs/9" },
        });
}

internal static class WebhookJsonReader
{
    public static KomboWebhook Read(string json) =>
        WebhookParser.Parse(Encoding.UTF8.GetBytes(json), out var problem) ?? throw new InvalidOperationException(problem);
}
