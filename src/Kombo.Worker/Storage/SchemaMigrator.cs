using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Kombo.Worker.Storage;

/// <summary>
/// Applies the numbered scripts in <c>Storage/Migrations</c> in order, each in its own transaction, and records
/// the schema version in SQLite's <c>user_version</c>.
/// </summary>
internal static class SchemaMigrator
{
    public static int LatestVersion => Scripts.Value.Count == 0 ? 0 : Scripts.Value[^1].Version;

    public static int Migrate(SqliteConnection connection)
    {
        var current = CurrentVersion(connection);
        if (current > LatestVersion)
        {
            throw new InvalidOperationException(
                $"The database is at schema version {current}, newer than this worker knows ({LatestVersion}).");
        }

        foreach (var script in Scripts.Value.Where(s => s.Version > current))
        {
            using var transaction = connection.BeginTransaction(deferred: false);
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = $"{script.Sql}\nPRAGMA user_version = {script.Version};";
            command.ExecuteNonQuery();
            transaction.Commit();
            current = script.Version;
        }

        return current;
    }

    private static readonly Lazy<IReadOnlyList<MigrationScript>> Scripts = new(() => MigrationScripts.Load(MigrationScripts.Sqlite));

    /// <summary>The version the database is at: 0 for one the worker never migrated.</summary>
    public static int CurrentVersion(SqliteConnection connection) => connection.ExecuteScalarInt("PRAGMA user_version;");

    private static int ExecuteScalarInt(this SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }
}
