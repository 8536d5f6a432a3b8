using System.Data.Common;
using Dapper;
using Kombo.Testing;
using Kombo.Worker.IntegrationTests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Kombo.Worker.ChaosTests;

/// <summary>
/// What a chaos scenario with Kombo's webhooks on (<see cref="WebhookedKombo"/>) reports of its redemptions.
/// </summary>
public static class ChaosWebhooks
{
    /// <summary>integration-by-token calls per redemption command, and how many redemptions a webhook settled.</summary>
    public static Task<RedemptionFigures> FiguresAsync(KomboEmulatorFixture kombo, ChaosWorkload workload, string databasePath) =>
        FiguresAsync(kombo, [workload], databasePath);

    /// <param name="workloads">Every workload whose redemptions reached this emulator since its stats were last reset.</param>
    public static async Task<RedemptionFigures> FiguresAsync(KomboEmulatorFixture kombo, IEnumerable<ChaosWorkload> workloads, string databasePath)
    {
        var stats = await kombo.Client.GetStatsAsync();
        return Figures(stats.Endpoints.IntegrationByToken, workloads, databasePath);
    }

    /// <param name="byTokenCalls">The emulator's integration-by-token count for those workloads.</param>
    public static RedemptionFigures Figures(long byTokenCalls, IEnumerable<ChaosWorkload> workloads, string databasePath)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString());
        connection.Open();
        return Figures(byTokenCalls, workloads, connection);
    }

    /// <param name="connection">An open connection to the store, SQLite or PostgreSQL.</param>
    public static RedemptionFigures Figures(long byTokenCalls, IEnumerable<ChaosWorkload> workloads, DbConnection connection)
    {
        var redeems = workloads.Sum(w => w.Commands.Count(c => c.Queue == ChaosWorkload.RedeemTokenQueue));
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
