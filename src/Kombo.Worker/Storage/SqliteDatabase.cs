using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Storage;

/// <summary>The one place that knows how a connection to the worker's SQLite file is opened and tuned.</summary>
internal sealed class SqliteDatabase : IDatabase
{
    private readonly string _connectionString;
    private readonly string _pragmas;

    // The pooled SQLite handles that already carry the pragmas: a pooled connection keeps them, so each handle is
    // tuned once instead of on every open (the consumers open one per command).
    private readonly ConditionalWeakTable<SQLitePCL.sqlite3, object> _tuned = [];

    public SqliteDatabase(IOptions<StorageOptions> options, IHostEnvironment environment)
    {
        var settings = options.Value;
        FilePath = Path.GetFullPath(settings.DatabasePath, environment.ContentRootPath);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = FilePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = (int)Math.Ceiling(settings.BusyTimeout.TotalSeconds),
        }.ToString();
        _pragmas = $"""
            PRAGMA busy_timeout = {(int)settings.BusyTimeout.TotalMilliseconds};
            PRAGMA synchronous = {settings.Synchronous};
            PRAGMA foreign_keys = ON;
            """;
    }

    public string FilePath { get; }

    public string Name => FilePath;

    public bool IsShared => false;

    DbConnection IDatabase.Open() => Open();

    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        if (connection.Handle is { } handle && _tuned.TryGetValue(handle, out _))
        {
            return connection;
        }

        using var command = connection.CreateCommand();
        command.CommandText = _pragmas;
        command.ExecuteNonQuery();
        if (connection.Handle is { } tuned)
        {
            _tuned.AddOrUpdate(tuned, _pragmas);
        }

        return connection;
    }

    /// <summary>Creates the directory and switches the file to WAL, which is persistent in the file itself.</summary>
    public void EnsureCreated()
    {
        var directory = Path.GetDirectoryName(FilePath);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode = WAL;";
        var mode = command.ExecuteScalar() as string;
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"SQLite refused WAL mode for {FilePath} (got '{mode}').");
        }
    }
}
