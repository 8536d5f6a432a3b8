using System.Globalization;
using System.Reflection;
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

    private static readonly Lazy<IReadOnlyList<(int Version, string Sql)>> Scripts = new(LoadScripts);

    private static IReadOnlyList<(int Version, string Sql)> LoadScripts()
    {
        var assembly = typeof(SchemaMigrator).Assembly;
        const string prefix = "Migrations/";
        var scripts = assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith(prefix, StringComparison.Ordinal) && name.EndsWith(".sql", StringComparison.Ordinal))
            .Select(name => (Name: name, Version: int.Parse(name[prefix.Length..].Split('_')[0], CultureInfo.InvariantCulture)))
            .OrderBy(s => s.Version)
            .ToList();

        // Two scripts of one version would leave the second unapplied on every database: refuse to start instead.
        if (scripts.GroupBy(s => s.Version).FirstOrDefault(g => g.Count() > 1) is { } clash)
        {
            throw new InvalidOperationException($"Two migrations share version {clash.Key}: {string.Join(", ", clash.Select(s => s.Name))}.");
        }

        return scripts.Select(s => (s.Version, Read(assembly, s.Name))).ToList();
    }

    /// <summary>The version the database is at: 0 for one the worker never migrated.</summary>
    public static int CurrentVersion(SqliteConnection connection) => connection.ExecuteScalarInt("PRAGMA user_version;");

    private static string Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static int ExecuteScalarInt(this SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }
}
