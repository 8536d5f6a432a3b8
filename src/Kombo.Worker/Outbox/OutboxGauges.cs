using System.Data.Common;
using System.Diagnostics.Metrics;
using Kombo.Worker.Operations;

namespace Kombo.Worker.Outbox;

/// <summary>
/// Observable gauges over <see cref="OutboxStatistics"/>: the meter provider creates this once and reads the gauges
/// at each export or scrape.
/// </summary>
internal sealed partial class OutboxGauges
{
    private readonly OutboxStatistics _statistics;
    private readonly TimeProvider _time;
    private readonly ILogger<OutboxGauges> _logger;

    public OutboxGauges(WorkerMetrics metrics, OutboxStatistics statistics, TimeProvider time, ILogger<OutboxGauges> logger)
    {
        _statistics = statistics;
        _time = time;
        _logger = logger;
        metrics.Meter.CreateObservableGauge("kombo.worker.outbox.pending_rows", () => Observe(() => _statistics.Outbox().Pending),
            "{message}", "Outbox rows waiting to be published (parked rows not included).");
        metrics.Meter.CreateObservableGauge("kombo.worker.outbox.oldest_pending_age",
            () => Observe(() => _statistics.Outbox().OldestPendingAge(_time.GetUtcNow()).TotalSeconds),
            "s", "Age of the oldest outbox row waiting to be published; 0 when none waits.");
        metrics.Meter.CreateObservableGauge("kombo.worker.outbox.parked_rows", () => Observe(() => _statistics.Outbox().Parked),
            "{message}", "Outbox rows parked for an operator (see `outbox parked`).");
        metrics.Meter.CreateObservableGauge("kombo.worker.inbox.rows", () => Observe(_statistics.InboxRows),
            "{command}", "Handled commands remembered for deduplication.");
    }

    // A gauge that cannot be read reports nothing rather than a misleading zero; readiness reports the cause.
    private IEnumerable<Measurement<T>> Observe<T>(Func<T> read)
        where T : struct
    {
        try
        {
            return [new Measurement<T>(read())];
        }
        catch (Exception ex) when (ex is DbException or InvalidOperationException or IOException)
        {
            LogReadFailed(ex);
            return [];
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read the outbox figures for the gauges")]
    private partial void LogReadFailed(Exception exception);
}
