using Kombo.Worker.Operations;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Storage;

internal static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// The database (<see cref="StorageOptions.Provider"/>: a SQLite file and its single writer, or a shared PostgreSQL
    /// database), the schema migration that runs before anything else starts, and the database's readiness check.
    /// </summary>
    public static IServiceCollection AddStorage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StorageOptions>()
            .Bind(configuration.GetSection(StorageOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>();
        services.AddOptions<RetentionOptions>()
            .Bind(configuration.GetSection(RetentionOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddWorkerMetrics();
        if (configuration.GetSection(StorageOptions.SectionName).Get<StorageOptions>() is { IsPostgreSql: true })
        {
            services.AddSingleton<PostgreSqlDatabase>();
            services.AddSingleton<IDatabase>(provider => provider.GetRequiredService<PostgreSqlDatabase>());
            services.AddSingleton<IDatabaseWriter>(provider => Counted(provider, ActivatorUtilities.CreateInstance<PostgreSqlWriter>(provider)));
        }
        else
        {
            services.AddSingleton<SqliteDatabase>();
            services.AddSingleton<IDatabase>(provider => provider.GetRequiredService<SqliteDatabase>());
            services.AddSingleton(provider => Counted(provider, ActivatorUtilities.CreateInstance<SqliteWriter>(provider)));
            services.AddSingleton<IDatabaseWriter>(provider => provider.GetRequiredService<SqliteWriter>());
        }

        services.AddHostedService<SchemaInitializer>();
        services.AddHostedService<DatabaseWriterWatchdog>();
        services.AddHealthChecks()
            .AddCheck<DatabaseWritableCheck>(DatabaseWritableCheck.Name, tags: [HealthServiceCollectionExtensions.ReadyTag], timeout: TimeSpan.FromSeconds(10));
        return services;
    }

    private static T Counted<T>(IServiceProvider provider, T writer)
        where T : IDatabaseWriter
    {
        writer.Committed += provider.GetRequiredService<WorkerMetrics>().Committed;
        return writer;
    }
}

internal sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options) =>
        options.IsPostgreSql && string.IsNullOrWhiteSpace(options.ConnectionString)
            ? ValidateOptionsResult.Fail("Storage:ConnectionString is required with Storage:Provider PostgreSql (set Storage__ConnectionString).")
            : ValidateOptionsResult.Success;
}
