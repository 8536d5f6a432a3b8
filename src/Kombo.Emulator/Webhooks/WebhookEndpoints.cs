namespace Kombo.Emulator.Webhooks;

/// <summary>
/// <c>GET /emulator/webhooks</c> (counts and the latest webhooks, never the secret) and
/// <c>GET|PUT|DELETE /emulator/webhooks/faults</c>.
/// </summary>
public static class WebhookEndpoints
{
    public static IServiceCollection AddWebhooks(this IServiceCollection services) => services
        .AddSingleton<ActiveWebhookFaults>()
        .AddSingleton<WebhookQueue>()
        .AddSingleton<WebhookSender>()
        .AddHostedService<WebhookDelivery>();

    public static IEndpointRouteBuilder MapWebhooks(this IEndpointRouteBuilder emulator)
    {
        emulator.MapGet("/webhooks", (WebhookQueue queue) => Results.Json(
            new WebhookReport(queue.Counts(), [.. queue.Recent().Select(WebhookView.Of)]), EmulatorJson.Options));
        emulator.MapGet("/webhooks/faults", (ActiveWebhookFaults faults) => Results.Json(faults.Settings, EmulatorJson.Options));
        emulator.MapPut("/webhooks/faults", async (HttpContext context, ActiveWebhookFaults faults) =>
        {
            var (settings, error) = await JsonBody.ReadAsync<WebhookFaultSettings>(context.Request, context.RequestAborted);
            var problems = settings?.Problems().ToList() ?? [];
            if (settings is null || problems.Count > 0)
            {
                return AdminErrors.BadRequest(error ?? string.Join(" ", problems));
            }

            faults.Replace(settings);
            return Results.Json(settings, EmulatorJson.Options);
        });
        emulator.MapDelete("/webhooks/faults", (ActiveWebhookFaults faults) =>
        {
            faults.Clear();
            return Results.NoContent();
        });
        return emulator;
    }

    public sealed record WebhookReport(WebhookCounts Counts, IReadOnlyList<WebhookView> Webhooks);

    public sealed record WebhookView(string Id, string Type, string? IntegrationId, string Status, int Attempts, DateTimeOffset CreatedAt)
    {
        public static WebhookView Of(Webhook webhook) =>
            new(webhook.Id, webhook.Type, webhook.IntegrationId, webhook.Status, webhook.Attempts, webhook.CreatedAt);
    }
}
