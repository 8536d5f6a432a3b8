using Dapper;

namespace Kombo.Worker.Tests.Support;

/// <summary>A second connection that holds the database's write lock, so the worker's writer gets SQLITE_BUSY.</summary>
internal static class WriteLock
{
    /// <summary>Takes the write lock now and releases it after <paramref name="duration"/>; the task ends on release.</summary>
    public static Task HoldFor(Harness harness, TimeSpan duration)
    {
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
