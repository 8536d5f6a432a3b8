using Kombo.Emulator.Stats;

namespace Kombo.Emulator.Connect;

/// <summary><c>POST /v1/connect/create-link</c>.</summary>
public static class CreateLinkEndpoint
{
    public static async Task<IResult> HandleAsync(HttpContext context, EmulatorState state, RequestStats stats)
    {
        var (body, error) = await JsonBody.ReadAsync(context.Request, context.RequestAborted);
        if (error is not null)
        {
            return KomboErrors.Result(context, StatusCodes.Status400BadRequest, KomboErrors.InputInvalid, error);
        }

        var problems = new List<string>();
        var request = CreateLinkValidation.Validate(body, problems);
        if (request is null)
        {
            return KomboErrors.Result(context, StatusCodes.Status400BadRequest, KomboErrors.InputInvalid, string.Join(" ", problems));
        }

        var link = state.AddLink(request);
        stats.LinkCreated();
        return Results.Json(new SuccessResponse<LinkData>(LinkData.For(context, link)), EmulatorJson.Options);
    }

    public sealed record LinkData(string Link)
    {
        public static LinkData For(HttpContext context, ConnectLink link) =>
            new($"{context.Request.Scheme}://{context.Request.Host}/connect/v1?token={link.Token}");
    }
}
