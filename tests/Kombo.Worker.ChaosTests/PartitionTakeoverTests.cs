using System.Diagnostics;
using Kombo.Testing;
using Kombo.Worker.IntegrationTests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace Kombo.Worker.ChaosTests;

/// <summary>
/// Two worker processes share the outbox partitions of one PostgreSQL database; one is killed with SIGKILL. Its
/// session ends with it, and the survivor holds every partition within a couple of its one-second ticks: it does not
/// wait for the dead instance's heartbeat to grow old before it counts one instance alive.
/// </summary>
[Collection(BrokerCollection.Name)]
[Trait("Category", "Chaos")]
public sealed class PartitionTakeoverTests(RabbitMqBroker broker, KomboEmulatorFixture kombo, ITestOutputHelper output)
    : IClassFixture<KomboEmulatorFixture>, IAsyncLifetime
{
    private static readonly TimeSpan TakeoverBound = TimeSpan.FromSeconds(3);

    private readonly string _virtualHost = $"chaos-takeover-{Guid.NewGuid():N}";

    public Task InitializeAsync() => broker.Node.CreateVirtualHostAsync(_virtualHost);

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Survivor_holds_a_killed_instances_partitions_within_two_ticks()
    {
        await using var postgres = await PostgresNode.StartNewAsync();
        var database = new NpgsqlConnectionStringBuilder(await postgres.CreateDatabaseAsync()) { Pooling = false }.ConnectionString;
        await using var first = new WorkerProcess(BuiltWorker.Options(broker, _virtualHost, kombo).UsePostgreSql(database));
        await using var second = new WorkerProcess(BuiltWorker.Options(broker, _virtualHost, kombo).UsePostgreSql(database));
        await Task.WhenAll(first.StartAsync(), second.StartAsync());
        await using var partitions = PartitionWatch.Start(database);
        await Eventually.HoldsAsync(() => partitions.Latest == (PartitionWatch.Partitions, 2),
            "both instances held partitions, every one held", TimeSpan.FromSeconds(30));

        await first.KillAsync();
        var killed = Stopwatch.StartNew();
        var takenOver = await Eventually.UntilAsync(() => partitions.Latest == (PartitionWatch.Partitions, 1), TimeSpan.FromSeconds(30));
        var takeover = killed.Elapsed;
        output.WriteLine($"the survivor held all {PartitionWatch.Partitions} partitions {takeover.TotalSeconds:0.00} s after the kill");

        Assert.True(takenOver, "the survivor never held every partition");
        Assert.True(takeover < TakeoverBound, $"the survivor held every partition {takeover.TotalSeconds:0.00} s after the kill");
        Assert.Equal(0, await second.StopAsync());
    }
}
