using System.Diagnostics;
using Dapper;
using Kombo.Emulator.Faults;
using Kombo.Testing;
using Kombo.Worker.IntegrationTests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace Kombo.Worker.ChaosTests;

/// <summary>
/// Scenario 8: three worker processes share one PostgreSQL database and one broker, with Kombo's webhooks handed to
/// each instance in turn, while causal chains of commands (connect link, redemption of the emulator's token,
/// reconnection link, one end user each) flow through them. Every 3 to 5 seconds a random instance is killed with
/// SIGKILL and started again at once, as an orchestrator would; then all but one are killed for good with commands
/// still in flight, and the survivor takes over every outbox partition and finishes alone. In the end every command
/// has exactly one answer and one business row, no outbox row is left pending or parked, each end user's events
/// arrived in commit order, and a duplicated event always carries its first copy's id and body.
/// </summary>
[Collection(BrokerCollection.Name)]
[Trait("Category", "Chaos")]
public sealed class ClusterKillTests(RabbitMqBroker broker, ITestOutputHelper output) : IAsyncLifetime
{
    private const int Instances = 3;

    /// <summary>About the publishes in flight when an instance dies, as for one instance (<see cref="KillTests"/>).</summary>
    private const int MaxDuplicatesPerKill = 64;

    /// <summary>The share of commands answered after which the random kills stop and all but one instance die.</summary>
    private const double KillPhaseShare = 0.6;

    private readonly string _virtualHost = $"chaos-cluster-{Guid.NewGuid():N}";

