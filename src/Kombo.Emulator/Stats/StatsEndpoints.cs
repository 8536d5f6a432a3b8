using Kombo.Emulator.Webhooks;

namespace Kombo.Emulator.Stats;

/// <summary><c>GET /emulator/stats</c> reads the counters, <c>DELETE /emulator/stats</c> zeroes them.</summary>
public static class StatsEndpoints
{
    public static IEndpointRouteBuilder MapStats(this IEndpointRouteBuilder emulator)
    {
        emulator.MapGet("/stats", (RequestStats stats, WebhookQueue webhooks) =>
            Results.Json(stats.Snapshot(webhooks.Counts()), EmulatorJson.Options));
        emulator.MapDelete("/stats", (RequestStats stats) =>
        {
            stats.Reset();
            return Results.NoContent();
        });
        return emulator;
    }
}
