namespace Kombo.Emulator.Faults;

/// <summary><c>GET|PUT|DELETE /emulator/faults</c>: read, replace or clear the faults in force.</summary>
public static class FaultEndpoints
{
    public static IEndpointRouteBuilder MapFaults(this IEndpointRouteBuilder emulator)
    {
        emulator.MapGet("/faults", (ActiveFaults faults) => Results.Json(faults.Settings, EmulatorJson.Options));
        emulator.MapPut("/faults", async (HttpContext context, ActiveFaults faults) =>
        {
            var (settings, error) = await JsonBody.ReadAsync<FaultSettings>(context.Request, context.RequestAborted);
            var problems = settings?.Problems().ToList() ?? [];
            if (settings is null || problems.Count > 0)
            {
                return AdminErrors.BadRequest(error ?? string.Join(" ", problems));
            }

            faults.Replace(settings);
            return Results.Json(settings, EmulatorJson.Options);
        });
        emulator.MapDelete("/faults", (ActiveFaults faults) =>
        {
            faults.Clear();
            return Results.NoContent();
        });
        return emulator;
    }
}
