using Microsoft.Extensions.Options;

namespace Kombo.Emulator.Auth;

/// <summary>Every <c>/v1</c> call needs <c>Authorization: Bearer &lt;Emulator:ApiKey&gt;</c>.</summary>
public sealed class BearerKeyCheck(RequestDelegate next, IOptions<EmulatorOptions> options)
{
    private const string Scheme = "Bearer ";
    private readonly string _apiKey = options.Value.ApiKey;

    public Task InvokeAsync(HttpContext context)
    {
        string? header = context.Request.Headers.Authorization;
        if (header is null)
        {
            return RejectAsync(context, "The Authorization header is missing; send 'Authorization: Bearer <API key>'.");
        }

        if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase)
            || !string.Equals(header[Scheme.Length..].Trim(), _apiKey, StringComparison.Ordinal))
        {
            return RejectAsync(context, "The API key is invalid.");
        }

        return next(context);
    }

    private static Task RejectAsync(HttpContext context, string message) =>
        KomboErrors.WriteAsync(context, StatusCodes.Status401Unauthorized, KomboErrors.AuthenticationInvalid, message);
}
