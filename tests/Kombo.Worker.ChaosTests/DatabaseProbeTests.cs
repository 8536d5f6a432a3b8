using Dapper;
using Kombo.Worker.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.ChaosTests;

/// <summary>
/// Readiness on a disk that is full but for a few pages, which is what a commit that failed halfway leaves behind in
/// the WAL: a one-row probe fits there while no command does, so readiness must ask for more room than a command.
/// </summary>
[Trait("Category", "Chaos")]
public sealed class DatabaseProbeTests
{
    [Fact]
    public async Task Readiness_fails_when_the_disk_has_room_for_a_tiny_write_but_not_for_a_command()
    {
        await using var disk = await SmallDisk.MountAsync(megabytes: 8);
        var options = Options.Create(new StorageOptions { DatabasePath = Path.Combine(disk.Path, "worker.db") });
        var database = new SqliteDatabase(options, new HostingEnvironment { ContentRootPath = disk.Path });
        database.EnsureCreated();
        using (var connection = database.Open())
        {
            SchemaMigrator.Migrate(connection);
            connection.Execute("PRAGMA wal_checkpoint(TRUNCATE);");
        }

        await using var writer = new SqliteWriter(database, options);
        var check = new DatabaseWritableCheck(database, writer, TimeProvider.System);
        var context = new HealthCheckContext { Registration = new HealthCheckRegistration(DatabaseWritableCheck.Name, check, HealthStatus.Unhealthy, null) };
        Assert.Equal(HealthStatus.Healthy, (await check.CheckHealthAsync(context)).Status);

        // Room for ten pages: enough for a one-row upsert, less than the probe asks for.
        disk.Fill(leaveFree: 10 * 4096);
        var tinyWrite = await writer.WriteAsync((connection, transaction) =>
            connection.Execute("UPDATE health SET checked_at = checked_at + 1", transaction: transaction));
        var whileNearlyFull = await check.CheckHealthAsync(context);
        disk.Free();
        var afterwards = await check.CheckHealthAsync(context);

        Assert.Equal(1, tinyWrite);
        Assert.Equal(HealthStatus.Unhealthy, whileNearlyFull.Status);
        Assert.StartsWith("A write did not commit (SqliteException)", whileNearlyFull.Description, StringComparison.Ordinal);
        Assert.Equal(HealthStatus.Healthy, afterwards.Status);
    }
}
