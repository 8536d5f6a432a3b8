using Kombo.Testing;
using Kombo.Worker.Storage;
using Npgsql;

namespace Kombo.Worker.PostgreSqlTests;

/// <summary>One private PostgreSQL server for the run; each test takes a database of its own from it.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private PostgresNode? _node;

    public PostgresNode Node => _node ?? throw new InvalidOperationException("The PostgreSQL server has not started.");

    // Throws with the server's log tail when it cannot start: every test in the collection then fails, none skips.
    public async Task InitializeAsync() => _node = await PostgresNode.StartNewAsync();

    /// <returns>The connection string of a new database with the worker's schema.</returns>
    public async Task<string> NewMigratedDatabaseAsync()
    {
        var connectionString = await Node.CreateDatabaseAsync();
        await using var migration = new NpgsqlConnection(connectionString);
        await migration.OpenAsync();
        await PostgreSqlSchemaMigrator.MigrateAsync(migration, CancellationToken.None);
        return connectionString;
    }

    public async Task DisposeAsync()
    {
        if (_node is not null)
        {
            await _node.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "PostgreSQL";
}
