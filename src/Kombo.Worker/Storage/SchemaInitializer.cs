namespace Kombo.Worker.Storage;

/// <summary>Creates and migrates the database at start-up; registered before MassTransit so no consumer runs first.</summary>
internal sealed partial class SchemaInitializer(SqliteDatabase database, ILogger<SchemaInitializer> logger) : IHostedService, IDisposable
{
    private DatabaseLock? _lock;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _lock ??= DatabaseLock.Acquire(database.FilePath);
        database.EnsureCreated();
        using var connection = database.Open();
        var version = SchemaMigrator.Migrate(connection);
        LogReady(database.FilePath, version);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // Released with the container, after every hosted service (the relay's last marks included) has stopped.
    public void Dispose() => _lock?.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "Database {DatabasePath} ready at schema version {SchemaVersion}")]
    private partial void LogReady(string databasePath, int schemaVersion);
}
