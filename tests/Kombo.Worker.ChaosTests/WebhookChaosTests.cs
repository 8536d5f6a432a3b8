using System.Diagnostics;
using Dapper;
using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.IntegrationTests.Infrastructure;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Kombo.Worker.ChaosTests;

/// <summary>
/// Scenario 7: Kombo's webhooks, delivered with duplicates and out of order, while the worker is killed with SIGKILL
/// at random moments and started again. In the end every integration was announced exactly once, every state change
/// and deletion has one effect, and nothing Kombo delivered is lost.
/// </summary>
[Collection(BrokerCollection.Name)]
[Trait("Category", "Chaos")]
public sealed class WebhookChaosTests(RabbitMqBroker broker, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _virtualHost = $"chaos-webhooks-{Guid.NewGuid():N}";

    public Task InitializeAsync() => broker.Node.CreateVirtualHostAsync(_virtualHost);

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Webhooks_delivered_twice_and_out_of_order_to_a_worker_killed_at_random_have_one_effect_each()
    {
        var started = Stopwatch.StartNew();
        var scale = ChaosScale.Current;
        var random = new Random();
        var (worker, kombo) = await WebhookedKombo.ForWorkerProcessAsync(BuiltWorker.Options(broker, _virtualHost, kombo: null),
            new Dictionary<string, string?>
            {
                ["Emulator:WebhookFaultSettings:duplicate_rate"] = "0.3",
                ["Emulator:WebhookFaultSettings:reorder_rate"] = "0.3",
                ["Emulator:WebhookFaultSettings:reorder_hold_ms"] = "200",
            });
        await using var ownKombo = kombo;
        await using var ownWorker = worker;
        await using var ledger = await EventLedger.StartAsync(broker, _virtualHost);
        await worker.StartAsync();

        // The end users finish their flows in Kombo while the worker lives and dies: created, then INVALID, and every
        // third deleted. Kombo queues each webhook and delivers it at least once, whenever the worker answers.
        using var http = kombo.CreateKomboClient();
        var integrations = new List<string>();
        var deleted = new HashSet<string>();
        var kills = 0;
        var killEvery = Math.Max(1, scale.WebhookIntegrations / (scale.WebhookKills + 1));
        for (var i = 0; i < scale.WebhookIntegrations; i++)
        {
            var completed = await kombo.Client.CompleteLinkAsync(await http.CreateLinkAsync($$"""
                {"end_user_email":"admin@acme.test","end_user_organization_name":"Acme, Inc.","end_user_origin_id":"customer-{{i}}",
                 "integration_tool":"personio","link_type":"MAGIC_LINK"}
                """));
            integrations.Add(completed.IntegrationId);
            await kombo.Client.SetIntegrationStateAsync(completed.IntegrationId, "INVALID");
            if (i % 3 == 0)
            {
                await kombo.Client.DeleteIntegrationAsync(completed.IntegrationId);
                deleted.Add(completed.IntegrationId);
            }

            if (i % killEvery == killEvery - 1 && kills < scale.WebhookKills)
            {
                await Task.Delay(random.Next(0, 40));
                if (!worker.IsRunning)
                {
                    Assert.Fail($"The worker exited by itself (code {await worker.Exited}).{Environment.NewLine}{worker.Tail()}");
                }

                await worker.KillAsync();
                kills++;
                await worker.StartAsync();
            }
        }

        await kombo.Client.WaitForWebhooksDeliveredAsync(TimeSpan.FromSeconds(scale.IsFull ? 300 : 120));
        var stats = await kombo.Client.GetWebhookStatsAsync();
        await Eventually.UntilAsync(() => Count(worker.DatabasePath, "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL") == 0, TimeSpan.FromSeconds(60));
        await Eventually.UntilAsync(
            () => ledger.Of(nameof(IntegrationCreated)).Select(e => e.MessageId).Distinct().Count() >= integrations.Count
                  && ledger.Of(nameof(IntegrationDeleted)).Select(e => e.MessageId).Distinct().Count() >= deleted.Count,
            TimeSpan.FromSeconds(60));
        Assert.Equal(0, await worker.StopAsync());

        var announced = ledger.Of(nameof(IntegrationCreated)).GroupBy(e => e.Message.GetProperty("integrationId").GetString()!).ToList();
        var announcedDeleted = ledger.Of(nameof(IntegrationDeleted)).GroupBy(e => e.Message.GetProperty("integrationId").GetString()!).ToList();
        var lost = integrations.Count(id => announced.All(g => g.Key != id)) + deleted.Count(id => announcedDeleted.All(g => g.Key != id));
        var createdRows = Count(worker.DatabasePath, "SELECT COUNT(*) FROM outbox WHERE message_type = 'IntegrationCreated'");
        var deletedRows = Count(worker.DatabasePath, "SELECT COUNT(*) FROM outbox WHERE message_type = 'IntegrationDeleted'");
        var duplicateRows = (int)(createdRows - integrations.Count + deletedRows - deleted.Count);
        var anotherId = announced.Concat(announcedDeleted).Count(g => g.Select(e => e.MessageId).Distinct().Count() > 1);
        ChaosReport.Record(output, new ChaosOutcome
        {
            Scenario = "webhooks + kill-9",
            Commands = (int)stats.Queued,
            Disruptions = $"{kills} kills / {kills} restarts",
            Lost = lost,
            DuplicateRows = duplicateRows,
            DuplicateEvents = ledger.DuplicateCount(),
            Unanswered = (int)stats.Pending,
            Duration = started.Elapsed,
            Notes = $"{integrations.Count} integrations, {deleted.Count} deleted; webhooks: {stats.Attempts} attempts, " +
                    $"{stats.FailedAttempts} failed, {stats.DuplicatesSent} duplicates sent; duplicates with another id {anotherId}",
        });

        Assert.Equal(0, lost);
        Assert.Equal(integrations.Count, createdRows);
        Assert.Equal(deleted.Count, deletedRows);
        Assert.Equal(0, anotherId);
        Assert.True(kills > 0, "the worker was killed at least once");
        // A late INVALID may lose to nothing newer, so each integration has at most one applied state change per update time.
        Assert.Equal(0, Count(worker.DatabasePath, """
            SELECT COUNT(*) FROM (SELECT integration_id, updated_at FROM integration_state_changes WHERE applied = 1
                                  GROUP BY integration_id, updated_at HAVING COUNT(*) > 1)
            """));
    }

    private static long Count(string databasePath, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={databasePath};Pooling=False");
        return connection.ExecuteScalar<long>(sql);
    }
}
