using Microsoft.Data.Sqlite;
using Npgsql;

namespace Kombo.Worker.Storage;

/// <summary>Which storage errors are the machine's trouble (disk full, read-only, I/O) rather than the command's.</summary>
internal static class StorageFailures
{
    /// <summary>
    /// True for failures that the same command can get past by trying again: once an operator frees the disk or fixes
    /// the file, once PostgreSQL is back, or (PostgreSQL) once the instance that won a race has committed, so that the
    /// retry reads its row. Any other constraint or SQL error is a bug in the worker, which waiting does not fix.
    /// </summary>
    public static bool IsEnvironmental(Exception exception) => exception switch
    {
        SqliteException sqlite => sqlite.SqliteErrorCode is SqliteErrorCodes.Busy or SqliteErrorCodes.Locked
            or SqliteErrorCodes.NoMemory or SqliteErrorCodes.ReadOnly or SqliteErrorCodes.IoError or SqliteErrorCodes.Corrupt
            or SqliteErrorCodes.Full or SqliteErrorCodes.CannotOpen or SqliteErrorCodes.Protocol or SqliteErrorCodes.NotADatabase,
        PostgresException postgres => IsEnvironmental(postgres.SqlState),
        NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is IOException or TimeoutException,
        _ => false,
    };

    // Connection (08), resources (53: disk full, out of memory, too many connections), operator intervention (57P0x:
    // shutdown, cannot connect now), read-only (25006, a standby), and the races between instances: serialization
    // failure (40001), deadlock (40P01) and a unique key another instance took first (23505).
    private static bool IsEnvironmental(string sqlState) =>
        sqlState.StartsWith("08", StringComparison.Ordinal) || sqlState.StartsWith("53", StringComparison.Ordinal)
        || sqlState is "57P01" or "57P02" or "57P03" or "25006" or "40001" or "40P01" or "23505";
}
