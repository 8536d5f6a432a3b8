using Dapper;
using Kombo.Worker.Storage;

namespace Kombo.Worker.Tests.Support;

/// <summary>
/// Every command's write fails for a while with an error the storage retry waits out: on SQLite a second connection
/// holds the write lock (SQLITE_BUSY past the busy timeout), on PostgreSQL the inbox insert fails with disk_full (53100).
/// </summary>
internal static class StorageOutage
{
    /// <summary>Starts the outage now and ends it after <paramref name="duration"/>; the task ends with it.</summary>
    public static Task For(Harness harness, TimeSpan duration)
    {
        if (harness.Database is not SqliteDatabase)
        {
            var failure = InjectedFailure.Add(harness.Database, "outage", "BEFORE INSERT", "inbox", "injected: no space left on device", sqlState: "53100");
            return Task.Run(async () =>
            {
                await Task.Delay(duration);
                failure.Remove();
            });
        }

        var connection = harness.OpenDatabase();
        connection.Execute("BEGIN IMMEDIATE");
        return Task.Run(async () =>
        {
            await Task.Delay(duration);
            connection.Execute("ROLLBACK");
            connection.Dispose();
        });
    }
}
