using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Kombo.Worker.Operations;

internal static class HealthServiceCollectionExtensions
{
    /// <summary>Checks tagged with this make up readiness; MassTransit tags its bus check the same way.</summary>
    public const string ReadyTag = "ready";

    /// <summary>
    /// The health options and the check registry. Each feature adds its own readiness check beside the code it checks
    /// (database writable, outbox not stuck, API key accepted); the broker check is MassTransit's own.
    /// </summary>
    public static IServiceCollection AddHealth(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<HealthOptions>()
            .Bind(configuration.GetSection(HealthOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.AddHealthChecks();
        return services;
    }
}
