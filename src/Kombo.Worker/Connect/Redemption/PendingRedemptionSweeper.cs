using Kombo.Contracts;
using Kombo.Worker.KomboApi;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Connect.Redemption;

/// <summary>
/// Answers every redemption still pending after <see cref="KomboOptions.RedemptionSettleWindow"/>: from a match that
/// has become unique, else with <see cref="FailureReasons.OutcomeUnknown"/> (its command was acknowledged long ago, so
/// nothing else would). Also forgets attempts of long-dead tokens.
/// </summary>
internal sealed partial class PendingRedemptionSweeper(
    IDatabase database,
    IDatabaseWriter writer,
    TransactionalOutbox outbox,
    TimeProvider time,
    IOptions<KomboOptions> options,
    ILogger<PendingRedemptionSweeper> logger) : BackgroundService
{
    private const int BatchSize = 100;

    // Far beyond any token's life: an attempt older than this can no longer make a later answer uncertain.
    private static readonly TimeSpan AttemptRetention = TimeSpan.FromDays(1);

    private readonly TimeSpan _window = options.Value.RedemptionSettleWindow;
    private readonly SettlementRules _rules = new(options.Value.ConnectTokenLifetime);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromTicks(Math.Clamp(_window.Ticks / 10, TimeSpan.FromMilliseconds(50).Ticks, TimeSpan.FromSeconds(30).Ticks));
        using var timer = new PeriodicTimer(interval, time);
        while (await WaitAsync(timer, stoppingToken))
        {
            try
            {
                await SweepOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogSweepFailed(ex);
            }
        }
    }

    /// <returns>How many pending redemptions were answered.</returns>
    public async Task<int> SweepOnceAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        IReadOnlyList<RedemptionAttempt> due;
        using (var connection = database.Open())
        {
            due = RedemptionLedger.PendingBefore(connection, now - _window, BatchSize);
        }

        var answered = 0;
        foreach (var attempt in due)
        {
            var entry = new InboxEntry(MessageIds.Derive(attempt.Command, "outcome-unknown"), RedemptionSettlement.Name, attempt.Correlation, "expired");
            var answers = await outbox.CommitAsync(entry,
                (connection, transaction, committedAt) => RedemptionSettlement.Expire(connection, transaction, attempt, _rules, committedAt),
                outgoing => outgoing, cancellationToken);
            if (answers is { Count: > 0 })
            {
                answered++;
                LogExpired(attempt.Command, _window);
            }
        }

        // Every finished attempt past the retention, in bounded transactions, so the table cannot outgrow the sweeps.
        while (await writer.WriteAsync((connection, transaction) =>
            RedemptionLedger.DeleteFinishedBefore(connection, transaction, now - AttemptRetention, BatchSize), cancellationToken) == BatchSize)
        {
        }

        return answered;
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Command {CommandId}: the redemption's settle window of {Window} ended; answered from a unique match, else outcome_unknown")]
    private partial void LogExpired(Guid commandId, TimeSpan window);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sweeping pending redemptions failed; it runs again at the next interval")]
    private partial void LogSweepFailed(Exception exception);
}
