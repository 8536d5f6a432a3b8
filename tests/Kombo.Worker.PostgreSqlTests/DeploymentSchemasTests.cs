using Dapper;
using Kombo.Testing;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;
using Npgsql;

namespace Kombo.Worker.PostgreSqlTests;

/// <summary>Two deployments in two schemas of one database: advisory locks are per database, yet neither sees the other.</summary>
[Collection(PostgresCollection.Name)]
public sealed class DeploymentSchemasTests(PostgresFixture postgres)
{
    private static readonly TimeSpan Split = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Two_deployments_in_two_schemas_of_one_database_each_own_all_their_partitions()
    {
        var database = await postgres.Node.CreateDatabaseAsync();
        var first = await MigratedSchemaAsync(database, "deployment_a");
        var second = await MigratedSchemaAsync(database, "deployment_b");

        await using var a = await OutboxInstance.StartAsync(first);
        await using var b = await OutboxInstance.StartAsync(second);

        await Eventually.HoldsAsync(() => a.Owned.Count == OutboxPartition.Count && b.Owned.Count == OutboxPartition.Count,
            "each deployment owned all 16 of its partitions", Split);
    }

    [Fact]
    public void Two_schemas_have_their_own_lock_keys_and_wake_up_channel_and_public_keeps_the_historic_ones()
    {
        var a = OutboxLockKeys.For("deployment_a");
        var b = OutboxLockKeys.For("deployment_b");

        Assert.Distinct(new[] { a.PartitionSpace, a.InstanceSpace, b.PartitionSpace, b.InstanceSpace, OutboxLockKeys.For("public").PartitionSpace });
        Assert.NotEqual(a.Channel, b.Channel);
        Assert.Equal(new OutboxLockKeys(0x4B4F4D42, 0x4B4F4D49, "kombo_outbox"), OutboxLockKeys.For("public"));
    }

    private static async Task<string> MigratedSchemaAsync(string database, string schema)
    {
        await using (var admin = new NpgsqlConnection(database))
        {
            await admin.OpenAsync();
            await admin.ExecuteAsync($"CREATE SCHEMA {schema}");
        }

        var connectionString = new NpgsqlConnectionStringBuilder(database) { SearchPath = schema }.ConnectionString;
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await PostgreSqlSchemaMigrator.MigrateAsync(connection, CancellationToken.None);
        return connectionString;
    }
}
