using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Kombo.Emulator;
using Kombo.Emulator.EndUser;
using Kombo.Emulator.Faults;
using Kombo.Emulator.Stats;
using Kombo.Emulator.Webhooks;

namespace Kombo.Testing;

/// <summary>
/// The emulator's admin API (<c>/emulator/…</c>, see src/Kombo.Emulator/README.md) over any <see cref="HttpClient"/>
/// based at the emulator's root, in the emulator's own types, so an out-of-process <see cref="EmulatorProcess"/> and
/// the in-process <see cref="KomboEmulatorFixture"/> share one client. Every call throws with the answer's body when
/// it is not a success.
/// </summary>
public sealed class EmulatorAdmin(HttpClient admin)
{
    // The emulator's wire format; a null key is left out, so it takes the emulator's default.
    private static readonly JsonSerializerOptions Json = new(EmulatorJson.Options)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The raw client, based at the emulator's root, for a call this type does not cover.</summary>
    public HttpClient Http => admin;

    /// <summary>Replaces the fault settings: <c>PUT /emulator/faults</c>.</summary>
    public async Task SetFaultsAsync(FaultSettings faults, CancellationToken cancellationToken = default)
    {
        using var response = await admin.PutAsJsonAsync("emulator/faults", faults, Json, cancellationToken);
        await EnsureSuccessAsync(response, "PUT /emulator/faults", cancellationToken);
    }

    /// <summary>Shorthand for <see cref="SetFaultsAsync"/> with only a latency.</summary>
    public Task SetLatencyAsync(int latencyMs, CancellationToken cancellationToken = default) =>
        SetFaultsAsync(new FaultSettings { LatencyMs = latencyMs }, cancellationToken);

    /// <summary><c>DELETE /emulator/faults</c>.</summary>
    public async Task ClearFaultsAsync(CancellationToken cancellationToken = default)
    {
        using var response = await admin.DeleteAsync("emulator/faults", cancellationToken);
        await EnsureSuccessAsync(response, "DELETE /emulator/faults", cancellationToken);
    }

    /// <summary><c>GET /emulator/stats</c>.</summary>
    public async Task<StatsSnapshot> GetStatsAsync(CancellationToken cancellationToken = default)
    {
        using var response = await admin.GetAsync("emulator/stats", cancellationToken);
        await EnsureSuccessAsync(response, "GET /emulator/stats", cancellationToken);
        return await response.Content.ReadFromJsonAsync<StatsSnapshot>(Json, cancellationToken)
            ?? throw new InvalidOperationException("GET /emulator/stats answered an empty body.");
    }

    /// <summary><c>DELETE /emulator/stats</c>: counters back to zero.</summary>
    public async Task ResetStatsAsync(CancellationToken cancellationToken = default)
    {
        using var response = await admin.DeleteAsync("emulator/stats", cancellationToken);
        await EnsureSuccessAsync(response, "DELETE /emulator/stats", cancellationToken);
    }

    /// <summary>No faults and zeroed counters; links and tokens already handed out stay valid.</summary>
    public async Task ResetAsync(CancellationToken cancellationToken = default)
    {
        await ClearFaultsAsync(cancellationToken);
        await ResetStatsAsync(cancellationToken);
    }

    /// <summary>
    /// Issues <paramref name="count"/> redeemable tokens (<c>POST /emulator/tokens</c>, in calls of at most 100,000).
    /// Without an origin id every token gets its own (<c>origin-N</c>).
    /// </summary>
    public async Task<IReadOnlyList<IssueTokensEndpoint.IssuedTokenView>> IssueTokensAsync(
        int count, string? tool = null, string? endUserOriginId = null, string? setupStatus = null, CancellationToken cancellationToken = default)
    {
        var tokens = new List<IssueTokensEndpoint.IssuedTokenView>(count);
        while (tokens.Count < count)
        {
            var chunk = Math.Min(100_000, count - tokens.Count);
            using var response = await admin.PostAsJsonAsync("emulator/tokens",
                new IssueTokensEndpoint.IssueTokensRequest(chunk, tool, endUserOriginId, null, null, setupStatus), Json, cancellationToken);
            await EnsureSuccessAsync(response, "POST /emulator/tokens", cancellationToken);
            var issued = await response.Content.ReadFromJsonAsync<IssueTokensEndpoint.IssuedTokens>(Json, cancellationToken)
                ?? throw new InvalidOperationException("POST /emulator/tokens answered an empty body.");
            tokens.AddRange(issued.Tokens);
        }

        return tokens;
    }

