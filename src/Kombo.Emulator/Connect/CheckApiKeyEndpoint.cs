using Microsoft.Extensions.Options;

namespace Kombo.Emulator.Connect;

/// <summary>
/// <c>GET /v1/check-api-key</c>: answers only once the bearer check has passed, so a 200 means the key is good; a
/// wrong key gets the bearer check's 401. The body is Kombo's: <c>{"status":"success","data":{"environment_id"}}</c>.
/// </summary>
public static class CheckApiKeyEndpoint
{
    public static IResult Handle(IOptions<EmulatorOptions> options) =>
        Results.Json(new SuccessResponse<ApiKeyData>(new ApiKeyData(options.Value.EnvironmentId)), EmulatorJson.Options);

    public sealed record ApiKeyData(string EnvironmentId);
}
