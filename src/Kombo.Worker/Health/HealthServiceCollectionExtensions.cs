using Kombo.Worker.KomboApi;
using Kombo.Worker.Telemetry;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Kombo.Worker.Health;

public static class HealthServiceCollectionExtensions
{
    /// <summary>Checks tagged with this make up readiness; MassTransit tags its bus check the same way.</summary>
    public const string ReadyTag = "ready";

    public const string LivePath = "/health/live";
    public const string ReadyPath = "/health/ready";

    /// <summary>
    /// <c>/health/live</c> (the process answers) and <c>/health/ready</c> (broker connected, database writable,
    /// outbox not stuck, Kombo accepts the API key) on the worker's HTTP listener. The broker check is MassTransit's own, added by
    /// <c>AddMassTransit</c>.
    /// </summary>
    public static IServiceCollection AddHealth(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<HealthOptions>()
            .Bind(configuration.GetSection(HealthOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<OutboxStatistics>();
        services.AddHealthChecks()
            .AddCheck<DatabaseWritableCheck>(DatabaseWritableCheck.Name, tags: [ReadyTag], timeout: TimeSpan.FromSeconds(10))
            .AddCheck<OutboxNotStuckCheck>(OutboxNotStuckCheck.Name, tags: [ReadyTag], timeout: TimeSpan.FromSeconds(10))
            .AddCheck<ApiKeyAcceptedCheck>(ApiKeyAcceptedCheck.Name, tags: [ReadyTag]);
        services.TryAddSingleton<ApiKeyStatus>();
        services.AddHostedService<ApiKeyCheck>();
        services.TryAddEnumerable(ServiceDescriptor.Transient<IStartupFilter, HealthEndpoints>());
        return services;
    }
}

/// <summary>Serves the health endpoints on whatever listener hosts the worker, ahead of anything else it maps.</summary>
internal sealed class HealthEndpoints : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.UseHealthChecks(HealthServiceCollectionExtensions.LivePath, new HealthCheckOptions
        {
            Predicate = _ => false,
            ResponseWriter = HealthResponse.WriteAsync,
        });
        app.UseHealthChecks(HealthServiceCollectionExtensions.ReadyPath, new HealthCheckOptions
        {
            Predicate = registration => registration.Tags.Contains(HealthServiceCollectionExtensions.ReadyTag),
            ResponseWriter = HealthResponse.WriteAsync,
        });
        next(app);
    };
}
