using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Operations;

internal static class OperationsEndpoints
{
    public const string LivePath = "/health/live";
    public const string ReadyPath = "/health/ready";

    /// <summary>
    /// <c>/health/live</c> (the process answers), <c>/health/ready</c> (every check tagged
    /// <see cref="HealthServiceCollectionExtensions.ReadyTag"/>) and <c>GET /metrics</c> (Prometheus text). The checks'
    /// descriptions and data only with <see cref="HealthOptions.Details"/>.
    /// </summary>
    public static IApplicationBuilder UseOperationsEndpoints(this IApplicationBuilder app)
    {
        var details = app.ApplicationServices.GetRequiredService<IOptions<HealthOptions>>().Value.Details;

        app.UseHealthChecks(LivePath, new HealthCheckOptions
        {
            Predicate = _ => false,
            ResponseWriter = (context, report) => HealthResponse.WriteAsync(context, report, details),
        });
        app.UseHealthChecks(ReadyPath, new HealthCheckOptions
        {
            Predicate = registration => registration.Tags.Contains(HealthServiceCollectionExtensions.ReadyTag),
            ResponseWriter = (context, report) => HealthResponse.WriteAsync(context, report, details),
        });
        app.UseOpenTelemetryPrometheusScrapingEndpoint();
        return app;
    }
}
