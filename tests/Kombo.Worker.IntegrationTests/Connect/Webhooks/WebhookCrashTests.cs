using Dapper;
using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.IntegrationTests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Kombo.Worker.IntegrationTests.Connect.Webhooks;

/// <summary>The worker killed with SIGKILL after it received a webhook and before it committed it.</summary>
[Collection("broker")]
public sealed class WebhookCrashTests(RabbitMqBroker broker) : IAsyncLifetime
{
    private readonly string _virtualHost = $"webhook-crash-{Guid.NewGuid():N}";

    public Task InitializeAsync() => broker.Node.CreateVirtualHostAsync(_virtualHost);

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Webhook_in_flight_when_the_worker_is_killed_has_exactly_one_effect_after_kombos_retry()
    {
        // A busy timeout long enough that the held lock, not the timeout, decides when the write may go on; an attempt
        // timeout long enough that Kombo's attempt is still waiting when the worker dies.
        var (worker, kombo) = await WebhookedKombo.ForWorkerProcessAsync(
            BuiltWorker.Options(broker, _virtualHost, kombo: null, new() { ["Storage__BusyTimeout"] = "00:02:00" }),
            new Dictionary<string, string?> { ["Emulator:WebhookRetry:AttemptTimeout"] = "00:01:00" });
        await using var ownKombo = kombo;
        await using var ownWorker = worker;
        await worker.StartAsync();
        await using var probe = await AmqpClient.ConnectAsync(broker.Node, _virtualHost);
        await probe.ListenAsync(nameof(IntegrationCreated));

        // Another writer holds the database: the worker takes the webhook in, then waits to commit it.
        var holder = new SqliteConnection($"Data Source={worker.DatabasePath};Pooling=False");
        holder.Open();
        holder.Execute("BEGIN IMMEDIATE; INSERT INTO health (id, checked_at) VALUES (1, 0) ON CONFLICT (id) DO UPDATE SET checked_at = 0;");
        using var http = kombo.CreateKomboClient();
        var completed = await kombo.Client.CompleteLinkAsync(await http.CreateLinkAsync("""
            {"end_user_email":"admin@acme.test","end_user_organization_name":"Acme, Inc.","end_user_origin_id":"customer-crash",
             "integration_tool":"personio","link_type":"MAGIC_LINK"}
            """));
        await Eventually.HoldsAsync(() => kombo.Client.GetWebhookStatsAsync().GetAwaiter().GetResult() is { Attempts: >= 1, Delivered: 0 },
            "the webhook reached the worker, which has not answered it");

        await worker.KillAsync();
        holder.Execute("ROLLBACK;");
        holder.Dispose();
        Assert.Equal(0, Count(worker.DatabasePath, "SELECT COUNT(*) FROM inbox WHERE consumer = 'kombo-webhook'"));
        await worker.StartAsync();

        await kombo.Client.WaitForWebhooksDeliveredAsync(TimeSpan.FromSeconds(60));
        await Eventually.HoldsAsync(() => probe.Of(nameof(IntegrationCreated)).Any(), "IntegrationCreated after Kombo's retry");
        var stats = await kombo.Client.GetWebhookStatsAsync();
        Assert.True(stats.Attempts >= 2, $"Kombo delivered again after the kill ({stats})");
        Assert.Equal(1, Count(worker.DatabasePath, "SELECT COUNT(*) FROM inbox WHERE consumer = 'kombo-webhook'"));
        Assert.Equal(1, Count(worker.DatabasePath, "SELECT COUNT(*) FROM outbox WHERE message_type = 'IntegrationCreated'"));
        Assert.Equal(completed.IntegrationId, probe.Of(nameof(IntegrationCreated)).Single().Message.GetProperty("integrationId").GetString());
        Assert.Equal(0, await worker.StopAsync());
    }

    private static long Count(string databasePath, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={databasePath};Pooling=False");
        return connection.ExecuteScalar<long>(sql);
    }
}
