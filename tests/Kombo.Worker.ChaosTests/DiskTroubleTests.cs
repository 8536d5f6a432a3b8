using System.Diagnostics;
using System.Globalization;
using System.Net;
using Dapper;
using Kombo.Emulator.Faults;
using Kombo.Testing;
using Kombo.Worker.IntegrationTests.Infrastructure;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Kombo.Worker.ChaosTests;

/// <summary>
/// Scenario 3: the file system under the SQLite file fills up while commands are in flight. Nothing commits, the worker
/// stops acknowledging (commands wait in the queue or in its storage retry, none goes to an error queue), readiness says
/// the database is not writable, and once the disk has room again every command is answered exactly once.
/// </summary>
[Collection(BrokerCollection.Name)]
[Trait("Category", "Chaos")]
public sealed class DiskTroubleTests(RabbitMqBroker broker, KomboEmulatorFixture kombo, ITestOutputHelper output)
    : IClassFixture<KomboEmulatorFixture>, IAsyncLifetime
{
    private readonly string _virtualHost = $"chaos-disk-{Guid.NewGuid():N}";

    public Task InitializeAsync() => broker.Node.CreateVirtualHostAsync(_virtualHost);

    public async Task DisposeAsync() => await kombo.Client.ResetAsync();

    [Fact]
    public async Task Full_disk_holds_commands_unacknowledged_and_every_one_is_answered_once_it_has_room_again()
    {
        var started = Stopwatch.StartNew();
        var scale = ChaosScale.Current;
        var (own, webhookSettings, _) = await WebhookedKombo.ForInProcessWorkerAsync();
        await using var ownKombo = own;
        var outages = scale.IsFull ? 3 : 1;
        var outageLength = TimeSpan.FromSeconds(scale.IsFull ? 15 : 4);
        var workload = await ChaosWorkload.CreateAsync(own, scale.DiskCommands, "disk");
        var warmUp = await ChaosWorkload.CreateAsync(own, 6, "disk-warm-up");
        var committedWhileFull = 0;
        var deadLetteredDuringOutages = 0u;
        var heldDuringOutages = new List<string>();
        var duplicatesDuringOutages = new List<int>();
        var unhealthyDuringOutages = 0;
        var callsBefore = (await own.Client.GetStatsAsync()).TotalCalls;

        // Kombo slow enough that each batch is still in flight when the disk fills up under it.
        await own.Client.SetFaultsAsync(new FaultSettings { LatencyMs = 500 });
        await using var disk = await SmallDisk.MountAsync();
        var databasePath = Path.Combine(disk.Path, "worker.db");
        StoreFindings store;
        await using var ledger = await EventLedger.StartAsync(broker, _virtualHost);
        await using var amqp = await AmqpClient.ConnectAsync(broker.Node, _virtualHost, "kombo-chaos");
        await using (var worker = await WorkerUnderTest.StartAsync(broker, _virtualHost, own, new(webhookSettings)
        {
            ["Storage:DatabasePath"] = databasePath,
            ["Messaging:StorageRetryMinDelay"] = "00:00:00.100",
            ["Messaging:StorageRetryMaxDelay"] = "00:00:01",
            ["Outbox:CleanupInterval"] = "01:00:00",
        }))
        {
            using var http = new HttpClient { BaseAddress = worker.BaseAddress, Timeout = TimeSpan.FromSeconds(20) };
            await warmUp.PublishAsync(amqp);
            await Eventually.HoldsAsync(() => warmUp.Unanswered(ledger).Count == 0, "the warm-up commands were answered");
            Assert.Equal(HttpStatusCode.OK, await ReadinessAsync(http));

            foreach (var batch in workload.Commands.Chunk((workload.Commands.Count + outages - 1) / outages))
            {
                // SQLite reuses the space of a checkpointed WAL: only an empty WAL makes every later write need disk space.
                await TruncateWalAsync(databasePath);
                await workload.PublishAsync(amqp, batch);
                await Eventually.HoldsAsync(() => batch.Count(c => ledger.Entries.Any(e => e.CorrelationId == c.CorrelationId)) >= batch.Length / 10,
                    "the batch was under way");
                var duplicatesBefore = ledger.DuplicateCount();
                disk.Fill();

                // Writes in flight when it filled fail within moments; from then on nothing commits until it has room.
                await Task.Delay(TimeSpan.FromSeconds(1));
                var handledWhenFull = workload.Inspect(databasePath).Handled;
                await Task.Delay(outageLength - TimeSpan.FromSeconds(1));
                committedWhileFull += workload.Inspect(databasePath).Handled - handledWhenFull;
                deadLetteredDuringOutages += await ErrorQueueDepthAsync(amqp);
                heldDuringOutages.Add(await QueueCountsAsync());
                unhealthyDuringOutages += await ReadinessAsync(http) == HttpStatusCode.ServiceUnavailable ? 1 : 0;
                duplicatesDuringOutages.Add(ledger.DuplicateCount() - duplicatesBefore);

                disk.Free();
                await Eventually.UntilAsync(() => batch.All(c => ledger.Entries.Any(e => e.CorrelationId == c.CorrelationId)), TimeSpan.FromSeconds(90));
                await EventuallyReadyAsync(http);
                await Eventually.UntilAsync(() => workload.Inspect(databasePath).PendingOutbox == 0, TimeSpan.FromSeconds(30));
            }

            store = workload.Inspect(databasePath);
        }

        var redemptions = await ChaosWebhooks.FiguresAsync(own, [workload, warmUp], databasePath);

        var unanswered = workload.Unanswered(ledger).Count;
        var komboCalls = (await own.Client.GetStatsAsync()).TotalCalls - callsBefore;
        ChaosReport.Record(output, new ChaosOutcome
        {
            Scenario = "disk-full",
            Commands = workload.Commands.Count + warmUp.Commands.Count,
            Disruptions = $"{outages} disk-full outage(s) of {outageLength.TotalSeconds:0} s",
            Lost = Math.Max(0, unanswered - (workload.Commands.Count - store.Handled)),
            DuplicateRows = store.DuplicateRows,
            DuplicateEvents = ledger.DuplicateCount(),
            Unanswered = unanswered,
            Duration = started.Elapsed,
            ByTokenCallsPerRedemption = redemptions.PerRedemption,
            Notes = $"{ChaosWorkload.Describe(workload.Outcomes(ledger))}; {redemptions}; while full: {committedWhileFull} commits, " +
                    $"{deadLetteredDuringOutages} dead-lettered, queues (ready/unacked) {string.Join(" ", heldDuringOutages)}, " +
                    $"ready=503 {unhealthyDuringOutages}/{outages}, duplicate events {string.Join(" ", duplicatesDuringOutages)}; {komboCalls} Kombo calls",
        });

        Assert.Equal(0, committedWhileFull);
        Assert.Equal(0u, deadLetteredDuringOutages);
        Assert.Equal(outages, unhealthyDuringOutages);
        Assert.Equal(0, unanswered);
        Assert.Equal(0u, await ErrorQueueDepthAsync(amqp));
        Assert.Equal(new Dictionary<string, int> { ["succeeded"] = workload.Commands.Count }, workload.Outcomes(ledger));
        Assert.Equal(0, store.DuplicateRows);
        Assert.Equal(0, store.MissingRows);
        Assert.Equal(0, store.PendingOutbox);
        Assert.Equal(0, store.ParkedOutbox);
        Assert.Empty(ledger.DuplicatesWithAnotherId());
    }

    /// <summary>Checkpoints the whole WAL into the database file and truncates it to nothing (retried while busy).</summary>
    private static async Task TruncateWalAsync(string databasePath)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString());
        await connection.OpenAsync();
        await connection.ExecuteAsync("PRAGMA busy_timeout = 5000;");
        for (var attempt = 0; ; attempt++)
        {
            var busy = await connection.ExecuteScalarAsync<int>("PRAGMA wal_checkpoint(TRUNCATE);");
            if (busy == 0)
            {
                return;
            }

            if (attempt == 20)
            {
                throw new TimeoutException("The WAL could not be checkpointed: the worker kept it busy.");
            }

            await Task.Delay(100);
        }
    }

    private static async Task<HttpStatusCode> ReadinessAsync(HttpClient http)
    {
        using var response = await http.GetAsync("health/ready");
        return response.StatusCode;
    }

    private static Task EventuallyReadyAsync(HttpClient http) => Eventually.HoldsAsync(
        async () => await ReadinessAsync(http) == HttpStatusCode.OK,
        "/health/ready returned to 200 after the disk had room again");

    private static async Task<uint> ErrorQueueDepthAsync(AmqpClient amqp) =>
        (await amqp.QueueStateAsync(ChaosWorkload.CreateLinkQueue + "_error")).Messages
        + (await amqp.QueueStateAsync(ChaosWorkload.RedeemTokenQueue + "_error")).Messages;

    /// <summary>Ready and unacknowledged messages of both command queues, e.g. <c>12/64</c>.</summary>
    private async Task<string> QueueCountsAsync()
    {
        var listing = await broker.Node.RabbitMqCtlAsync(["list_queues", "-q", "-p", _virtualHost, "name", "messages_ready", "messages_unacknowledged"]);
        long ready = 0, unacked = 0;
        foreach (var line in listing.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var fields = line.Split('\t', ' ');
            if (fields.Length >= 3 && fields[0] is ChaosWorkload.CreateLinkQueue or ChaosWorkload.RedeemTokenQueue
                && long.TryParse(fields[^2], CultureInfo.InvariantCulture, out var r) && long.TryParse(fields[^1], CultureInfo.InvariantCulture, out var u))
            {
                ready += r;
                unacked += u;
            }
        }

        return $"{ready}/{unacked}";
    }
}
