using Microsoft.Data.Sqlite;

namespace Kombo.Worker.Storage;

/// <summary>Which storage errors are the machine's trouble (disk full, read-only, I/O) rather than the command's.</summary>
public static class StorageFailures
{
    // SQLite primary result codes: https://www.sqlite.org/rescode.html
    private const int Busy = 5;
    private const int Locked = 6;
    private const int NoMemory = 7;
    private const int ReadOnly = 8;
    private const int IoError = 10;
    private const int Corrupt = 11;
    private const int Full = 13;
    private const int CannotOpen = 14;
    private const int Protocol = 15;
    private const int NotADatabase = 26;

    /// <summary>
    /// True for failures that the same command can get past once an operator frees the disk or fixes the file. A
    /// constraint or SQL error is a bug in the worker, which waiting does not fix.
    /// </summary>
    public static bool IsEnvironmental(SqliteException exception) =>
        exception.SqliteErrorCode is Busy or Locked or NoMemory or ReadOnly or IoError or Corrupt or Full or CannotOpen or Protocol or NotADatabase;
}
