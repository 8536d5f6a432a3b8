namespace Kombo.Emulator.EndUser;

public static class EndUserEndpoints
{
    public static IEndpointRouteBuilder MapEndUser(this IEndpointRouteBuilder emulator)
    {
        emulator.MapPost("/links/complete", CompleteLinkEndpoint.HandleAsync);
        emulator.MapPost("/links/fail", FailLinkEndpoint.HandleAsync);
        emulator.MapPost("/tokens", IssueTokensEndpoint.HandleAsync);
        return emulator;
    }
}