    public Task InitializeAsync() => broker.Node.CreateVirtualHostAsync(_virtualHost);

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Three_instances_on_one_PostgreSQL_killed_at_random_lose_nothing_and_keep_each_end_users_order()
    {
        var started = Stopwatch.StartNew();
        var scale = ChaosScale.Current;
        var random = new Random();
        await using var postgres = await PostgresNode.StartNewAsync();
        var database = new NpgsqlConnectionStringBuilder(await postgres.CreateDatabaseAsync()) { Pooling = false }.ConnectionString;
        var (kombo, _, webhookPort) = await WebhookedKombo.ForInProcessWorkerAsync();
        await using var ownKombo = kombo;
        var workers = ChaosCluster.Workers(broker, _virtualHost, kombo, database, Instances);

        try
        {
            await using var forwarder = await ChaosCluster.ForwardWebhooksAsync(webhookPort, workers);

            // Kombo answers in tens of milliseconds, as over a real network, so every instance has calls in flight.
            await kombo.Client.SetFaultsAsync(new FaultSettings { LatencyMs = 50 });
            await using var ledger = await EventLedger.StartAsync(broker, _virtualHost);
            var workload = await ChaosWorkload.CreateChainsAsync(kombo, scale.ClusterCommands);

            // All three start together: the migrations run once, under their lock, whoever comes first.
            await Task.WhenAll(workers.Select(w => w.StartAsync()));
            var webhooksRefusedBeforeStart = forwarder.Skipped;
            await using var partitions = PartitionWatch.Start(database);
            await Eventually.HoldsAsync(() => partitions.Latest.Held == PartitionWatch.Partitions, "the instances held every outbox partition");
            partitions.Reset();
            await using var amqp = await AmqpClient.ConnectAsync(broker.Node, _virtualHost, "kombo-chaos");
            await using var sender = CausalSender.Start(amqp, workload, ledger);

            var kills = 0;
            var killPoints = new List<int>();
            var killTimes = new List<TimeSpan>();
            var sinceKill = Stopwatch.StartNew();
            while (workload.AnsweredCount(ledger) < workload.Commands.Count * KillPhaseShare)
            {
                // 3 to 5 s from one kill to the next, whatever the kill and the restart took.
                var wait = TimeSpan.FromMilliseconds(random.Next(3000, 5001)) - sinceKill.Elapsed;
                await Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.Zero);
                sinceKill.Restart();
                AssertNoneExitedByItself(workers);
                var victim = workers[random.Next(workers.Count)];
                await victim.KillAsync();
                kills++;
                killPoints.Add(workload.AnsweredCount(ledger));
                killTimes.Add(started.Elapsed);
                // Restarted at once, not waited for: the next kill may catch it starting.
                await victim.StartWithoutWaitingAsync();
            }

            AssertNoneExitedByItself(workers);
            var survivor = workers[random.Next(workers.Count)];
            var answeredAtLastKill = workload.AnsweredCount(ledger);
            var inFlightAtLastKill = sender.Sent - answeredAtLastKill;
            foreach (var worker in workers.Where(w => w != survivor))
            {
                await worker.KillAsync();
                kills++;
            }

            var sinceLastKill = Stopwatch.StartNew();
            await survivor.WaitUntilReadyAsync(TimeSpan.FromSeconds(60));
            var survivorReady = sinceLastKill.Elapsed;
            var takeover = await Eventually.UntilAsync(() => partitions.Latest == (PartitionWatch.Partitions, 1), TimeSpan.FromSeconds(30))
                ? sinceLastKill.Elapsed
                : (TimeSpan?)null;
            await Eventually.UntilAsync(() => workload.Unanswered(ledger).Count == 0, TimeSpan.FromSeconds(scale.IsFull ? 600 : 120));
            var drained = sinceLastKill.Elapsed;
            var (unowned, longestUnowned, noneHeld) = (partitions.Unowned, partitions.LongestUnowned, partitions.NoneHeld);
            // Kombo keeps delivering the webhooks the dead instances refused, and each commits rows of its own: the
            // outbox is drained once no webhook is left to deliver and none of its rows is pending.
            await Eventually.UntilAsync(
                async () => (await kombo.Client.GetWebhookStatsAsync()).Pending == 0 && Inspect(workload, database).PendingOutbox == 0,
                TimeSpan.FromSeconds(60));
            Assert.Equal(0, await survivor.StopAsync());

            var store = Inspect(workload, database);
            var outOfOrder = OutOfCommitOrder(workload, database, ledger);
            var duplicates = ledger.DuplicateCount();
            var stats = await kombo.Client.GetStatsAsync();
            var webhooks = await kombo.Client.GetWebhookStatsAsync();
            RedemptionFigures redemptions;
            await using (var connection = new NpgsqlConnection(database))
            {
                await connection.OpenAsync();
                redemptions = ChaosWebhooks.Figures(stats.Endpoints.IntegrationByToken, [workload], connection);
            }

            uint leftInQueues = 0;
            foreach (var queue in new[] { ChaosWorkload.CreateLinkQueue, ChaosWorkload.RedeemTokenQueue, ChaosWorkload.ReconnectionLinkQueue })
            {
                leftInQueues += (await amqp.QueueStateAsync(queue)).Messages + (await amqp.QueueStateAsync(queue + "_error")).Messages;
            }

            var unanswered = workload.Unanswered(ledger).Count;
            ChaosReport.Record(output, new ChaosOutcome
            {
                Scenario = "cluster kill-9",
                Commands = workload.Commands.Count,
                Disruptions = $"{Instances} instances on PostgreSQL; {kills - (Instances - 1)} kills / restarts, then {Instances - 1} killed for good",
                Lost = Math.Max(0, unanswered - (workload.Commands.Count - store.Handled)),
                DuplicateRows = store.DuplicateRows,
                DuplicateEvents = duplicates,
                Unanswered = unanswered,
                Duration = started.Elapsed,
                ByTokenCallsPerRedemption = redemptions.PerRedemption,
                Notes = $"{ChaosWorkload.Describe(workload.Outcomes(ledger))}; {workload.Chains.Count} end users, 3 causal commands each; " +
                        $"{redemptions}; killed after {string.Join(", ", killPoints)} answers, {Intervals(killTimes)}; all but one killed after {answeredAtLastKill} " +
                        $"with {inFlightAtLastKill} in flight; survivor ready {survivorReady.TotalSeconds:0.0} s, held all 16 partitions {Seconds(takeover)} and answered the rest " +
                        $"{drained.TotalSeconds:0.0} s after the last kills; some partition unowned {unowned.TotalSeconds:0.0} s in all, " +
                        $"{longestUnowned.TotalSeconds:0.0} s at the longest, " +
                        $"none held at all (no instance up) {noneHeld.TotalSeconds:0.0} s; {(double)duplicates / Math.Max(1, kills):0.0} duplicate events per kill; " +
                        $"{ledger.DuplicatesWithAnotherId().Count} with another id; {outOfOrder.Count} end users out of order; " +
                        $"outbox pending {store.PendingOutbox}, parked {store.ParkedOutbox}; webhooks {webhooks.Delivered} delivered " +
                        $"({webhooks.Pending} pending at the end), {forwarder.Forwarded} answered by an instance, " +
                        $"{forwarder.Skipped - webhooksRefusedBeforeStart} refused by a dead instance and handed to the next",
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
            Assert.NotNull(takeover);
            Assert.True(duplicates <= MaxDuplicatesPerKill * kills, $"{duplicates} duplicate events for {kills} kills");
        }
        finally
        {
            foreach (var worker in workers)
            {
                await worker.DisposeAsync();
            }
        }
    }

    private static void AssertNoneExitedByItself(IEnumerable<WorkerProcess> workers)
    {
        foreach (var worker in workers.Where(w => !w.IsRunning))
        {
            Assert.Fail($"A worker exited by itself (code {worker.Exited.Result}).{Environment.NewLine}{worker.Tail()}");
        }
    }

    private static StoreFindings Inspect(ChaosWorkload workload, string database)
    {
        using var connection = new NpgsqlConnection(database);
        connection.Open();
        return workload.Inspect(connection);
    }

    /// <summary>
    /// End users whose answers' first copies arrived in another order than they were committed. Only the answers to
    /// the chains count: they were sent causally, so their sequence is their commit order. The events of Kombo's
    /// webhooks for the same end users commit concurrently with them, in no order that sequences could tell.
    /// </summary>
    private static List<string> OutOfCommitOrder(ChaosWorkload workload, string database, EventLedger ledger)
    {
        using var connection = new NpgsqlConnection(database);
        connection.Open();
        var answers = workload.Commands.Select(c => c.CorrelationId.ToString()).ToHashSet(StringComparer.Ordinal);
        var committed = connection.Query<(string MessageId, string OrderingKey, string CorrelationId)>(
                "SELECT message_id, ordering_key, correlation_id FROM outbox WHERE ordering_key IS NOT NULL ORDER BY sequence")
            .Where(row => answers.Contains(row.CorrelationId))
            .Select(row => (row.MessageId, row.OrderingKey));
        return CommitOrder.OutOfOrder(committed, ledger);
    }

    private static string Intervals(List<TimeSpan> times) =>
        times.Count < 2
            ? "one kill"
            : $"{times.Zip(times.Skip(1), (a, b) => (b - a).TotalSeconds).Min():0.0} to {times.Zip(times.Skip(1), (a, b) => (b - a).TotalSeconds).Max():0.0} s apart";

    private static string Seconds(TimeSpan? elapsed) =>
        elapsed is { } value ? $"{value.TotalSeconds:0.0} s after the last kills" : "never within 30 s";
}
