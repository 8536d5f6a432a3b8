using Dapper;
using Kombo.Worker.Storage;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Outbox;

/// <summary>
/// Deletes sent outbox rows and inbox rows past their retention, in bounded batches so no write transaction grows
/// long enough to hold up the consumers, then checkpoints the WAL.
/// </summary>
internal sealed partial class OutboxCleanup(
    SqliteWriter writer,
    IOptions<OutboxOptions> options,
    TimeProvider time,
    ILogger<OutboxCleanup> logger) : BackgroundService
{
    private const string DeleteOldInboxSql = """
        DELETE FROM inbox WHERE (message_id, consumer) IN (
            SELECT message_id, consumer FROM inbox WHERE received_at <= @Cutoff LIMIT @Limit)
        """;

    private const string DeleteOldRedemptionsSql = """
        DELETE FROM token_redemptions WHERE token_hash IN (
            SELECT token_hash FROM token_redemptions WHERE redeemed_at <= @Cutoff LIMIT @Limit)
        """;

    private readonly OutboxOptions _options = options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.CleanupInterval, time);
        while (await WaitAsync(timer, stoppingToken))
        {
            try
            {
                await CleanUpAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogCleanupFailed(ex);
            }
        }
    }

    public async Task<CleanupResult> CleanUpAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var sent = await DeleteInBatchesAsync(
            (c, t) => OutboxStore.DeleteSent(c, t, now - _options.SentRetention, _options.CleanupBatchSize), cancellationToken);
        var inbox = await DeleteInBatchesAsync(
            (c, t) => c.Execute(DeleteOldInboxSql, new { Cutoff = UnixTime.ToMs(now - _options.InboxRetention), Limit = _options.CleanupBatchSize }, t),
            cancellationToken);
        await DeleteInBatchesAsync(
            (c, t) => c.Execute(DeleteOldRedemptionsSql, new { Cutoff = UnixTime.ToMs(now - _options.InboxRetention), Limit = _options.CleanupBatchSize }, t),
            cancellationToken);

        await writer.CheckpointAsync(cancellationToken);
        if (sent + inbox > 0)
        {
            LogCleanedUp(sent, inbox);
        }

        return new CleanupResult(sent, inbox);
    }

    private async Task<int> DeleteInBatchesAsync(
        Func<Microsoft.Data.Sqlite.SqliteConnection, Microsoft.Data.Sqlite.SqliteTransaction, int> deleteBatch, CancellationToken cancellationToken)
    {
        var total = 0;
        int deleted;
        do
        {
            deleted = await writer.WriteAsync(deleteBatch, cancellationToken);
            total += deleted;
        }
        while (deleted == _options.CleanupBatchSize);

        return total;
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Cleanup deleted {SentRows} sent outbox rows and {InboxRows} inbox rows")]
    private partial void LogCleanedUp(int sentRows, int inboxRows);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox cleanup failed; it runs again at the next interval")]
    private partial void LogCleanupFailed(Exception exception);
}

internal sealed record CleanupResult(int SentRowsDeleted, int InboxRowsDeleted);
