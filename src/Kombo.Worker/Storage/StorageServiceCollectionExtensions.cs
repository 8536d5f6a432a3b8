using Kombo.Worker.Operations;

namespace Kombo.Worker.Storage;

internal static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// The SQLite file, its single writer, the schema migration that runs before anything else starts, and the
    /// database's readiness check.
    /// </summary>
    public static IServiceCollection AddStorage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StorageOptions>()
            .Bind(configuration.GetSection(StorageOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<SqliteDatabase>();
        services.AddWorkerMetrics();
        services.AddSingleton(provider =>
        {
            var writer = ActivatorUtilities.CreateInstance<SqliteWriter>(provider);
            var metrics = provider.GetRequiredService<WorkerMetrics>();
            writer.Committed += metrics.Committed;
            return writer;
        });
        services.AddHostedService<SchemaInitializer>();
        services.AddHostedService<DatabaseWriterWatchdog>();
        services.AddHealthChecks()
            .AddCheck<DatabaseWritableCheck>(DatabaseWritableCheck.Name, tags: [HealthServiceCollectionExtensions.ReadyTag], timeout: TimeSpan.FromSeconds(10));
        return services;
    }
}
