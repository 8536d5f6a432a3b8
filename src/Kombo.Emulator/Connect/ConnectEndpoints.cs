namespace Kombo.Emulator.Connect;

/// <summary>The emulated Kombo API under <c>/v1</c>. The endpoint names double as the keys of the call counters.</summary>
public static class ConnectEndpoints
{
    public const string CreateLink = "create_link";
    public const string IntegrationByToken = "integration_by_token";
    public const string ActivateIntegration = "activate_integration";
    public const string Relink = "relink";
    public const string CheckApiKey = "check_api_key";

    public static IEndpointRouteBuilder MapConnect(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1");
        v1.MapPost("/connect/create-link", CreateLinkEndpoint.HandleAsync).WithName(CreateLink);
        v1.MapGet("/connect/integration-by-token/{token}", TokenEndpoints.IntegrationByToken).WithName(IntegrationByToken);
        v1.MapPost("/connect/activate-integration", TokenEndpoints.ActivateIntegrationAsync).WithName(ActivateIntegration);
        v1.MapPost("/integrations/{integrationId}/relink", RelinkEndpoint.HandleAsync).WithName(Relink);
        v1.MapGet("/check-api-key", CheckApiKeyEndpoint.Handle).WithName(CheckApiKey);
        v1.MapFallback((HttpContext context) => Results.Json(
            new ErrorResponse(new ErrorDetails(null, "Not found", $"No route for {context.Request.Method} {context.Request.Path}.", null)),
            EmulatorJson.Options, statusCode: StatusCodes.Status404NotFound));
        return app;
    }
}
