using Kombo.Emulator.Connect;

namespace Kombo.Emulator.Integrations;

/// <summary>
/// <c>GET /emulator/integrations</c>, <c>DELETE /emulator/integrations/{id}</c> (deleted in Kombo's dashboard) and
/// <c>POST /emulator/integrations/{id}/state</c> (Kombo noticed a change), each change with its webhook.
/// </summary>
public static class IntegrationAdminEndpoints
{
    public static IEndpointRouteBuilder MapIntegrationAdmin(this IEndpointRouteBuilder emulator)
    {
        emulator.MapGet("/integrations", (EmulatorState state) =>
            Results.Json(new IntegrationList(state.Integrations()), EmulatorJson.Options));
        emulator.MapDelete("/integrations/{id}", (string id, IntegrationLifecycle lifecycle) =>
            lifecycle.Delete(id) is null ? UnknownIntegration(id) : Results.NoContent());
        emulator.MapPost("/integrations/{id}/state", ChangeStateAsync);
        return emulator;
    }

    private static async Task<IResult> ChangeStateAsync(string id, HttpContext context, IntegrationLifecycle lifecycle)
    {
        var (request, error) = await JsonBody.ReadAsync<StateChangeRequest>(context.Request, context.RequestAborted);
        if (request is null)
        {
            return AdminErrors.BadRequest(error!);
        }

        var problems = new List<string>();
        Check("state", request.State, IntegrationValues.States, required: true, problems);
        Check("setup_status", request.SetupStatus, [.. ConnectedIntegration.SetupStatuses], required: false, problems);
        Check("qa_status", request.QaStatus, IntegrationValues.QaStatuses, required: false, problems);
        if (problems.Count > 0)
        {
            return AdminErrors.BadRequest(string.Join(" ", problems));
        }

        var changed = lifecycle.ChangeState(id, request.State!, request.SetupStatus, request.QaStatus);
        return changed is null ? UnknownIntegration(id) : Results.Json(changed, EmulatorJson.Options);
    }

    private static void Check(string name, string? value, string[] allowed, bool required, List<string> problems)
    {
        if (value is null ? required : Array.IndexOf(allowed, value) < 0)
        {
            problems.Add($"{name}: Expected {string.Join(", ", allowed)}.");
        }
    }

    private static IResult UnknownIntegration(string id) => AdminErrors.NotFound($"No integration {id}.");

    public sealed record StateChangeRequest(string? State, string? SetupStatus, string? QaStatus);

    public sealed record IntegrationList(IReadOnlyList<Integration> Integrations);
}
