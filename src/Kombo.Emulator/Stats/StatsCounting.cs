namespace Kombo.Emulator.Stats;

/// <summary>Counts each <c>/v1</c> call by its endpoint (routing has already picked it) and by the status answered.</summary>
public sealed class StatsCounting(RequestDelegate next, RequestStats stats)
{
    public async Task InvokeAsync(HttpContext context)
    {
        stats.Call(context.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName);
        await next(context);
        if (!context.RequestAborted.IsCancellationRequested)
        {
            stats.Answered(context.Response.StatusCode);
        }
    }
}
