using Dapper;
using Kombo.Worker.Storage;
using Npgsql;

namespace Kombo.Worker.PostgreSqlTests;

[Collection(PostgresCollection.Name)]
public sealed class PostgreSqlSchemaMigratorTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Migrations_apply_on_an_empty_database_and_record_every_version()
    {
        await using var connection = await OpenNewDatabaseAsync();

        Assert.Equal(PostgreSqlSchemaMigrator.LatestVersion, await PostgreSqlSchemaMigrator.MigrateAsync(connection, CancellationToken.None));

        Assert.Equal(Enumerable.Range(1, PostgreSqlSchemaMigrator.LatestVersion),
            await connection.QueryAsync<int>("SELECT version FROM schema_version ORDER BY version"));
    }

    [Fact]
    public async Task Second_run_applies_nothing()
    {
        await using var connection = await OpenNewDatabaseAsync();
        await PostgreSqlSchemaMigrator.MigrateAsync(connection, CancellationToken.None);
        var applied = (await connection.QueryAsync<(int, long)>("SELECT version, applied_at FROM schema_version ORDER BY version")).ToList();

        Assert.Equal(PostgreSqlSchemaMigrator.LatestVersion, await PostgreSqlSchemaMigrator.MigrateAsync(connection, CancellationToken.None));

        Assert.Equal(applied, await connection.QueryAsync<(int, long)>("SELECT version, applied_at FROM schema_version ORDER BY version"));
    }

    [Fact]
    public async Task Three_migrators_started_at_once_all_succeed_and_apply_each_script_once()
    {
        var connectionString = await postgres.Node.CreateDatabaseAsync();
        var connections = new List<NpgsqlConnection>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync();
                connections.Add(connection);
            }

            // Each holds an open session before any starts, so that all three reach the lock together.
            using var go = new ManualResetEventSlim();
            var migrations = connections
                .Select(c => Task.Run(async () =>
                {
                    go.Wait();
                    return await PostgreSqlSchemaMigrator.MigrateAsync(c, CancellationToken.None);
                }))
                .ToList();
            go.Set();

            Assert.All(await Task.WhenAll(migrations), version => Assert.Equal(PostgreSqlSchemaMigrator.LatestVersion, version));
            Assert.Equal(Enumerable.Range(1, PostgreSqlSchemaMigrator.LatestVersion),
                await connections[0].QueryAsync<int>("SELECT version FROM schema_version ORDER BY version"));
            // A script applied twice would have failed on its CREATE TABLE; one table of each name proves it ran once.
            Assert.Equal(1, await connections[0].ExecuteScalarAsync<long>(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'outbox'"));
            Assert.Equal(0, await connections[0].ExecuteScalarAsync<long>("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"));
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Database_newer_than_the_worker_is_refused()
    {
        await using var connection = await OpenNewDatabaseAsync();
        await PostgreSqlSchemaMigrator.MigrateAsync(connection, CancellationToken.None);
        await connection.ExecuteAsync("INSERT INTO schema_version VALUES (@Version, 0)", new { Version = PostgreSqlSchemaMigrator.LatestVersion + 1 });

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => PostgreSqlSchemaMigrator.MigrateAsync(connection, CancellationToken.None));

        Assert.Contains("newer than this worker knows", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"));
    }

    [Fact]
    public void Every_postgresql_migration_has_a_version_of_its_own_and_none_is_missing()
    {
        var scripts = MigrationScripts.Order(typeof(PostgreSqlSchemaMigrator).Assembly.GetManifestResourceNames(), MigrationScripts.PostgreSql);

        Assert.Equal(Enumerable.Range(1, scripts.Count), scripts.Select(s => s.Version));
        Assert.Equal(SchemaMigrator.LatestVersion, PostgreSqlSchemaMigrator.LatestVersion);
    }

    private async Task<NpgsqlConnection> OpenNewDatabaseAsync()
    {
        var connection = new NpgsqlConnection(await postgres.Node.CreateDatabaseAsync());
        await connection.OpenAsync();
        return connection;
    }
}
