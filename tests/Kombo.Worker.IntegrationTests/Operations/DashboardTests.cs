using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Kombo.Contracts;
using Kombo.Emulator.Faults;
using Kombo.Testing;
using Kombo.Worker.Connect.Webhooks;
using Kombo.Worker.IntegrationTests.Infrastructure;

namespace Kombo.Worker.IntegrationTests.Operations;

/// <summary>The Grafana dashboard in docs/operations queries only series the worker really serves on /metrics.</summary>
[Collection("broker")]
public sealed partial class DashboardTests(RabbitMqBroker broker, KomboEmulatorFixture kombo) : IClassFixture<KomboEmulatorFixture>, IAsyncLifetime
{
    private const string Secret = "whsec-dashboard-test";
    private readonly string _virtualHost = $"dashboard-{Guid.NewGuid():N}";
    private readonly int _webhookPort = FreePorts.Pick();

    public Task InitializeAsync() => broker.Node.CreateVirtualHostAsync(_virtualHost);

    public async Task DisposeAsync() => await kombo.Client.ResetAsync();

    [Fact]
    public async Task Every_series_the_dashboard_queries_is_on_metrics_once_the_worker_has_worked()
    {
        var dashboard = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "docs", "operations", "grafana", "dashboards", "kombo-worker.json"));
        var queried = JsonDocument.Parse(dashboard).RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(panel => panel.GetProperty("targets").EnumerateArray())
            .SelectMany(target => SeriesName().Matches(target.GetProperty("expr").GetString()!).Select(m => m.Value))
            .ToHashSet();
        Assert.True(queried.Count >= 10, $"the dashboard queries {queried.Count} series");

        await using var worker = await WorkerUnderTest.StartAsync(broker, _virtualHost, kombo, new Dictionary<string, string?>
        {
            ["Kombo:WebhookSecret"] = Secret,
            ["Webhooks:Urls"] = $"http://127.0.0.1:{_webhookPort}",
        });
        await using var probe = await AmqpClient.ConnectAsync(broker.Node, _virtualHost);
        await probe.ListenAsync(nameof(LinkCreated));

        // A link that needs a retry (Kombo fails its first attempts), then a webhook: every kind of series gets a point.
        using var http = new HttpClient();
        await kombo.Client.SetFaultsAsync(new FaultSettings { ErrorRate = 1 });
        await SendLinkAsync(probe, "customer-failing");
        await Eventually.HoldsAsync(() => Metrics(http, worker).Contains("kombo_worker_kombo_retries_total", StringComparison.Ordinal), "a Kombo retry was counted");
        await kombo.Client.SetFaultsAsync(FaultSettings.None);
        await SendLinkAsync(probe, "customer-dashboard");
        await Eventually.HoldsAsync(() => probe.Of(nameof(LinkCreated)).Any(), "a link was created");
        var body = Encoding.UTF8.GetBytes("""{"id":"evt-dashboard","type":"sync-finished","data":{}}""");
        using var webhook = await http.SendAsync(new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{_webhookPort}{WebhookOptions.Path}")
        {
            Content = new ByteArrayContent(body),
            Headers = { { WebhookSignature.Header, WebhookSignature.Compute(Secret, body) } },
        });
        webhook.EnsureSuccessStatusCode();

        var metrics = "";
        await Eventually.HoldsAsync(() =>
        {
            metrics = Metrics(http, worker);
            return queried.All(series => metrics.Contains(series, StringComparison.Ordinal));
        }, "every series the dashboard queries is served");
        Assert.All(queried, series => Assert.Contains(series, metrics, StringComparison.Ordinal));
    }

    private static Task SendLinkAsync(AmqpClient probe, string originId) =>
        probe.PublishJsonAsync("create-connect-link", JsonSerializer.Serialize(new
        {
            correlationId = Guid.NewGuid(),
            endUserEmail = "admin@acme.test",
            endUserOrganizationName = "Acme, Inc.",
            endUserOriginId = originId,
            integrationTool = "personio",
        }));

    private static string Metrics(HttpClient http, WorkerUnderTest worker) =>
        http.GetStringAsync(new Uri(worker.BaseAddress, "/metrics")).GetAwaiter().GetResult();

    [GeneratedRegex("kombo_worker_[a-z_]+")]
    private static partial Regex SeriesName();
}
