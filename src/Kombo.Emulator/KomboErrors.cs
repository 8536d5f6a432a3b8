namespace Kombo.Emulator;

/// <summary>Kombo's error body: <c>{"status":"error","error":{"code","title","message","log_url"}}</c>.</summary>
public static class KomboErrors
{
    public static readonly KomboErrorKind InputInvalid = new("PLATFORM.INPUT_INVALID", "Input invalid");
    public static readonly KomboErrorKind AuthenticationInvalid = new("PLATFORM.AUTHENTICATION_INVALID", "Authentication invalid");
    public static readonly KomboErrorKind RateLimitExceeded = new("PLATFORM.RATE_LIMIT_EXCEEDED", "Rate limit exceeded");
    public static readonly KomboErrorKind IntegrationNotFound = new("PLATFORM.INTEGRATION_NOT_FOUND", "Integration not found");
    public static readonly KomboErrorKind UnknownError = new("PLATFORM.UNKNOWN_ERROR", "Unknown error");

    public static ErrorResponse Body(HttpContext context, KomboErrorKind kind, string message) =>
        new(new ErrorDetails(kind.Code, kind.Title, message, LogUrl(context)));

    public static IResult Result(HttpContext context, int status, KomboErrorKind kind, string message) =>
        Results.Json(Body(context, kind, message), EmulatorJson.Options, statusCode: status);

    public static Task WriteAsync(HttpContext context, int status, KomboErrorKind kind, string message)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(Body(context, kind, message), EmulatorJson.Options, context.RequestAborted);
    }

    private static string LogUrl(HttpContext context) =>
        $"{context.Request.Scheme}://{context.Request.Host}/logs/{RandomIds.LogId()}";
}

public sealed record KomboErrorKind(string Code, string Title);
