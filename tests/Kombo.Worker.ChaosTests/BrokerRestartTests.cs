using System.Diagnostics;
using Kombo.Emulator.Faults;
using Kombo.Testing;
using Kombo.Worker.IntegrationTests.Infrastructure;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Kombo.Worker.ChaosTests;

/// <summary>
/// Scenario 5: in the middle of a run RabbitMQ first refuses publishes (memory alarm), so events pile up in the outbox,
/// then restarts (stop_app, start_app). The worker reconnects by itself, the pending rows go out once the broker is
/// back, and every command is answered exactly once.
/// </summary>
[Collection(BrokerCollection.Name)]
[Trait("Category", "Chaos")]
public sealed class BrokerRestartTests(RabbitMqBroker broker, KomboEmulatorFixture kombo, ITestOutputHelper output)
    : IClassFixture<KomboEmulatorFixture>, IAsyncLifetime
{
    private readonly string _virtualHost = $"chaos-broker-{Guid.NewGuid():N}";

    public Task InitializeAsync() => broker.Node.CreateVirtualHostAsync(_virtualHost);

    public async Task DisposeAsync() => await kombo.Client.ResetAsync();

    [Fact]
    public async Task Broker_restart_mid_run_loses_nothing_and_the_outbox_drains_once_it_is_back()
    {
        var started = Stopwatch.StartNew();
        var scale = ChaosScale.Current;
        var restarts = scale.BrokerRestarts;
        // Kombo's webhooks on, as in production: a redemption whose Kombo call the restart cut short may have spent its
        // token, and integration-created is what settles it (without webhooks it is answered outcome_unknown).
        var (own, webhookSettings, _) = await WebhookedKombo.ForInProcessWorkerAsync();
        await using var ownKombo = own;
        var workload = await ChaosWorkload.CreateAsync(own, scale.BrokerRestartCommands, "broker");
        var pendingWhileDown = new List<int>();

        // Kombo slow enough that the run lasts a few seconds, with commands in flight whenever the broker acts up.
        await own.Client.SetFaultsAsync(new FaultSettings { LatencyMs = 1000 });
        StoreFindings store;
        await using var ledger = await EventLedger.StartAsync(broker, _virtualHost);
        var logs = new LogCapture();
        var queued = 0u;
        await using (var worker = await WorkerUnderTest.StartAsync(broker, _virtualHost, own, new(webhookSettings), configure: builder => builder.Logging.AddProvider(logs)))
        {
            var databasePath = Path.Combine(worker.Directory, "worker.db");
            await using (var amqp = await AmqpClient.ConnectAsync(broker.Node, _virtualHost, "kombo-chaos"))
            {
                await workload.PublishAsync(amqp);
            }

            for (var restart = 1; restart <= restarts; restart++)
            {
                var target = workload.Commands.Count * restart / (restarts + 2);
                await Eventually.HoldsAsync(() => workload.AnsweredCount(ledger) >= target,
                    $"{target} commands were answered before restart {restart}", TimeSpan.FromSeconds(120));

                // A memory alarm first: the broker stops reading from publishing connections, so the worker goes on
                // committing while its relay cannot publish. Then the restart drops every connection.
                await broker.Node.RabbitMqCtlAsync(["set_vm_memory_high_watermark", "0.0001"]);
                try
                {
                    await Eventually.HoldsAsync(() => workload.Inspect(databasePath).PendingOutbox > 0,
                        "events waited in the outbox while the broker refused publishes", TimeSpan.FromSeconds(30));
                    await broker.Node.StopAppAsync();
                    pendingWhileDown.Add(workload.Inspect(databasePath).PendingOutbox);
                    await Task.Delay(TimeSpan.FromSeconds(2));
                }
                finally
                {
                    await broker.Node.StartAppAsync();
                    await broker.Node.RabbitMqCtlAsync(["set_vm_memory_high_watermark", "0.4"]);
                }
            }

            await Eventually.UntilAsync(() => workload.Unanswered(ledger).Count == 0, TimeSpan.FromSeconds(scale.IsFull ? 300 : 90));
            await Eventually.UntilAsync(() => workload.Inspect(databasePath).PendingOutbox == 0, TimeSpan.FromSeconds(30));
            store = workload.Inspect(databasePath);
            await using var inspector = await AmqpClient.ConnectAsync(broker.Node, _virtualHost, "kombo-chaos");
            queued = (await inspector.QueueStateAsync(ChaosWorkload.CreateLinkQueue)).Messages
                + (await inspector.QueueStateAsync(ChaosWorkload.RedeemTokenQueue)).Messages;
        }

        foreach (var problem in logs.Logs.Where(l => l.Level >= LogLevel.Warning).Take(40))
        {
            output.WriteLine($"{problem.At:HH:mm:ss.fff} {problem.Category} [{problem.Level}] {problem.Text}");
        }

        var unanswered = workload.Unanswered(ledger).Count;
        ChaosReport.Record(output, new ChaosOutcome
        {
            Scenario = "broker-restart",
            Commands = workload.Commands.Count,
            Disruptions = $"{restarts} broker restart(s), each after a memory alarm",
            Lost = Math.Max(0, unanswered - (workload.Commands.Count - store.Handled)),
            DuplicateRows = store.DuplicateRows,
            DuplicateEvents = ledger.DuplicateCount(),
            Unanswered = unanswered,
            Duration = started.Elapsed,
            Notes = $"{ChaosWorkload.Describe(workload.Outcomes(ledger))}; outbox rows pending while the broker was down: {string.Join(", ", pendingWhileDown)}; " +
                    $"at the end: {store.PendingOutbox} pending, {queued} commands queued",
        });

        Assert.Equal(0, unanswered);
        Assert.Equal(new Dictionary<string, int> { ["succeeded"] = workload.Commands.Count }, workload.Outcomes(ledger));
        Assert.Equal(0, store.DuplicateRows);
        Assert.Equal(0, store.MissingRows);
        Assert.Equal(0, store.ParkedOutbox);
        Assert.Empty(ledger.DuplicatesWithAnotherId());
    }
}
