using System.Text.Json;
using Kombo.Emulator.Stats;

namespace Kombo.Emulator.Connect;

/// <summary>
/// <c>GET /v1/connect/integration-by-token/{token}</c> and the deprecated <c>POST /v1/connect/activate-integration</c>:
/// both trade a connect token for the flat integration answer.
/// </summary>
public static class TokenEndpoints
{
    public static IResult IntegrationByToken(string token, HttpContext context, EmulatorState state, RequestStats stats) =>
        Redeem(token, context, state, stats);

    public static async Task<IResult> ActivateIntegrationAsync(HttpContext context, EmulatorState state, RequestStats stats)
    {
        var (body, error) = await JsonBody.ReadAsync(context.Request, context.RequestAborted);
        if (error is not null)
        {
            return KomboErrors.Result(context, StatusCodes.Status400BadRequest, KomboErrors.InputInvalid, error);
        }

        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("token", out var token))
        {
            return KomboErrors.Result(context, StatusCodes.Status400BadRequest, KomboErrors.InputInvalid, "token: Required.");
        }

        if (token.ValueKind != JsonValueKind.String || token.GetString() is not { Length: > 0 } value)
        {
            return KomboErrors.Result(context, StatusCodes.Status400BadRequest, KomboErrors.InputInvalid,
                "token: Expected a non-empty string.");
        }

        return Redeem(value, context, state, stats);
    }

    private static IResult Redeem(string token, HttpContext context, EmulatorState state, RequestStats stats)
    {
        if (!state.TryRedeem(token, out var integration))
        {
            return KomboErrors.Result(context, StatusCodes.Status404NotFound, KomboErrors.InputInvalid,
                "The token is invalid or has expired.");
        }

        stats.TokenRedeemed();
        return Results.Json(new SuccessResponse<ConnectedIntegration>(integration), EmulatorJson.Options);
    }
}
