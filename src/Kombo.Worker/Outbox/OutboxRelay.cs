using Kombo.Worker.Operations;
using Kombo.Worker.Storage;
using MassTransit;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Outbox;

/// <summary>
/// Publishes the rows <see cref="RelayQueue"/> hands out, with publisher confirms, on parallel lanes that keep each end
/// user's commit order, and reports each confirm back to the queue, which marks the row sent. Failures cost an attempt
/// and a back-off unless the broker is demonstrably down; during such an outage the relay pauses between rounds and
/// probes the broker with one row.
/// </summary>
internal sealed partial class OutboxRelay(
    IBus bus,
    RelayQueue queue,
    IOutboxPartitions partitions,
    OutboxSignal signal,
    IOptions<OutboxOptions> options,
    TimeProvider time,
    WorkerMetrics metrics,
    ILogger<OutboxRelay> logger) : BackgroundService
{
    /// <summary>Longest pause between rounds while the broker is down: the relay resumes within it once it is back.</summary>
    internal static readonly TimeSpan MaxOutageDelay = TimeSpan.FromSeconds(1);

    private readonly OutboxOptions _options = options.Value;
    private TimeSpan _outageDelay = TimeSpan.Zero;
    private uint _probes;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_options.BypassForBenchmark)
        {
            LogBypassedForBenchmark();
        }

        partitions.Changed += queue.PartitionsChanged;
        try
        {
            await RelayUntilStoppedAsync(stoppingToken);
        }
        finally
        {
            partitions.Changed -= queue.PartitionsChanged;
        }

        // Every confirmed row's mark, so a graceful stop does not publish those rows again after a restart.
        await queue.FlushMarksAsync();
    }

    private async Task RelayUntilStoppedAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            int handled;
            try
            {
                handled = await RelayRoundAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                LogRelayRoundFailed(ex);
                handled = 0;
            }

            if (handled == _options.BatchSize && _outageDelay == TimeSpan.Zero)
            {
                continue;
            }

            try
            {
                // A commit wakes the relay even while the broker is down, so it never sleeps through new rows.
                await signal.WaitAsync(NextWait(), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <returns>How many rows this round tried to publish.</returns>
    private async Task<int> RelayRoundAsync(CancellationToken cancellationToken)
    {
        if (queue.MarkNeedsRetry && !await queue.FlushMarksAsync())
        {
            _outageDelay = LongerOutageDelay();
        }

        var rows = await queue.NextBatchAsync();
        if (rows.Count == 0)
        {
            return 0;
        }

        if (_outageDelay > TimeSpan.Zero && rows.Count > 1)
        {
            rows = await ProbeAsync(rows);
        }

        // MassTransit does not keep the order in which concurrent publishes start, so order comes from lanes: the
        // rows of one end user always share a lane, and a lane publishes one row after the broker confirmed the
        // one before. With one lane the broker sees every row in commit order.
        var publishes = new Task[rows.Count];
        var lanes = new Task?[_options.PublishLanes];
        for (var i = 0; i < rows.Count; i++)
        {
            var lane = LaneOf(rows[i]);
            publishes[i] = lanes[lane] = PublishAfterAsync(lanes[lane], rows[i], cancellationToken);
        }

        try
        {
            await Task.WhenAll(publishes);
        }
        catch
        {
            // Each task's own exception is read below.
        }

        await SettleAsync(rows, publishes, cancellationToken);
        return rows.Count;
    }

    /// <summary>
    /// While the broker is down, one row probes it: a publish abandoned at its confirm timeout still goes out once the
    /// broker is back, so every row tried in an outage round is one more duplicate. The probe is the first row of an
    /// end user (order holds) and rotates, so one row that only looks like an outage cannot hold up everybody.
    /// </summary>
    private async Task<IReadOnlyList<PendingMessage>> ProbeAsync(IReadOnlyList<PendingMessage> rows)
    {
        var heads = rows.DistinctBy(row => row.OrderingKey ?? row.CorrelationId).ToList();
        var probe = heads[(int)(_probes++ % (uint)heads.Count)];
        await queue.ReturnAsync([.. rows.Where(row => row.Sequence != probe.Sequence).Select(row => row.Sequence)], []);
        return [probe];
    }

    /// <summary>Gives the rows the broker did not confirm back to the queue, with the failures among them.</summary>
    private async Task SettleAsync(IReadOnlyList<PendingMessage> rows, Task[] publishes, CancellationToken cancellationToken)
    {
        List<long>? unconfirmed = null;
        for (var i = 0; i < rows.Count; i++)
        {
            if (!publishes[i].IsCompletedSuccessfully)
            {
                (unconfirmed ??= []).Add(rows[i].Sequence);
            }
        }

        if (unconfirmed is null)
        {
            _outageDelay = TimeSpan.Zero;
            return;
        }

        var failures = new List<PublishFailure>();
        var outage = false;
        try
        {
            var now = time.GetUtcNow();
            var anySucceeded = publishes.Any(p => p.IsCompletedSuccessfully);
            for (var i = 0; i < rows.Count; i++)
            {
                var exception = publishes[i].Exception?.GetBaseException();
                if (publishes[i].IsCompletedSuccessfully || exception is HeldBackException
                    || (publishes[i].IsCanceled && cancellationToken.IsCancellationRequested))
                {
                    continue;
                }

                metrics.PublishFailed();
                var failure = Failure(rows[i], exception, anySucceeded, now);
                outage |= !failure.CountsAsAttempt;
                failures.Add(failure);
            }
        }
        finally
        {
            await queue.ReturnAsync(unconfirmed, failures);
        }

        _outageDelay = outage ? LongerOutageDelay() : TimeSpan.Zero;
        foreach (var parked in failures.Where(f => f.Park))
        {
            var row = rows.First(r => r.Sequence == parked.Sequence);
            metrics.Parked();
            LogParked(row.MessageId, row.MessageType, row.Attempts + 1, parked.Error);
        }
    }

    private PublishFailure Failure(PendingMessage row, Exception? exception, bool anySucceeded, DateTimeOffset now)
    {
        var error = exception is null ? "unknown error" : $"{exception.GetType().Name}: {exception.Message}";

        // A failure while the broker is demonstrably unavailable is the broker's, not the row's: it costs no attempt
        // and no back-off of its own, so a long outage parks nothing. The relay-wide pause paces such rounds instead.
        if (exception is not UnpublishableMessageException && !anySucceeded
            && (BrokerFailures.IsBrokerTrouble(exception) || !BrokerFailures.BusIsHealthy(bus)))
        {
            return new PublishFailure(row.Sequence, error, now, Park: false, CountsAsAttempt: false);
        }

        var attempts = row.Attempts + 1;
        var backoff = TimeSpan.FromTicks(Math.Min(
            _options.RetryBaseDelay.Ticks * (1L << Math.Min(attempts - 1, 30)),
            _options.RetryMaxDelay.Ticks));
        return new PublishFailure(row.Sequence, error, now + backoff, Park: attempts >= _options.MaxAttempts);
    }

    private TimeSpan NextWait()
    {
        var wait = _outageDelay > TimeSpan.Zero ? _outageDelay : _options.PollInterval;
        if (queue.RetryAt is { } retryAt)
        {
            var untilRetry = retryAt - time.GetUtcNow();
            wait = untilRetry < wait ? untilRetry : wait;
        }

        return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
    }

    private TimeSpan LongerOutageDelay() => TimeSpan.FromTicks(Math.Min(
        Math.Max(_outageDelay.Ticks * 2, TimeSpan.FromMilliseconds(100).Ticks),
        Math.Min(_options.RetryMaxDelay.Ticks, MaxOutageDelay.Ticks)));

    private int LaneOf(PendingMessage row) =>
        (int)((uint)StringComparer.Ordinal.GetHashCode(row.OrderingKey ?? row.CorrelationId) % (uint)_options.PublishLanes);

    private async Task PublishAfterAsync(Task? previous, PendingMessage row, CancellationToken cancellationToken)
    {
        if (previous is not null)
        {
            try
            {
                await previous;
            }
            catch (Exception ex)
            {
                throw new HeldBackException(ex);
            }
        }

        await OutboxPublishing.PublishAsync(bus, row, cancellationToken);
        queue.Confirmed(row.Sequence);

        // At the confirm itself, not at the end of the round: a round lasts as long as its slowest lane.
        metrics.Published((time.GetUtcNow() - (row.CommittedAt ?? UnixTime.FromMs(row.CreatedAt))).TotalMilliseconds);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox message {MessageId} ({MessageType}) parked after {Attempts} attempts: {Error}")]
    private partial void LogParked(string messageId, string messageType, int attempts, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox:BypassForBenchmark is on: events are published straight from the consumers, " +
        "without the outbox's guarantees. This switch exists for the benchmark only; never use it in production")]
    private partial void LogBypassedForBenchmark();

    [LoggerMessage(Level = LogLevel.Warning, Message = "An outbox relay round failed; retrying")]
    private partial void LogRelayRoundFailed(Exception exception);
}
