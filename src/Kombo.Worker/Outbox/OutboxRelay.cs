using Kombo.Worker.Operations;
using Kombo.Worker.Storage;
using MassTransit;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Outbox;

/// <summary>
/// Publishes committed outbox rows with publisher confirms, in commit order per end user, on parallel lanes, and marks
/// each row sent as soon as the broker confirmed it (<see cref="SentMarks"/>). A row is "sent" only once the broker
/// confirmed it, so delivery is at least once; the stored message id lets subscribers drop the duplicates that a crash
/// between confirm and mark can cause.
/// </summary>
internal sealed partial class OutboxRelay(
    IBus bus,
    IDatabase database,
    IDatabaseWriter writer,
    OutboxSignal signal,
    CommittedRows committedRows,
    IOptions<OutboxOptions> options,
    TimeProvider time,
    WorkerMetrics metrics,
    ILogger<OutboxRelay> logger) : BackgroundService
{
    /// <summary>Longest pause between rounds while the broker is down: the relay resumes within it once it is back.</summary>
    internal static readonly TimeSpan MaxOutageDelay = TimeSpan.FromSeconds(1);

    private readonly OutboxOptions _options = options.Value;
    private TimeSpan _outageDelay = TimeSpan.Zero;

    // When the first row that failed on its own comes due again: the relay sweeps then, not a poll interval later.
    private DateTimeOffset? _nextRetryAt;
    private uint _probes;
    private readonly SentMarks _marks = new(writer, time, logger);
    private readonly RelayRows _rows = new(committedRows, database, options.Value, time);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_options.BypassForBenchmark)
        {
            LogBypassedForBenchmark();
        }

        await RelayUntilStoppedAsync(stoppingToken);

        // Every confirmed row's mark, so a graceful stop does not publish those rows again after a restart.
        await _marks.FlushAsync();
    }

    private async Task RelayUntilStoppedAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            int handled;
            try
            {
                handled = await RelayOnceAsync(stoppingToken);
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
    internal async Task<int> RelayOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await RelayRoundAsync(cancellationToken);
        }
        catch
        {
            // Rows this round took from CommittedRows are now only in the table.
            _rows.SweepNext();
            throw;
        }
    }

    private async Task<int> RelayRoundAsync(CancellationToken cancellationToken)
    {
        if (_nextRetryAt <= time.GetUtcNow())
        {
            _nextRetryAt = null;
            _rows.SweepNext();
        }

        if (_marks.NeedRetry && !await _marks.FlushAsync())
        {
            _outageDelay = LongerOutageDelay();
        }

        // Taken before the read: a row that left this set before the read began was marked before it, so the read
        // cannot see it as due.
        var rows = _rows.Next(_marks.Unmarked());
        if (rows.Count == 0)
        {
            return 0;
        }

        if (_outageDelay > TimeSpan.Zero && rows.Count > 1)
        {
            // While the broker is down, one row probes it: a publish abandoned at its confirm timeout still goes out
            // once the broker is back, so every row tried in an outage round is one more duplicate. The probe is the
            // first row of an end user (order holds) and rotates, so one row that only looks like an outage cannot
            // hold up everybody. The rest stay in the table for the next sweep.
            var heads = rows.DistinctBy(row => row.OrderingKey ?? row.CorrelationId).ToList();
            rows = [heads[(int)(_probes++ % (uint)heads.Count)]];
            _rows.SweepNext();
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

        var now = time.GetUtcNow();
        var failures = new List<PublishFailure>();
        var anySucceeded = publishes.Any(p => p.IsCompletedSuccessfully);
        var outage = false;
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

        if (publishes.Any(p => !p.IsCompletedSuccessfully))
        {
            // A failure's back-off (and the order it holds for its end user) must be committed before the next read,
            // and only the table knows which rows it holds back.
            _rows.SweepNext();
        }

        if (failures.Count > 0)
        {
            await writer.WriteAsync((connection, transaction) =>
            {
                OutboxStore.RecordFailures(connection, transaction, failures, now);
                return true;
            }, CancellationToken.None);
        }

        _outageDelay = outage ? LongerOutageDelay() : TimeSpan.Zero;
        foreach (var failure in failures.Where(f => f.CountsAsAttempt && !f.Park))
        {
            _nextRetryAt = _nextRetryAt is { } earlier && earlier < failure.NextAttemptAt ? earlier : failure.NextAttemptAt;
        }

        foreach (var parked in failures.Where(f => f.Park))
        {
            var row = rows.First(r => r.Sequence == parked.Sequence);
            metrics.Parked();
            LogParked(row.MessageId, row.MessageType, row.Attempts + 1, parked.Error);
        }

        return rows.Count;
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
        if (_nextRetryAt is { } retryAt)
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
        _marks.Confirmed(row.Sequence);

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

/// <summary>Not attempted this round because an earlier row in its lane failed; costs no attempt.</summary>
internal sealed class HeldBackException(Exception cause) : Exception("An earlier message of the same end user failed.", cause);

/// <summary>A stored row that can never be published as it is (unknown type, corrupt body).</summary>
internal sealed class UnpublishableMessageException(string message) : Exception(message);
