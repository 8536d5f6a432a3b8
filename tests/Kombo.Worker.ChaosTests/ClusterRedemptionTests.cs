using System.Diagnostics;
using Kombo.Emulator.Faults;
using Kombo.Testing;
using Kombo.Worker.IntegrationTests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace Kombo.Worker.ChaosTests;

/// <summary>
/// Scenario 9: three worker processes on one PostgreSQL database redeem Kombo's single-use tokens while end users keep
/// finishing the flow (<see cref="RedemptionFeed"/>: each token's <c>integration-created</c> webhook and its
/// redemption race, and every other token is sent twice at once, so two instances usually redeem it together).
/// Kombo's webhooks reach the live instances in turn through a round-robin forwarder, as through a load balancer.
/// Every 2 to 4 s one instance, or two at once, is killed with SIGKILL and started again at once. Every integration
/// Kombo made must be announced once, to its own end user, and every command answered as connected: a single-use token
/// spent by one instance's attempt is settled from the webhook on the other, never reported failed or unknown.
/// </summary>
[Collection(BrokerCollection.Name)]
[Trait("Category", "Chaos")]
public sealed class ClusterRedemptionTests(RabbitMqBroker broker, ITestOutputHelper output) : IAsyncLifetime
{
    private const int Instances = 3;

    /// <summary>The share of commands answered after the last wave before the kills stop.</summary>
    private const double KillPhaseShare = 0.9;

    /// <summary>Kill rounds at the least, so at least one of them kills two instances at once.</summary>
    private const int MinRounds = 3;

    private readonly string _virtualHost = $"chaos-redeem-{Guid.NewGuid():N}";

    public Task InitializeAsync() => broker.Node.CreateVirtualHostAsync(_virtualHost);

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Three_instances_killed_in_ones_and_twos_connect_every_single_use_token_once()
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
            await kombo.Client.SetFaultsAsync(new FaultSettings { LatencyMs = 50 });
            await using var ledger = await EventLedger.StartAsync(broker, _virtualHost);
            await Task.WhenAll(workers.Select(w => w.StartAsync()));
            await using var amqp = await AmqpClient.ConnectAsync(broker.Node, _virtualHost, "kombo-chaos");
            await using var feed = RedemptionFeed.Start(kombo, amqp, scale.ClusterRedemptionTokens, scale.ClusterRedemptionWave);

            var rounds = 0;
            var kills = 0;
            var doubleKills = 0;
            // Bounded: a cluster that stops answering ends the kills, and the waits below report what is unanswered.
            var killPhaseLimit = TimeSpan.FromSeconds(scale.IsFull ? 300 : 90);
            while ((rounds < MinRounds || !feed.Completion.IsCompleted || feed.Answered(ledger) < feed.Sent * KillPhaseShare)
                   && started.Elapsed < killPhaseLimit)
            {
                await Task.Delay(random.Next(2000, 4001));
                AssertNoneExitedByItself(workers);
                // Every third round kills two instances at once: the third is then alone with every webhook and command.
                var victims = workers.OrderBy(_ => random.Next()).Take(rounds % 3 == 2 ? 2 : 1).ToList();
                await Task.WhenAll(victims.Select(v => v.KillAsync()));
                rounds++;
                kills += victims.Count;
                doubleKills += victims.Count == 2 ? 1 : 0;
                // Restarted at once, not waited for: the next round may catch them starting.
                foreach (var victim in victims)
                {
                    await victim.StartWithoutWaitingAsync();
                }
            }

            await feed.Completion;
            foreach (var worker in workers)
            {
                await worker.WaitUntilReadyAsync(TimeSpan.FromSeconds(60));
            }

            var workload = feed.Workload();
            await Eventually.UntilAsync(() => workload.Unanswered(ledger).Count == 0, TimeSpan.FromSeconds(scale.IsFull ? 300 : 60));
            await Eventually.UntilAsync(
                async () => (await kombo.Client.GetWebhookStatsAsync()).Pending == 0 && Inspect(workload, database).PendingOutbox == 0,
                TimeSpan.FromSeconds(60));
            foreach (var worker in workers)
            {
                Assert.Equal(0, await worker.StopAsync());
            }

            var store = Inspect(workload, database);
            var tokens = feed.Tokens;
            var answers = RedemptionAnswerCheck.Of(workload, tokens, ledger);
            var outcomes = workload.Outcomes(ledger);
            var stats = await kombo.Client.GetStatsAsync();
            var webhooks = await kombo.Client.GetWebhookStatsAsync();
            RedemptionFigures redemptions;
            IReadOnlyList<string> stuck;
            await using (var connection = new NpgsqlConnection(database))
            {
                await connection.OpenAsync();
                redemptions = ChaosWebhooks.Figures(stats.Endpoints.IntegrationByToken, [workload], connection);
                stuck = RedemptionDiagnosis.Of(connection, workload, workload.Unanswered(ledger).Take(10), tokens);
            }

            foreach (var line in stuck)
            {
                output.WriteLine($"unanswered: {line}");
            }

            var leftInQueues = (await amqp.QueueStateAsync(ChaosWorkload.RedeemTokenQueue)).Messages
                + (await amqp.QueueStateAsync(ChaosWorkload.RedeemTokenQueue + "_error")).Messages;
            var unanswered = workload.Unanswered(ledger).Count;
            ChaosReport.Record(output, new ChaosOutcome
            {
                Scenario = "cluster redemptions",
                Commands = workload.Commands.Count,
                Disruptions = $"{Instances} instances on PostgreSQL; {rounds} kill rounds ({doubleKills} of two at once), {kills} kills / restarts",
                Lost = Math.Max(0, unanswered - (workload.Commands.Count - store.Handled)),
                DuplicateRows = store.DuplicateRows,
                DuplicateEvents = ledger.DuplicateCount(),
                Unanswered = unanswered,
                Duration = started.Elapsed,
                ByTokenCallsPerRedemption = redemptions.PerRedemption,
                Notes = $"{ChaosWorkload.Describe(outcomes)}; {tokens.Count} tokens, {workload.Commands.Count - tokens.Count} sent twice at once; " +
                        $"{redemptions}; {answers}; {ledger.DuplicatesWithAnotherId().Count} duplicates with another id; " +
                        $"outbox pending {store.PendingOutbox}, parked {store.ParkedOutbox}; webhooks {webhooks.Delivered} delivered " +
                        $"({webhooks.Pending} pending at the end), {forwarder.Forwarded} answered by an instance, {forwarder.Skipped} handed to the next",
            });

            Assert.Equal(0, unanswered);
            Assert.Equal(0, answers.ReportedFailed);
            Assert.Equal(0, outcomes.GetValueOrDefault("outcome_unknown"));
            Assert.Equal(new Dictionary<string, int> { ["succeeded"] = workload.Commands.Count }, outcomes);
            Assert.Empty(answers.NotAnnounced);
            Assert.Empty(answers.AnnouncedTwice);
            Assert.Empty(answers.WrongIntegration);
            Assert.Equal(0, store.DuplicateRows);
            Assert.Equal(0, store.MissingRows);
            Assert.Equal(0, store.PendingOutbox);
            Assert.Equal(0, store.ParkedOutbox);
            Assert.Empty(ledger.DuplicatesWithAnotherId());
            Assert.Empty(ledger.DuplicatesWithOtherContent());
            Assert.Equal(0u, leftInQueues);
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
        foreach (var worker in workers.Where(w => w.Pid is not null && !w.IsRunning))
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
}
