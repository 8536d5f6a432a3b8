using System.ComponentModel.DataAnnotations;
using System.Data.Common;
using Dapper;
using Kombo.Worker.Hosting;
using Kombo.Worker.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Kombo.Worker.OutboxTool;

/// <summary>
/// Finds the worker's database the way the worker does (the Storage settings from appsettings.json and the
/// environment: a SQLite file relative to the settings file, opened with a short busy timeout, or the PostgreSQL
/// database of Storage:ConnectionString). It never creates a database: a missing file is an operator's typo, not an
/// empty outbox.
/// </summary>
internal static class OutboxToolDatabase
{
    public static IDatabase Locate(string? databasePath, Func<string> locateSettings, TimeSpan busyTimeout)
    {
        string root;
        StorageOptions storage;
        if (databasePath is not null)
        {
            root = Directory.GetCurrentDirectory();
            storage = new StorageOptions { DatabasePath = databasePath };
        }
        else
        {
            try
            {
                root = locateSettings();
            }
            catch (FileNotFoundException ex)
            {
                throw new OutboxToolException($"{ex.Message} Or name the file with --database.");
            }

            storage = ReadStorageOptions(root);
        }

        if (storage.IsPostgreSql)
        {
            return string.IsNullOrWhiteSpace(storage.ConnectionString)
                ? throw new OutboxToolException("Storage:Provider is PostgreSql but Storage:ConnectionString is not set (Storage__ConnectionString)")
                : new PostgreSqlDatabase(Options.Create(storage));
        }

        var environment = new HostingEnvironment { ContentRootPath = root, ApplicationName = "Kombo.Worker" };
        var database = new SqliteDatabase(Options.Create(storage with { BusyTimeout = busyTimeout }), environment);
        if (!File.Exists(database.FilePath))
        {
            throw new OutboxToolException(
                $"no database at {database.FilePath} (Storage:DatabasePath); the worker creates it on its first start, this tool never does");
        }

        return database;
    }

    /// <returns>An open connection to a database the worker has migrated.</returns>
    public static DbConnection OpenMigrated(IDatabase database)
    {
        var connection = database.Open();
        try
        {
            if (SchemaVersion(connection) == 0)
            {
                throw new OutboxToolException($"{database.Name} is not a Kombo.Worker database (it has no schema version)");
            }

            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>The version the worker migrated the database to: 0 for one it never did.</summary>
    public static int SchemaVersion(DbConnection connection)
    {
        if (connection is SqliteConnection sqlite)
        {
            return SchemaMigrator.CurrentVersion(sqlite);
        }

        try
        {
            return connection.ExecuteScalar<int>("SELECT coalesce(max(version), 0) FROM schema_version");
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            return 0;
        }
    }

    private static StorageOptions ReadStorageOptions(string root)
    {
        var configuration = SettingsFile.Read(root);
        var storage = configuration.GetSection(StorageOptions.SectionName).Get<StorageOptions>() ?? new StorageOptions();

        var problems = new List<ValidationResult>();
        return Validator.TryValidateObject(storage, new ValidationContext(storage), problems, validateAllProperties: true)
            ? storage
            : throw new OutboxToolException($"the Storage settings are invalid: {string.Join(" ", problems.Select(p => p.ErrorMessage))}");
    }
}
