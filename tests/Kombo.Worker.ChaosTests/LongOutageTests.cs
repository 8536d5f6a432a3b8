using System.Diagnostics;
using Dapper;
using Kombo.Emulator.Faults;
using Kombo.Testing;
using Kombo.Worker.IntegrationTests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Kombo.Worker.ChaosTests;

/// <summary>
/// Scenario 7: the broker refuses publishes (a memory alarm) for longer than the relay's whole park budget, with the
/// production relay settings (MaxAttempts 10, RetryBaseDelay 1 s, RetryMaxDelay 5 min). The commands are queued while
/// the worker is stopped, the alarm is raised, and only then does the worker start: it handles the whole backlog (its prefetch
/// holds all of it) with every publish refused, so each event it commits waits in the outbox, whatever moment the
/// client notices the block. The
/// outage must cost no row an attempt, park nothing, and the events committed meanwhile must all be out within 5 s of
/// the broker taking publishes again, each command answered once. The outage lasts <see cref="ChaosScale.LongOutage"/>:
/// 4 minutes in <c>scripts/chaos.sh</c>, 20 s in the normal suite (<c>KOMBO_CHAOS_OUTAGE</c> overrides it). Only the
/// long run can catch a relay-wide back-off that grows through the outage; the attempt count catches outage rounds
/// that cost attempts at either length.
/// </summary>
[Collection(BrokerCollection.Name)]
[Trait("Category", "Chaos")]
public sealed class LongOutageTests(RabbitMqBroker broker, KomboEmulatorFixture kombo, ITestOutputHelper output)
    : IClassFixture<KomboEmulatorFixture>, IAsyncLifetime
{
    private static readonly TimeSpan RecoveryBound = TimeSpan.FromSeconds(5);

    private readonly string _virtualHost = $"chaos-outage-{Guid.NewGuid():N}";

    public Task InitializeAsync() => broker.Node.CreateVirtualHostAsync(_virtualHost);

    public async Task DisposeAsync() => await kombo.Client.ResetAsync();

    [Fact]
    public async Task Long_broker_outage_parks_nothing_and_the_outbox_drains_within_seconds_of_recovery()
    {
        var started = Stopwatch.StartNew();
        var scale = ChaosScale.Current;
        var outage = scale.LongOutage;
        var workload = await ChaosWorkload.CreateAsync(kombo, scale.IsFull ? 1000 : 300, "outage");

        // Kombo answers in 200 ms, as over a slow network: the worker commits the backlog's answers one by one while the
        // broker refuses every publish.
        await kombo.Client.SetFaultsAsync(new FaultSettings { LatencyMs = 200 });
        await using var ledger = await EventLedger.StartAsync(broker, _virtualHost);
        await using (var amqp = await AmqpClient.ConnectAsync(broker.Node, _virtualHost, "kombo-chaos"))
        {
            // The queues the worker would declare, so the backlog waits in them before it ever runs.
            await amqp.BindQueueAsync(ChaosWorkload.CreateLinkQueue, ChaosWorkload.CreateLinkQueue);
            await amqp.BindQueueAsync(ChaosWorkload.RedeemTokenQueue, ChaosWorkload.RedeemTokenQueue);
            await workload.PublishAsync(amqp);
        }

        var logs = new LogCapture();
        OutageFindings during;
        var errors = "";
        TimeSpan drained;
        StoreFindings store;
        HashSet<string> committed;
        await using var alarm = await MemoryAlarm.RaiseAsync(broker.Node);
        var worker = await WorkerUnderTest.StartAsync(broker, _virtualHost, kombo, new()
        {
            ["Outbox:MaxAttempts"] = "10",
            ["Outbox:RetryBaseDelay"] = "00:00:01",
            ["Outbox:RetryMaxDelay"] = "00:05:00",
            ["Outbox:PollInterval"] = "00:00:01",
            // A blocked connection's acknowledgements wait too: only a prefetch as large as the backlog lets the
            // worker take all of it during the outage.
            ["Messaging:PrefetchCount"] = $"{workload.Commands.Count}",
        }, builder => builder.Logging.AddProvider(logs));
        try
        {
            var databasePath = Path.Combine(worker.Directory, "worker.db");
            await Eventually.HoldsAsync(() => workload.Inspect(databasePath).Handled == workload.Commands.Count,
                "the worker handled the whole backlog while the broker refused publishes", TimeSpan.FromSeconds(60));
            await Task.Delay(outage);
            during = Inspect(databasePath);
            errors = OutageErrors(databasePath);
            await alarm.ClearAsync();

            var recovery = Stopwatch.StartNew();
            await Eventually.HoldsAsync(() => UnsentThrough(databasePath, during.LastSequence) == 0,
                "every event committed during the outage was confirmed", TimeSpan.FromSeconds(120));
            drained = recovery.Elapsed;
            await Eventually.UntilAsync(() => workload.Unanswered(ledger).Count == 0, TimeSpan.FromSeconds(scale.IsFull ? 300 : 120));
            await Eventually.UntilAsync(() => workload.Inspect(databasePath).PendingOutbox == 0, TimeSpan.FromSeconds(30));
            store = workload.Inspect(databasePath);
            committed = CommittedCommands(databasePath);
        }
        finally
        {
            // Cleared first: a worker stopping under the alarm would wait on publishes the broker blocks.
            await alarm.ClearAsync();
            await worker.DisposeAsync();
        }

        foreach (var problem in logs.Logs.Where(l => l.Level >= LogLevel.Error).Take(20))
        {
            output.WriteLine($"{problem.At:HH:mm:ss.fff} {problem.Category} [{problem.Level}] {problem.Text}");
        }

        var unanswered = workload.Unanswered(ledger).Count;
        var uncommittedAnswers = ledger.Entries.Count(e => !committed.Contains(e.CorrelationId.ToString()));
        ChaosReport.Record(output, new ChaosOutcome
        {
            Scenario = "long-outage",
            Commands = workload.Commands.Count,
            Disruptions = $"memory alarm for {outage.TotalSeconds:0} s",
            Lost = Math.Max(0, unanswered - (workload.Commands.Count - store.Handled)),
            DuplicateRows = store.DuplicateRows,
            DuplicateEvents = ledger.DuplicateCount(),
            Unanswered = unanswered,
            Duration = started.Elapsed,
            Notes = $"backlog queued, then the alarm, then the worker; at the end of the outage: {during.Handled} commands handled, " +
                    $"{during.Pending} events pending ({during.Failed} with an outage error), max attempts {during.MaxAttempts}, " +
                    $"{during.Parked} parked (errors: {errors}); drained {drained.TotalSeconds:0.0} s after recovery; at the end {store.ParkedOutbox} parked",
        });

        // The precondition, certain by construction: the worker never had a broker that took its publishes before now.
        Assert.Equal(workload.Commands.Count, during.Handled);
        Assert.True(during.Pending > 0, "no event waited in the outbox through the outage: the scenario did not test anything");
        Assert.Equal(0, during.MaxAttempts);
        Assert.Equal(0, during.Parked);
        Assert.True(drained <= RecoveryBound, $"the outbox took {drained.TotalSeconds:0.0} s to drain after the outage");
        Assert.Equal(0, unanswered);
        Assert.Equal(workload.Commands.Count, store.Handled);
        Assert.Equal(0, uncommittedAnswers);
        Assert.Equal(0, store.ParkedOutbox);
        Assert.Equal(0, store.DuplicateRows);
        Assert.Equal(0, store.MissingRows);
        Assert.Empty(ledger.DuplicatesWithAnotherId());
        Assert.Empty(ledger.DuplicatesWithOtherContent());
    }

    private static SqliteConnection Open(string databasePath)
    {
        var connection = new SqliteConnection($"Data Source={databasePath};Mode=ReadWrite;Pooling=False");
        connection.Open();
        connection.Execute("PRAGMA busy_timeout = 30000;");
        return connection;
    }

    private static OutageFindings Inspect(string databasePath)
    {
        using var connection = Open(databasePath);
        return connection.QuerySingle<OutageFindings>("""
            SELECT COALESCE(MAX(sequence), 0) AS LastSequence,
                   COALESCE(SUM(sent_at IS NULL), 0) AS Pending,
                   COALESCE(SUM(sent_at IS NULL AND last_error IS NOT NULL), 0) AS Failed,
                   COALESCE(MAX(attempts), 0) AS MaxAttempts,
                   COALESCE(SUM(parked_at IS NOT NULL), 0) AS Parked,
                   (SELECT COUNT(*) FROM inbox) AS Handled
            FROM outbox
            """);
    }

    private static string OutageErrors(string databasePath)
    {
        using var connection = Open(databasePath);
        return string.Join("; ", connection.Query<(string Error, long Rows)>(
                "SELECT last_error, COUNT(*) FROM outbox WHERE sent_at IS NULL AND last_error IS NOT NULL GROUP BY last_error ORDER BY 2 DESC LIMIT 3")
            .Select(e => $"{e.Rows}x {(e.Error.Length > 80 ? e.Error[..80] : e.Error)}"));
    }

    /// <summary>The correlation ids of the commands the worker committed an answer for.</summary>
    private static HashSet<string> CommittedCommands(string databasePath)
    {
        using var connection = Open(databasePath);
        return [.. connection.Query<string>("SELECT correlation_id FROM inbox")];
    }

    private static long UnsentThrough(string databasePath, long sequence)
    {
        using var connection = Open(databasePath);
        return connection.ExecuteScalar<long>("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND sequence <= @Sequence", new { Sequence = sequence });
    }

    private sealed record OutageFindings
    {
        public long LastSequence { get; init; }

        public long Pending { get; init; }

        public long Failed { get; init; }

        public long MaxAttempts { get; init; }

        public long Parked { get; init; }

        public long Handled { get; init; }
    }
}
