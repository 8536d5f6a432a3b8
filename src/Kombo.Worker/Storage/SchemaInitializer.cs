namespace Kombo.Worker.Storage;

/// <summary>
/// Creates and migrates the database at start-up; registered before MassTransit so no consumer runs first. A SQLite
/// file is locked to this process for its lifetime; PostgreSQL migrations run under an advisory lock, so instances
/// starting together are safe.
/// </summary>
internal sealed partial class SchemaInitializer(IDatabase database, ILogger<SchemaInitializer> logger) : IHostedService, IDisposable
{
    private DatabaseLock? _lock;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        int version;
        switch (database)
        {
            case SqliteDatabase sqlite:
                _lock ??= DatabaseLock.Acquire(sqlite.FilePath);
                sqlite.EnsureCreated();
                using (var connection = sqlite.Open())
                {
                    version = SchemaMigrator.Migrate(connection);
                }

                break;
            case PostgreSqlDatabase postgres:
                await using (var connection = await postgres.DataSource.OpenConnectionAsync(cancellationToken))
                {
                    version = await PostgreSqlSchemaMigrator.MigrateAsync(connection, cancellationToken);
                }

                break;
            default:
                throw new InvalidOperationException($"No schema for {database.GetType().Name}.");
        }

        LogReady(database.Name, version);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // Released with the container, after every hosted service (the relay's last marks included) has stopped.
    public void Dispose() => _lock?.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "Database {DatabasePath} ready at schema version {SchemaVersion}")]
    private partial void LogReady(string databasePath, int schemaVersion);
}
