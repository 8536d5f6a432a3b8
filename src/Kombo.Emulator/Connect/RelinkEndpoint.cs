using System.Text;
using System.Text.Json;
using Kombo.Emulator.Stats;

namespace Kombo.Emulator.Connect;

/// <summary>
/// <c>POST /v1/integrations/{integration_id}/relink</c>: a reconnection link for an existing integration, same shape as
/// create-link's. The body is optional: <c>language</c>, <c>scope_config_id</c> and <c>link_type</c>, checked like
/// create-link's fields of those names.
/// </summary>
public static class RelinkEndpoint
{
    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement.Clone();

    public static async Task<IResult> HandleAsync(
        string integrationId, HttpContext context, EmulatorState state, RequestStats stats)
    {
        var (body, error) = await ReadOptionalBodyAsync(context);
        if (error is not null)
        {
            return KomboErrors.Result(context, StatusCodes.Status400BadRequest, KomboErrors.InputInvalid, error);
        }

        var problems = new List<string>();
        if (body.ValueKind is not (JsonValueKind.Object or JsonValueKind.Undefined))
        {
            problems.Add($"Expected the body to be a JSON object, received {CreateLinkValidation.Describe(body.ValueKind)}.");
        }

        var fields = body.ValueKind == JsonValueKind.Object ? body : EmptyObject;
        var language = CreateLinkValidation.OneOf(fields, "language", CreateLinkValues.Languages, "en", nullable: true, problems);
        var scopeConfigId = CreateLinkValidation.NullableString(fields, "scope_config_id", problems);
        var linkType = CreateLinkValidation.OneOf(
            fields, "link_type", CreateLinkValues.LinkTypes, CreateLinkValues.Embedded, nullable: false, problems);
        if (problems.Count > 0)
        {
            return KomboErrors.Result(context, StatusCodes.Status400BadRequest, KomboErrors.InputInvalid, string.Join(" ", problems));
        }

        if (!state.TryGetIntegration(integrationId, out var integration))
        {
            return KomboErrors.Result(context, StatusCodes.Status404NotFound, KomboErrors.IntegrationNotFound,
                $"No integration with the id '{integrationId}' exists.");
        }

        var endUser = integration.EndUser;
        var link = state.AddLink(new CreateLinkRequest(endUser.CreatorEmail ?? "", endUser.OrganizationName, endUser.OriginId,
            null, integration.Category, integration.Tool, language!, scopeConfigId, false, false, linkType!), integration.Id);
        stats.LinkCreated();
        return Results.Json(new SuccessResponse<CreateLinkEndpoint.LinkData>(CreateLinkEndpoint.LinkData.For(context, link)),
            EmulatorJson.Options);
    }

    private static async Task<(JsonElement Body, string? Error)> ReadOptionalBodyAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(context.RequestAborted);
        if (string.IsNullOrWhiteSpace(text))
        {
            return (default, null);
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            return (document.RootElement.Clone(), null);
        }
        catch (JsonException e)
        {
            return (default, $"The request body is not valid JSON: {e.Message}");
        }
    }
}