    /// <summary>
    /// The end user finishes the flow for <paramref name="link"/>: <c>POST /emulator/links/complete</c>. The token is
    /// null for a magic link and for a reconnection link; the integration id is always there.
    /// </summary>
    public async Task<CompleteLinkEndpoint.CompletedLink> CompleteLinkAsync(
        string link, string? tool = null, string? setupStatus = null, CancellationToken cancellationToken = default)
    {
        using var response = await admin.PostAsJsonAsync("emulator/links/complete",
            new CompleteLinkEndpoint.CompleteLinkRequest(link, tool, setupStatus), Json, cancellationToken);
        await EnsureSuccessAsync(response, "POST /emulator/links/complete", cancellationToken);
        return await response.Content.ReadFromJsonAsync<CompleteLinkEndpoint.CompletedLink>(Json, cancellationToken)
            ?? throw new InvalidOperationException("POST /emulator/links/complete answered an empty body.");
    }

    /// <summary>The end user hits an error in the flow: <c>POST /emulator/links/fail</c> (<c>connection-flow-failed</c>).</summary>
    public async Task FailLinkAsync(string link, CancellationToken cancellationToken = default)
    {
        using var response = await admin.PostAsJsonAsync("emulator/links/fail", new FailLinkEndpoint.FailLinkRequest(link, null), Json, cancellationToken);
        await EnsureSuccessAsync(response, "POST /emulator/links/fail", cancellationToken);
    }

    /// <summary>Deleted in Kombo's dashboard: <c>DELETE /emulator/integrations/{id}</c> (<c>integration-deleted</c>).</summary>
    public async Task DeleteIntegrationAsync(string integrationId, CancellationToken cancellationToken = default)
    {
        using var response = await admin.DeleteAsync($"emulator/integrations/{Uri.EscapeDataString(integrationId)}", cancellationToken);
        await EnsureSuccessAsync(response, "DELETE /emulator/integrations/{id}", cancellationToken);
    }

    /// <summary><c>POST /emulator/integrations/{id}/state</c> (<c>integration-state-changed</c>); null keeps a status as it is.</summary>
    public async Task SetIntegrationStateAsync(
        string integrationId, string state, string? setupStatus = null, string? qaStatus = null, CancellationToken cancellationToken = default)
    {
        using var response = await admin.PostAsJsonAsync($"emulator/integrations/{Uri.EscapeDataString(integrationId)}/state",
            new { state, setup_status = setupStatus, qa_status = qaStatus }, Json, cancellationToken);
        await EnsureSuccessAsync(response, "POST /emulator/integrations/{id}/state", cancellationToken);
    }

    /// <summary>Replaces the webhook faults: <c>PUT /emulator/webhooks/faults</c>.</summary>
    public async Task SetWebhookFaultsAsync(WebhookFaultSettings faults, CancellationToken cancellationToken = default)
    {
        using var response = await admin.PutAsJsonAsync("emulator/webhooks/faults", faults, Json, cancellationToken);
        await EnsureSuccessAsync(response, "PUT /emulator/webhooks/faults", cancellationToken);
    }

    /// <summary><c>DELETE /emulator/webhooks/faults</c>.</summary>
    public async Task ClearWebhookFaultsAsync(CancellationToken cancellationToken = default)
    {
        using var response = await admin.DeleteAsync("emulator/webhooks/faults", cancellationToken);
        await EnsureSuccessAsync(response, "DELETE /emulator/webhooks/faults", cancellationToken);
    }

    /// <summary>The <c>counts</c> of <c>GET /emulator/webhooks</c>.</summary>
    public async Task<WebhookCounts> GetWebhookStatsAsync(CancellationToken cancellationToken = default)
    {
        using var response = await admin.GetAsync("emulator/webhooks", cancellationToken);
        await EnsureSuccessAsync(response, "GET /emulator/webhooks", cancellationToken);
        var report = await response.Content.ReadFromJsonAsync<WebhookEndpoints.WebhookReport>(Json, cancellationToken)
            ?? throw new InvalidOperationException("GET /emulator/webhooks answered an empty body.");
        return report.Counts;
    }

    /// <summary>Polls until every webhook made so far is acknowledged (duplicates too); throws with the counts on timeout.</summary>
    public async Task WaitForWebhooksDeliveredAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        WebhookCounts? stats = null;
        if (!await Eventually.UntilAsync(
            async () => (stats = await GetWebhookStatsAsync(cancellationToken)) is { Pending: 0 } counts && counts.Queued == counts.Delivered,
            timeout))
        {
            throw new TimeoutException($"Webhooks still undelivered after {timeout.TotalSeconds:0.#} s: {stats}.");
        }
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, string call, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new HttpRequestException($"{call} answered {(int)response.StatusCode}: {body}", null, response.StatusCode);
        }
    }
}
