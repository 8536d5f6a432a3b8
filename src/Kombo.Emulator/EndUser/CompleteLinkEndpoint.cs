using Kombo.Emulator.Connect;
using Kombo.Emulator.Integrations;
using Kombo.Emulator.Stats;

namespace Kombo.Emulator.EndUser;

/// <summary>
/// <c>POST /emulator/links/complete</c>: the end user finishes the Connect flow for a link. A new integration is
/// announced with <c>integration-created</c>; only an <c>EMBEDDED</c> link also gives the token <c>showKomboConnect</c>
/// would return (a magic link is finished away from the app). A reconnection link keeps its integration and sends
/// <c>integration-state-changed</c> back to <c>ACTIVE</c>.
/// </summary>
public static class CompleteLinkEndpoint
{
    public static async Task<IResult> HandleAsync(
        HttpContext context, EmulatorState state, IntegrationLifecycle lifecycle, RequestStats stats)
    {
        var (request, error) = await JsonBody.ReadAsync<CompleteLinkRequest>(context.Request, context.RequestAborted);
        if (request is null)
        {
            return AdminErrors.BadRequest(error!);
        }

        if (!EndUserLinks.TryFind(request.Link, state, out var link, out var problem))
        {
            return problem;
        }

        var setupStatus = request.SetupStatus ?? "COMPLETED";
        if (!ConnectedIntegration.SetupStatuses.Contains(setupStatus))
        {
            return AdminErrors.BadRequest("setup_status: Expected INCOMPLETE, FINAL_SYNC_PENDING or COMPLETED.");
        }

        if (link.RelinkIntegrationId is { } relinked)
        {
            var reconnected = lifecycle.ChangeState(relinked, IntegrationValues.Active, request.SetupStatus, qaStatus: null);
            return reconnected is null
                ? AdminErrors.NotFound($"The integration {relinked} this reconnection link is for was deleted.")
                : Results.Json(new CompletedLink(null, reconnected.Id), EmulatorJson.Options);
        }

        var tool = string.IsNullOrEmpty(request.Tool) ? link.Request.IntegrationTool : request.Tool;
        if (tool is null)
        {
            return AdminErrors.BadRequest("tool: Required, because the link was created without integration_tool.");
        }

        var integration = lifecycle.Create(tool, link.Request.IntegrationCategory,
            new IntegrationEndUser(link.Request.EndUserOrganizationName, link.Request.EndUserEmail, link.Request.EndUserOriginId),
            setupStatus);
        if (link.Request.LinkType == CreateLinkValues.MagicLink)
        {
            return Results.Json(new CompletedLink(null, integration.Id), EmulatorJson.Options);
        }

        var issued = state.IssueToken(new ConnectedIntegration(tool, integration.Id,
            link.Request.EndUserOriginId, link.Request.EndUserOrganizationName, link.Request.EndUserEmail, setupStatus));
        stats.TokensIssued(1);
        return Results.Json(new CompletedLink(issued.Token, integration.Id), EmulatorJson.Options);
    }

    public sealed record CompleteLinkRequest(string? Link, string? Tool, string? SetupStatus);

    /// <summary><see cref="Token"/> is null for a magic link and for a reconnection.</summary>
    public sealed record CompletedLink(string? Token, string IntegrationId);
}
