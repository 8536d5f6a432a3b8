using Microsoft.Data.Sqlite;

namespace Kombo.Worker.Storage;

/// <summary>Which storage errors are the machine's trouble (disk full, read-only, I/O) rather than the command's.</summary>
internal static class StorageFailures
{
    /// <summary>
    /// True for failures that the same command can get past once an operator frees the disk or fixes the file. A
    /// constraint or SQL error is a bug in the worker, which waiting does not fix.
    /// </summary>
    public static bool IsEnvironmental(SqliteException exception) =>
        exception.SqliteErrorCode is SqliteErrorCodes.Busy or SqliteErrorCodes.Locked or SqliteErrorCodes.NoMemory or SqliteErrorCodes.ReadOnly
            or SqliteErrorCodes.IoError or SqliteErrorCodes.Corrupt or SqliteErrorCodes.Full or SqliteErrorCodes.CannotOpen
            or SqliteErrorCodes.Protocol or SqliteErrorCodes.NotADatabase;
}
