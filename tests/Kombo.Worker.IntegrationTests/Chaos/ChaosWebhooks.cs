using Dapper;
using Kombo.Testing;
using Kombo.Worker.IntegrationTests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Kombo.Worker.IntegrationTests.Chaos;

/// <summary>
/// Kombo's webhooks on for a chaos scenario: a private emulator (single-use tokens, its default) that delivers
/// <c>integration-created</c> and the rest to the worker's webhook listener.
/// </summary>
public static class ChaosWebhooks
{
    private const string Secret = "chaos-webhook-secret";

    /// <summary>
    /// The worker to be (not started) with its webhook listener on, and a private emulator that delivers to it; the
    /// worker's options are pointed at that emulator.
    /// </summary>
    public static async Task<(WorkerProcess Worker, KomboEmulatorFixture Kombo)> PrepareAsync(WorkerProcessOptions options)
    {
        var worker = new WorkerProcess(options);
        var kombo = await KomboEmulatorFixture.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Emulator:WebhookUrl"] = worker.WebhookUrl.ToString(),
            ["Emulator:WebhookSecret"] = Secret,
        });
        options.UseKombo(kombo.BaseAddress.ToString(), kombo.ApiKey);
        options.Environment["Kombo__WebhookSecret"] = Secret;
        options.Environment["Webhooks__Urls"] = $"http://127.0.0.1:{worker.WebhookPort}";
        return (worker, kombo);
    }

    /// <summary>
    /// For a worker hosted in-process (<c>WorkerUnderTest</c>, whose own listener takes any free port): a private
    /// emulator delivering to a webhook port picked here, and the settings that turn the worker's listener on there.
    /// </summary>
    public static async Task<(KomboEmulatorFixture Kombo, Dictionary<string, string?> WorkerSettings)> StartForInProcessWorkerAsync()
    {
        var port = FreePorts.Pick();
        var kombo = await KomboEmulatorFixture.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Emulator:WebhookUrl"] = $"http://127.0.0.1:{port}/kombo/webhooks",
            ["Emulator:WebhookSecret"] = Secret,
        });
        return (kombo, new Dictionary<string, string?>
        {
            ["Kombo:WebhookSecret"] = Secret,
            ["Webhooks:Urls"] = $"http://127.0.0.1:{port}",
        });
    }

    /// <summary>integration-by-token calls per redemption command, and how many redemptions a webhook settled.</summary>
    public static Task<RedemptionFigures> FiguresAsync(KomboEmulatorFixture kombo, ChaosWorkload workload, string databasePath) =>
        FiguresAsync(kombo, [workload], databasePath);

    /// <param name="workloads">Every workload whose redemptions reached this emulator since its stats were last reset.</param>
    public static async Task<RedemptionFigures> FiguresAsync(KomboEmulatorFixture kombo, IEnumerable<ChaosWorkload> workloads, string databasePath)
    {
        var stats = await kombo.GetStatsAsync();
        return Figures(stats.Endpoints.IntegrationByToken, workloads, databasePath);
    }

    /// <param name="byTokenCalls">The emulator's integration-by-token count for those workloads.</param>
    public static RedemptionFigures Figures(long byTokenCalls, IEnumerable<ChaosWorkload> workloads, string databasePath)
    {
        var redeems = workloads.Sum(w => w.Commands.Count(c => c.Queue == ChaosWorkload.RedeemTokenQueue));
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString());
        connection.Open();
        var settled = connection.ExecuteScalar<int>("SELECT COUNT(*) FROM token_redemption_attempts WHERE settled_as = 'webhook'");
        var uncertain = connection.ExecuteScalar<int>("SELECT COUNT(*) FROM inbox WHERE consumer = 'redeem-connect-token' AND outcome = 'uncertain'");
        return new RedemptionFigures(redeems, byTokenCalls, uncertain, settled);
    }
}

public sealed record RedemptionFigures(int Redemptions, long ByTokenCalls, int Uncertain, int SettledByWebhook)
{
    public string PerRedemption => Redemptions == 0 ? "-" : (ByTokenCalls / (double)Redemptions).ToString("0.000", System.Globalization.CultureInfo.InvariantCulture);

    public override string ToString() =>
        $"{ByTokenCalls} by-token calls for {Redemptions} redemptions; {Uncertain} uncertain, {SettledByWebhook} settled by integration-created";
}
