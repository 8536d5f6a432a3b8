namespace Kombo.Emulator;

/// <summary>Errors of the <c>/emulator</c> admin API: <c>{"error":"..."}</c>, deliberately not Kombo's shape.</summary>
public static class AdminErrors
{
    public static IResult BadRequest(string message) => Error(StatusCodes.Status400BadRequest, message);

    public static IResult NotFound(string message) => Error(StatusCodes.Status404NotFound, message);

    private static IResult Error(int status, string message) =>
        Results.Json(new AdminError(message), EmulatorJson.Options, statusCode: status);

    public sealed record AdminError(string Error);
}
