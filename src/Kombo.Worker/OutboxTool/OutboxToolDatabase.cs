using System.ComponentModel.DataAnnotations;
using Kombo.Worker.Hosting;
using Kombo.Worker.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.OutboxTool;

/// <summary>
/// Finds the worker's database the way the worker does (Storage:DatabasePath from appsettings.json and the
/// environment, relative to the settings file) and opens it through <see cref="SqliteDatabase"/> with a short busy
/// timeout. It never creates a database: a missing file is an operator's typo, not an empty outbox.
/// </summary>
internal static class OutboxToolDatabase
{
    public static SqliteDatabase Locate(string? databasePath, Func<string> locateSettings, TimeSpan busyTimeout)
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
    public static SqliteConnection OpenMigrated(SqliteDatabase database)
    {
        var connection = database.Open();
        try
        {
            if (SchemaMigrator.CurrentVersion(connection) == 0)
            {
                throw new OutboxToolException($"{database.FilePath} is not a Kombo.Worker database (it has no schema version)");
            }

            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
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
