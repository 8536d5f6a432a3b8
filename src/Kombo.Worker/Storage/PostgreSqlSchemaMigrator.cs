using System.Data;
using Dapper;
using Npgsql;

namespace Kombo.Worker.Storage;

/// <summary>
/// Applies the numbered scripts in <c>Storage/Migrations/PostgreSql</c> in order, each in its own transaction, and
/// records each applied version in <c>schema_version</c>. Instances starting together on one database take turns:
/// the whole run holds a session advisory lock, so the second one finds the schema migrated and applies nothing.
/// </summary>
internal static class PostgreSqlSchemaMigrator
{
    // Any constant works, as long as every instance uses the same one; advisory locks are scoped to the database. It
    // stays one key for all schemas (unlike OutboxLockKeys): deployments in two schemas merely take turns migrating at
    // start, while a key that changed between versions would let an old and a new instance migrate one schema at once.
    private const long LockKey = 0x4B6F6D626F_0001; // "Kombo", migrations

    private const string CreateVersionTableSql = """
        CREATE TABLE IF NOT EXISTS schema_version (
            version    integer NOT NULL PRIMARY KEY,
            applied_at bigint  NOT NULL
        )
        """;

    private const string RecordVersionSql = """
        INSERT INTO schema_version (version, applied_at)
        VALUES (@Version, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
        """;

    public static int LatestVersion => Scripts.Value.Count == 0 ? 0 : Scripts.Value[^1].Version;

    /// <summary>Migrates the database of <paramref name="connection"/> (open) and returns its schema version.</summary>
    public static async Task<int> MigrateAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        // Waits for a migrating peer. A session lock, not a transaction one: each script commits on its own, and a
        // crashed migrator's lock goes with its session.
        await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_lock(@LockKey)", new { LockKey },
            cancellationToken: cancellationToken));
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(CreateVersionTableSql, cancellationToken: cancellationToken));
            var current = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
                "SELECT coalesce(max(version), 0) FROM schema_version", cancellationToken: cancellationToken));
            if (current > LatestVersion)
            {
                throw new InvalidOperationException(
                    $"The database is at schema version {current}, newer than this worker knows ({LatestVersion}).");
            }

            foreach (var script in Scripts.Value.Where(s => s.Version > current))
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await connection.ExecuteAsync(new CommandDefinition(script.Sql, transaction: transaction, cancellationToken: cancellationToken));
                await connection.ExecuteAsync(new CommandDefinition(RecordVersionSql, new { script.Version }, transaction,
                    cancellationToken: cancellationToken));
                await transaction.CommitAsync(cancellationToken);
                current = script.Version;
            }

            return current;
        }
        finally
        {
            if (connection.FullState == ConnectionState.Open)
            {
                await connection.ExecuteAsync("SELECT pg_advisory_unlock(@LockKey)", new { LockKey });
            }
        }
    }

    private static readonly Lazy<IReadOnlyList<MigrationScript>> Scripts = new(() => MigrationScripts.Load(MigrationScripts.PostgreSql));
}
