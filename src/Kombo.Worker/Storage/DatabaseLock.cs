namespace Kombo.Worker.Storage;

/// <summary>
/// Keeps a second worker off the same database file: the writer is only the single writer the design relies on if it
/// is the only one. An exclusive lock on a file beside the database, held until the process ends (the OS releases it
/// even on kill -9). The outbox tool does not take it, so it works beside a running worker.
/// </summary>
internal sealed class DatabaseLock : IDisposable
{
    private readonly FileStream _lock;

    private DatabaseLock(FileStream held) => _lock = held;

    public static string PathFor(string databasePath) => databasePath + ".lock";

    /// <exception cref="InvalidOperationException">Another process (or another worker in this one) holds the lock.</exception>
    public static DatabaseLock Acquire(string databasePath)
    {
        var path = PathFor(databasePath);
        if (Path.GetDirectoryName(path) is { Length: > 0 } directory)
        {
            Directory.CreateDirectory(directory);
        }

        try
        {
            return new DatabaseLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException ex)
        {
            throw new InvalidOperationException(
                $"Another worker is already running on the database {databasePath} (it holds {path}). Only one worker " +
                "process may use a database file: stop the other one, or give this one its own Storage:DatabasePath.", ex);
        }
    }

    public void Dispose() => _lock.Dispose();
}
