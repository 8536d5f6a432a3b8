using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Kombo.Testing;

/// <summary>
/// The emulator's end-user and webhook admin calls over any <see cref="HttpClient"/> based at the emulator's root, so
/// an out-of-process <see cref="EmulatorProcess"/> and an in-process emulator share one client.
/// </summary>
public sealed class EmulatorAdminClient(HttpClient admin)
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>
    /// The end user finishes the flow for <paramref name="link"/>: <c>POST /emulator/links/complete</c>. The token is
    /// null for a magic link and for a reconnection link; the integration id is always there.
    /// </summary>
    public async Task<CompletedLink> CompleteLinkAsync(
        string link, string? tool = null, string? setupStatus = null, CancellationToken ct = default)
    {
        using var response = await admin.PostAsJsonAsync("emulator/links/complete",
            new { link, tool, setup_status = setupStatus }, Json, ct);
        await EnsureSuccessAsync(response, "POST /emulator/links/complete", ct);
        return await response.Content.ReadFromJsonAsync<CompletedLink>(Json, ct)
            ?? throw new InvalidOperationException("POST /emulator/links/complete answered an empty body.");
    }

    /// <summary>The end user hits an error in the flow: <c>POST /emulator/links/fail</c> (<c>connection-flow-failed</c>).</summary>
    public async Task FailLinkAsync(string link, CancellationToken ct = default)
    {
        using var response = await admin.PostAsJsonAsync("emulator/links/fail", new { link }, Json, ct);
        await EnsureSuccessAsync(response, "POST /emulator/links/fail", ct);
    }

    /// <summary>Deleted in Kombo's dashboard: <c>DELETE /emulator/integrations/{id}</c> (<c>integration-deleted</c>).</summary>
    public async Task DeleteIntegrationAsync(string integrationId, CancellationToken ct = default)
    {
        using var response = await admin.DeleteAsync($"emulator/integrations/{Uri.EscapeDataString(integrationId)}", ct);
        await EnsureSuccessAsync(response, "DELETE /emulator/integrations/{id}", ct);
    }

    /// <summary><c>POST /emulator/integrations/{id}/state</c> (<c>integration-state-changed</c>); null keeps a status as it is.</summary>
    public async Task SetIntegrationStateAsync(
        string integrationId, string state, string? setupStatus = null, string? qaStatus = null, CancellationToken ct = default)
    {
        using var response = await admin.PostAsJsonAsync($"emulator/integrations/{Uri.EscapeDataString(integrationId)}/state",
            new { state, setup_status = setupStatus, qa_status = qaStatus }, Json, ct);
        await EnsureSuccessAsync(response, "POST /emulator/integrations/{id}/state", ct);
    }

    /// <summary>Replaces the webhook faults: <c>PUT /emulator/webhooks/faults</c>. Keys left null take their defaults.</summary>
    public async Task SetWebhookFaultsAsync(WebhookFaults faults, CancellationToken ct = default)
    {
        using var response = await admin.PutAsJsonAsync("emulator/webhooks/faults", faults, Json, ct);
        await EnsureSuccessAsync(response, "PUT /emulator/webhooks/faults", ct);
    }

    /// <summary><c>DELETE /emulator/webhooks/faults</c>.</summary>
    public async Task ClearWebhookFaultsAsync(CancellationToken ct = default)
    {
        using var response = await admin.DeleteAsync("emulator/webhooks/faults", ct);
        await EnsureSuccessAsync(response, "DELETE /emulator/webhooks/faults", ct);
    }

    /// <summary>The <c>counts</c> of <c>GET /emulator/webhooks</c>.</summary>
    public async Task<WebhookStats> GetWebhookStatsAsync(CancellationToken ct = default)
    {
        using var response = await admin.GetAsync("emulator/webhooks", ct);
        await EnsureSuccessAsync(response, "GET /emulator/webhooks", ct);
        var report = await response.Content.ReadFromJsonAsync<WebhookReport>(Json, ct)
            ?? throw new InvalidOperationException("GET /emulator/webhooks answered an empty body.");
        return report.Counts;
    }

    /// <summary>Polls until every webhook made so far is acknowledged (duplicates too); throws with the counts on timeout.</summary>
    public async Task WaitForWebhooksDeliveredAsync(TimeSpan timeout, CancellationToken ct = default)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var stats = await GetWebhookStatsAsync(ct);
            if (stats.Pending == 0 && stats.Queued == stats.Delivered)
            {
                return;
            }

            if (waited.Elapsed > timeout)
            {
                throw new TimeoutException($"Webhooks still undelivered after {timeout.TotalSeconds:0.#} s: {stats}.");
            }

            await Task.Delay(50, ct);
        }
    }

    internal static async Task EnsureSuccessAsync(HttpResponseMessage response, string call, CancellationToken ct)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(ct);
            throw new InvalidOperationException($"{call} answered {(int)response.StatusCode}: {body}");
        }
    }

    private sealed record WebhookReport(WebhookStats Counts);
}
