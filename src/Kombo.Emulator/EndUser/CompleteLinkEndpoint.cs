using Kombo.Emulator.Connect;
using Kombo.Emulator.Stats;
using Microsoft.AspNetCore.WebUtilities;

namespace Kombo.Emulator.EndUser;

/// <summary>
/// <c>POST /emulator/links/complete</c>: the end user finishes the Connect flow for a link, and the token
/// <c>showKomboConnect</c> would return comes back.
/// </summary>
public static class CompleteLinkEndpoint
{
    public static async Task<IResult> HandleAsync(HttpContext context, EmulatorState state, RequestStats stats)
    {
        var (request, error) = await JsonBody.ReadAsync<CompleteLinkRequest>(context.Request, context.RequestAborted);
        if (request is null)
        {
            return AdminErrors.BadRequest(error!);
        }

        if (LinkToken(request.Link) is not { } linkToken)
        {
            return AdminErrors.BadRequest("link: Expected the full link returned by create-link (…/connect/v1?token=…).");
        }

        if (!state.TryGetLink(linkToken, out var link))
        {
            return AdminErrors.NotFound("The link is unknown or has expired.");
        }

        var tool = string.IsNullOrEmpty(request.Tool) ? link.Request.IntegrationTool : request.Tool;
        if (tool is null)
        {
            return AdminErrors.BadRequest("tool: Required, because the link was created without integration_tool.");
        }

        var setupStatus = request.SetupStatus ?? "COMPLETED";
        if (!ConnectedIntegration.SetupStatuses.Contains(setupStatus))
        {
            return AdminErrors.BadRequest("setup_status: Expected INCOMPLETE, FINAL_SYNC_PENDING or COMPLETED.");
        }

        var issued = state.IssueToken(new ConnectedIntegration(tool, RandomIds.IntegrationId(tool),
            link.Request.EndUserOriginId, link.Request.EndUserOrganizationName, link.Request.EndUserEmail, setupStatus));
        stats.TokensIssued(1);
        return Results.Json(new CompletedLink(issued.Token, issued.Integration.Id), EmulatorJson.Options);
    }

    private static string? LinkToken(string? link)
    {
        if (!Uri.TryCreate(link, UriKind.Absolute, out var uri))
        {
            return null;
        }

        var token = QueryHelpers.ParseQuery(uri.Query).GetValueOrDefault("token").ToString();
        return token.Length > 0 ? token : null;
    }

    public sealed record CompleteLinkRequest(string? Link, string? Tool, string? SetupStatus);

    public sealed record CompletedLink(string Token, string IntegrationId);
}
