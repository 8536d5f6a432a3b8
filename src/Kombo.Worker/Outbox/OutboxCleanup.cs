using System.Data.Common;
using Dapper;
using Kombo.Worker.Storage;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Outbox;

/// <summary>
/// Deletes sent outbox rows, inbox rows and the features' <see cref="ExpiringRows"/> past their retention, in bounded
/// batches (<see cref="BatchedDelete"/>), redacts the expired links of parked rows (<see cref="ParkedLinkRedaction"/>),
/// then checkpoints the WAL. On a shared database only the owner of partition 0
/// cleans up, so that instances never delete the same rows side by side.
/// </summary>
internal sealed partial class OutboxCleanup(
    IDatabaseWriter writer,
    IEnumerable<ExpiringRows> expiringRows,
    IOutboxPartitions partitions,
    IOptions<OutboxOptions> options,
    IOptions<RetentionOptions> retention,
    TimeProvider time,
    ILogger<OutboxCleanup> logger) : BackgroundService
{
    private readonly OutboxOptions _options = options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.CleanupInterval, time);
        while (await WaitAsync(timer, stoppingToken))
        {
            if (!partitions.Owns(0))
            {
                continue;
            }

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
        var sent = await DeleteInBatchesAsync((c, t, limit) => OutboxStore.DeleteSent(c, t, now - _options.SentRetention, limit), cancellationToken);
        var inbox = await DeleteInBatchesAsync((c, t, limit) => InboxStore.DeleteReceivedBefore(c, t, now - _options.InboxRetention, limit), cancellationToken);
        foreach (var rows in expiringRows)
        {
            var cutoff = now - rows.RetentionOf(_options, retention.Value);
            await DeleteInBatchesAsync((c, t, limit) => rows.DeleteBatch(c, t, cutoff, limit), cancellationToken);
        }

        var redacted = await RedactExpiredLinksAsync(now, cancellationToken);
        await writer.CheckpointAsync(cancellationToken);
        if (sent + inbox > 0)
        {
            LogCleanedUp(sent, inbox);
        }

        if (redacted > 0)
        {
            LogLinksRedacted(redacted);
        }

        return new CleanupResult(sent, inbox);
    }

    private async Task<int> DeleteInBatchesAsync(Func<DbConnection, DbTransaction, int, int> deleteBatch, CancellationToken cancellationToken)
    {
        var batchSize = _options.CleanupBatchSize;
        var total = await BatchedDelete.RunAsync(
            async token => await writer.WriteAsync((c, t) => deleteBatch(c, t, batchSize), token), batchSize, cancellationToken);
        return (int)total;
    }

    private async Task<int> RedactExpiredLinksAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var batchSize = _options.CleanupBatchSize;
        var redacted = 0;
        RedactionBatch batch;
        long after = 0;
        do
        {
            batch = await writer.WriteAsync((c, t) => ParkedLinkRedaction.RedactBatch(c, t, now, after, batchSize), cancellationToken);
            redacted += batch.Redacted;
            after = batch.LastSequence;
        }
        while (batch.Read == batchSize);

        return redacted;
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Cleanup redacted the expired links of {ParkedRows} parked outbox rows")]
    private partial void LogLinksRedacted(int parkedRows);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox cleanup failed; it runs again at the next interval")]
    private partial void LogCleanupFailed(Exception exception);
}

internal sealed record CleanupResult(int SentRowsDeleted, int InboxRowsDeleted);
