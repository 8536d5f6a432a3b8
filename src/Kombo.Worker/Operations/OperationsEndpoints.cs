using Microsoft.AspNetCore.Diagnostics.HealthChecks;

namespace Kombo.Worker.Operations;

internal static class OperationsEndpoints
{
    public const string LivePath = "/health/live";
    public const string ReadyPath = "/health/ready";

    /// <summary>
    /// <c>/health/live</c> (the process answers), <c>/health/ready</c> (every check tagged
    /// <see cref="HealthServiceCollectionExtensions.ReadyTag"/>) and <c>GET /metrics</c> (Prometheus text).
    /// </summary>
    public static IApplicationBuilder UseOperationsEndpoints(this IApplicationBuilder app)
    {
        app.UseHealthChecks(LivePath, new HealthCheckOptions
        {
            Predicate = _ => false,
            ResponseWriter = HealthResponse.WriteAsync,
        });
        app.UseHealthChecks(ReadyPath, new HealthCheckOptions
        {
            Predicate = registration => registration.Tags.Contains(HealthServiceCollectionExtensions.ReadyTag),
            ResponseWriter = HealthResponse.WriteAsync,
        });
        app.UseOpenTelemetryPrometheusScrapingEndpoint();
        return app;
    }
}
