using Kombo.Emulator.Integrations;

namespace Kombo.Emulator.EndUser;

/// <summary>
/// <c>POST /emulator/links/fail</c>: the end user hits an error in the Connect flow; Kombo sends
/// <c>connection-flow-failed</c>. The tool is the body's, else the link's, else <c>personio</c> (the end user had
/// picked one when it failed).
/// </summary>
public static class FailLinkEndpoint
{
    public const string DefaultTool = "personio";

    public static async Task<IResult> HandleAsync(HttpContext context, EmulatorState state, IntegrationLifecycle lifecycle)
    {
        var (request, error) = await JsonBody.ReadAsync<FailLinkRequest>(context.Request, context.RequestAborted);
        if (request is null)
        {
            return AdminErrors.BadRequest(error!);
        }

        if (!EndUserLinks.TryFind(request.Link, state, out var link, out var problem))
        {
            return problem;
        }

        var tool = string.IsNullOrEmpty(request.Tool) ? link.Request.IntegrationTool ?? DefaultTool : request.Tool;
        var logUrl = $"https://app.kombo.dev/logs/{RandomIds.LogId()}";
        lifecycle.FlowFailed(link, tool, logUrl);
        return Results.Json(new FailedLink(logUrl), EmulatorJson.Options);
    }

    public sealed record FailLinkRequest(string? Link, string? Tool);

    public sealed record FailedLink(string LogUrl);
}
