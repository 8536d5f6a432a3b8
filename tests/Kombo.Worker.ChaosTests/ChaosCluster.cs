using Kombo.Testing;
using Kombo.Worker.IntegrationTests.Infrastructure;

namespace Kombo.Worker.ChaosTests;

/// <summary>The worker processes of a cluster scenario: one PostgreSQL database, Kombo's webhooks on each instance's own port.</summary>
internal static class ChaosCluster
{
    /// <summary>The instances, not started, each pointed at <paramref name="kombo"/> and <paramref name="database"/>.</summary>
    public static List<WorkerProcess> Workers(
        RabbitMqBroker broker, string virtualHost, KomboEmulatorFixture kombo, string database, int instances) =>
        Enumerable.Range(0, instances).Select(_ =>
        {
            var options = BuiltWorker.Options(broker, virtualHost, kombo).UsePostgreSql(database);
            var worker = new WorkerProcess(options);
            options.Environment["Kombo__WebhookSecret"] = WebhookedKombo.Secret;
            options.Environment["Webhooks__Urls"] = $"http://127.0.0.1:{worker.WebhookPort}";
            return worker;
        }).ToList();

    /// <summary>Hands each webhook the emulator sends to <paramref name="webhookPort"/> to the next live instance, as a load balancer would.</summary>
    public static Task<RoundRobinForwarder> ForwardWebhooksAsync(int webhookPort, IEnumerable<WorkerProcess> workers) =>
        RoundRobinForwarder.StartAsync(webhookPort, [.. workers.Select(w => new Uri($"http://127.0.0.1:{w.WebhookPort}/"))]);
}
