using Kombo.Worker.Operations;
using Kombo.Worker.Storage;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Kombo.Worker.Outbox;

internal static class OutboxServiceCollectionExtensions
{
    /// <summary>
    /// The transactional outbox, its relay, its cleanup, its gauges and its readiness check. Register after MassTransit:
    /// the relay needs the bus.
    /// </summary>
    public static IServiceCollection AddOutbox(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<OutboxOptions>()
            .Bind(configuration.GetSection(OutboxOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        // The trace settings decide what a row carries (ForwardBaggage); bound here too for hosts without AddTelemetry.
        services.AddOptions<OpenTelemetryOptions>().Bind(configuration.GetSection(OpenTelemetryOptions.SectionName));
        services.AddSingleton<OutboxSignal>();
        if (configuration.GetSection(StorageOptions.SectionName).Get<StorageOptions>() is { IsPostgreSql: true })
        {
            services.AddSingleton<PostgreSqlOutboxWakeups>();
            services.AddHostedService(provider => provider.GetRequiredService<PostgreSqlOutboxWakeups>());
            services.AddSingleton<PostgreSqlOutboxPartitions>();
            services.AddSingleton<IOutboxPartitions>(provider => provider.GetRequiredService<PostgreSqlOutboxPartitions>());
            services.AddHostedService(provider => provider.GetRequiredService<PostgreSqlOutboxPartitions>());
        }
        else
        {
            services.AddSingleton<IOutboxPartitions, AllOutboxPartitions>();
        }

        services.AddSingleton<RelayQueue>();
        services.AddSingleton<TransactionalOutbox>();
        services.AddSingleton<OutboxRelay>();
        services.AddHostedService(provider => provider.GetRequiredService<OutboxRelay>());
        services.AddSingleton<OutboxCleanup>();
        services.AddHostedService(provider => provider.GetRequiredService<OutboxCleanup>());

        services.AddSingleton<OutboxStatistics>();
        services.AddSingleton<OutboxGauges>();
        services.ConfigureOpenTelemetryMeterProvider(metrics => metrics.AddInstrumentation(provider => provider.GetRequiredService<OutboxGauges>()));
        services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddSource(OutboxTrace.ActivitySourceName));
        services.AddHealthChecks()
            .AddCheck<OutboxNotStuckCheck>(OutboxNotStuckCheck.Name, tags: [HealthServiceCollectionExtensions.ReadyTag], timeout: TimeSpan.FromSeconds(10));
        return services;
    }
}
