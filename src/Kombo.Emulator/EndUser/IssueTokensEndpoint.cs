using Kombo.Emulator.Connect;
using Kombo.Emulator.Integrations;
using Kombo.Emulator.Stats;

namespace Kombo.Emulator.EndUser;

/// <summary>
/// <c>POST /emulator/tokens</c>: many finished connections at once, for a benchmark that only redeems tokens.
/// Without <c>end_user_origin_id</c> every token gets its own origin id (<c>origin-1</c>, <c>origin-2</c>, … counting on
/// across calls), so each one stands for a different customer. Each token's integration is registered like one from a
/// completed link (and announced with <c>integration-created</c> when webhooks are on).
/// </summary>
public static class IssueTokensEndpoint
{
    public const int MaxCount = 100_000;

    public static async Task<IResult> HandleAsync(
        HttpContext context, EmulatorState state, IntegrationLifecycle lifecycle, RequestStats stats)
    {
        var (request, error) = await JsonBody.ReadAsync<IssueTokensRequest>(context.Request, context.RequestAborted);
        if (request is null)
        {
            return AdminErrors.BadRequest(error!);
        }

        if (request.Count is < 1 or > MaxCount)
        {
            return AdminErrors.BadRequest($"count: Expected 1 to {MaxCount}.");
        }

        if (request.Tool is { Length: 0 })
        {
            return AdminErrors.BadRequest("tool: Expected a non-empty string.");
        }

        var setupStatus = request.SetupStatus ?? "COMPLETED";
        if (!ConnectedIntegration.SetupStatuses.Contains(setupStatus))
        {
            return AdminErrors.BadRequest("setup_status: Expected INCOMPLETE, FINAL_SYNC_PENDING or COMPLETED.");
        }

        var tool = request.Tool ?? "personio";
        var tokens = new IssuedTokenView[request.Count];
        for (var i = 0; i < tokens.Length; i++)
        {
            var originId = request.EndUserOriginId ?? $"origin-{state.NextOriginNumber()}";
            var endUser = new IntegrationEndUser(
                request.EndUserOrganizationName ?? "Acme, Inc.", request.EndUserEmail ?? "admin@acme.test", originId);
            var integration = lifecycle.Create(tool, IntegrationValues.DefaultCategory, endUser, setupStatus);
            var issued = state.IssueToken(new ConnectedIntegration(tool, integration.Id, originId,
                endUser.OrganizationName, endUser.CreatorEmail, setupStatus));
            tokens[i] = new IssuedTokenView(issued.Token, issued.Integration.Id, originId);
        }

        stats.TokensIssued(tokens.Length);
        return Results.Json(new IssuedTokens(tokens), EmulatorJson.Options);
    }

    public sealed record IssueTokensRequest(
        int Count,
        string? Tool,
        string? EndUserOriginId,
        string? EndUserOrganizationName,
        string? EndUserEmail,
        string? SetupStatus);

    public sealed record IssuedTokens(IReadOnlyList<IssuedTokenView> Tokens);

    public sealed record IssuedTokenView(string Token, string IntegrationId, string? EndUserOriginId);
}
