using System.Diagnostics;
using Dapper;
using Kombo.Emulator.Faults;
using Kombo.Testing;
using Kombo.Worker.IntegrationTests.Infrastructure;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Kombo.Worker.ChaosTests;

/// <summary>
/// Scenario 4: the worker runs as a process of its own and is killed with SIGKILL at random moments while it works
/// through thousands of persistent commands, and started again each time on the same database. In the end every command
/// has exactly one business row and its event, a duplicated event always carries its first copy's message id and body
/// (a republish, never a ghost), each end user's events (several per end user) arrive in commit order, no outbox row is
/// left pending or parked, and a kill republishes at most <see cref="MaxDuplicatesPerKill"/> events on average. Kombo's
/// tokens are single-use and its webhooks on: a redemption whose token a killed life spent still ends as
/// IntegrationConnected, settled from integration-created.
/// </summary>
[Collection(BrokerCollection.Name)]
[Trait("Category", "Chaos")]
public sealed class KillTests(RabbitMqBroker broker, KomboEmulatorFixture kombo, ITestOutputHelper output)
    : IClassFixture<KomboEmulatorFixture>, IAsyncLifetime
{
    /// <summary>About the publishes in flight (16 lanes, confirms batched into marks), not whole relay rounds.</summary>
    private const int MaxDuplicatesPerKill = 64;

    private const int CommandsPerEndUser = 4;

    private readonly string _virtualHost = $"chaos-kill-{Guid.NewGuid():N}";

    public Task InitializeAsync() => broker.Node.CreateVirtualHostAsync(_virtualHost);

    public async Task DisposeAsync() => await kombo.Client.ResetAsync();

    [Fact]
    public async Task Worker_killed_at_random_moments_loses_nothing_and_duplicates_nothing()
    {
        var started = Stopwatch.StartNew();
        var scale = ChaosScale.Current;
        var random = new Random();
        var (worker, own) = await WebhookedKombo.ForWorkerProcessAsync(BuiltWorker.Options(broker, _virtualHost, kombo));
        await using var ownKombo = own;
        await using var ownWorker = worker;
        var workload = await ChaosWorkload.CreateAsync(own, scale.KillCommands, "kill", CommandsPerEndUser);
        var kills = 0;
        var restarts = 0;
        var killPoints = new List<int>();

        // Kombo answers in tens of milliseconds, as over a real network, so every life of the worker has calls in flight.
        await own.Client.SetFaultsAsync(new FaultSettings { LatencyMs = 50 });
        await using var ledger = await EventLedger.StartAsync(broker, _virtualHost);

        // A first start declares the worker's queues; the commands then wait in them for the lives to come.
        await worker.StartAsync();
        Assert.Equal(0, await worker.StopAsync());
        await using (var amqp = await AmqpClient.ConnectAsync(broker.Node, _virtualHost, "kombo-chaos"))
        {
            await workload.PublishAsync(amqp);
        }

        await worker.StartAsync();
        while (kills < scale.Kills)
        {
            // Kill once this life has answered a random share of what is left, a few milliseconds either way: mid-commit,
            // mid-publish, mid-Kombo-call, or while the relay drains what the previous life left behind.
            var answered = workload.AnsweredCount(ledger);
            var left = workload.Commands.Count - answered;
            var share = left / (scale.Kills - kills + 1);
            var target = answered + Math.Max(1, (int)(share * (0.3 + random.NextDouble())));
            await Eventually.HoldsAsync(() => workload.AnsweredCount(ledger) >= Math.Min(target, workload.Commands.Count) || !worker.IsRunning,
                $"the worker answered {target} commands before kill {kills + 1}", TimeSpan.FromSeconds(120));
            await Task.Delay(random.Next(0, 30));

            if (!worker.IsRunning)
            {
                Assert.Fail($"The worker exited by itself (code {await worker.Exited}).{Environment.NewLine}{worker.Tail()}");
            }

            await worker.KillAsync();
            kills++;
            killPoints.Add(workload.AnsweredCount(ledger));
            await worker.StartAsync();
            restarts++;
        }

        await Eventually.UntilAsync(() => workload.Unanswered(ledger).Count == 0, TimeSpan.FromSeconds(scale.IsFull ? 600 : 120));
        await Eventually.UntilAsync(() => workload.Inspect(worker.DatabasePath).PendingOutbox == 0, TimeSpan.FromSeconds(30));
        Assert.Equal(0, await worker.StopAsync());
        var store = workload.Inspect(worker.DatabasePath);
        var outOfOrder = OutOfCommitOrder(worker.DatabasePath, ledger);
        var duplicates = ledger.DuplicateCount();
        var redemptions = await ChaosWebhooks.FiguresAsync(own, workload, worker.DatabasePath);

        uint leftInQueues;
        await using (var amqp = await AmqpClient.ConnectAsync(broker.Node, _virtualHost, "kombo-chaos"))
        {
            leftInQueues = 0;
            foreach (var queue in new[] { ChaosWorkload.CreateLinkQueue, ChaosWorkload.RedeemTokenQueue })
            {
                leftInQueues += (await amqp.QueueStateAsync(queue)).Messages + (await amqp.QueueStateAsync(queue + "_error")).Messages;
            }
        }

        var unanswered = workload.Unanswered(ledger).Count;
        ChaosReport.Record(output, new ChaosOutcome
        {
            Scenario = "kill-9",
            Commands = workload.Commands.Count,
            Disruptions = $"{kills} kills / {restarts} restarts",
            Lost = Math.Max(0, unanswered - (workload.Commands.Count - store.Handled)),
            DuplicateRows = store.DuplicateRows,
            DuplicateEvents = duplicates,
            Unanswered = unanswered,
            Duration = started.Elapsed,
            ByTokenCallsPerRedemption = redemptions.PerRedemption,
            Notes = $"{ChaosWorkload.Describe(workload.Outcomes(ledger))}; {redemptions}; killed after {string.Join(", ", killPoints)} answers; " +
                    $"{(double)duplicates / Math.Max(1, kills):0.0} duplicate events per kill; {outOfOrder.Count} end users out of order; " +
                    $"outbox pending {store.PendingOutbox}, parked {store.ParkedOutbox}; peak RSS {worker.PeakRssMb:0} MB",
        });

        Assert.Equal(0, unanswered);
        Assert.Equal(new Dictionary<string, int> { ["succeeded"] = workload.Commands.Count }, workload.Outcomes(ledger));
        Assert.Equal(0, store.MissingRows);
        Assert.Equal(0, store.DuplicateRows);
        Assert.Equal(workload.Commands.Count, store.Handled);
        Assert.Equal(0, store.PendingOutbox);
        Assert.Equal(0, store.ParkedOutbox);
        Assert.Empty(ledger.DuplicatesWithAnotherId());
        Assert.Empty(ledger.DuplicatesWithOtherContent());
        Assert.Empty(outOfOrder);
        Assert.Equal(0u, leftInQueues);
        Assert.True(duplicates <= MaxDuplicatesPerKill * kills, $"{duplicates} duplicate events for {kills} kills");
    }

    /// <summary>End users whose events' first copies arrived in another order than their rows were committed.</summary>
    private static List<string> OutOfCommitOrder(string databasePath, EventLedger ledger)
    {
        using var connection = new SqliteConnection($"Data Source={databasePath};Mode=ReadWrite;Pooling=False");
        connection.Open();
        // On SQLite's single writer the sequence is the commit order.
        return CommitOrder.OutOfOrder(connection.Query<(string MessageId, string OrderingKey)>(
            "SELECT message_id, ordering_key FROM outbox WHERE ordering_key IS NOT NULL ORDER BY sequence"), ledger);
    }
}
