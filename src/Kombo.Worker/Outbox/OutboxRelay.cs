using Kombo.Worker.Operations;
using Kombo.Worker.Storage;
using MassTransit;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Outbox;

/// <summary>
/// Publishes the rows <see cref="RelayQueue"/> hands out, with publisher confirms, on parallel lanes that keep each end
/// user's commit order, and reports each confirm back to the queue, which marks the row sent. Rounds overlap: the next
/// round starts while the last one waits for its confirms, two rounds at most, and rounds are settled in the order
/// they started. Failures cost an attempt and a back-off unless the broker is demonstrably down; during such an outage
/// the relay runs one round at a time, pauses between rounds and probes the broker with one row. A row whose partition
/// went to another instance while it waited for its lane is not published; it is given back as it was.
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

    private const int MaxRoundsInFlight = 2;

    private readonly OutboxOptions _options = options.Value;
    private TimeSpan _outageDelay = TimeSpan.Zero;
    private uint _probes;

    // Rounds started and not yet settled, oldest first.
    private readonly Queue<Round> _rounds = new();

    // Each lane's last publish, across rounds, and each end user's rows in unsettled rounds (by sequence).
    private Task?[] _lanes = [];
    private readonly Dictionary<string, List<(long Sequence, Task Publish)>> _inFlightByKey = new(StringComparer.Ordinal);

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
        _lanes = new Task?[_options.PublishLanes];
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var full = false;
                try
                {
                    await SettleFinishedRoundsAsync(stoppingToken);
                    if (CanStartRound())
                    {
                        full = await StartRoundAsync(stoppingToken) == _options.BatchSize;
                    }
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception ex)
                {
                    LogRelayRoundFailed(ex);
                }

                if (full && CanStartRound())
                {
                    continue;
                }

                try
                {
                    await WaitAsync(stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        finally
        {
            // Publishes end with the stop; what they did is settled so the queue has every row back or confirmed.
            while (_rounds.TryDequeue(out var round))
            {
                await round.Done;
                try
                {
                    await SettleAsync(round, stoppingToken);
                }
                catch (Exception ex)
                {
                    LogRelayRoundFailed(ex);
                }
            }
        }
    }

    // Two rounds at most, so a crash or a stalled broker leaves at most two rounds of publishes to repeat; during an
    // outage one round at a time: each is a probe, and the next waits for its outcome.
    private bool CanStartRound() => _rounds.Count < (_outageDelay == TimeSpan.Zero ? MaxRoundsInFlight : 1);

    /// <summary>Until a commit signals new rows, the oldest round finishes, a back-off comes due or the poll interval passes.</summary>
    private async Task WaitAsync(CancellationToken stoppingToken)
    {
        if (_rounds.Count == 0)
        {
            // A commit wakes the relay even while the broker is down, so it never sleeps through new rows.
            await signal.WaitAsync(NextWait(), stoppingToken);
            return;
        }

        if (!CanStartRound())
        {
            await _rounds.Peek().Done;
            return;
        }

        // The signal's wait is cancelled once the round won, so no abandoned wait swallows the next signal.
        using var either = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var signalled = signal.WaitAsync(NextWait(), either.Token);
        await Task.WhenAny(signalled, _rounds.Peek().Done);
        either.Cancel();
        try
        {
            await signalled;
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task SettleFinishedRoundsAsync(CancellationToken cancellationToken)
    {
        while (_rounds.TryPeek(out var oldest) && (oldest.Done.IsCompleted || _outageDelay > TimeSpan.Zero))
        {
            await oldest.Done;
            await SettleAsync(_rounds.Dequeue(), cancellationToken);
        }
    }

    /// <returns>How many rows the round publishes.</returns>
    private async Task<int> StartRoundAsync(CancellationToken cancellationToken)
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
        // one before, in this round or an earlier one. With one lane the broker sees every row in commit order.
        var publishes = new Task[rows.Count];
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            var lane = LaneOf(row);
            publishes[i] = _lanes[lane] = PublishAfterAsync(_lanes[lane], EarlierInFlight(row), row, cancellationToken);
            InFlight(row).Add((row.Sequence, publishes[i]));
        }

        _rounds.Enqueue(new Round(rows, publishes, WhenAllEndedAsync(publishes)));
        return rows.Count;
    }

    // Each task's own exception is read when the round is settled.
    private static async Task WhenAllEndedAsync(Task[] publishes) =>
        await Task.WhenAll(publishes).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

    private List<(long Sequence, Task Publish)> InFlight(PendingMessage row)
    {
        var key = KeyOf(row);
        if (!_inFlightByKey.TryGetValue(key, out var rows))
        {
            _inFlightByKey[key] = rows = [];
        }

        return rows;
    }

    /// <summary>
    /// The publish of the end user's latest earlier row still in an unsettled round: this row goes out only if that
    /// one was confirmed. The first unsent row of an end user never waits on a failure, so a failure holds back only
    /// the rows behind it, and only until they are given back and read again in order.
    /// </summary>
    private Task? EarlierInFlight(PendingMessage row)
    {
        Task? earlier = null;
        var latest = long.MinValue;
        if (_inFlightByKey.TryGetValue(KeyOf(row), out var rows))
        {
            foreach (var (sequence, publish) in rows)
            {
                if (sequence < row.Sequence && sequence > latest)
                {
                    (earlier, latest) = (publish, sequence);
                }
            }
        }

        return earlier;
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
    private async Task SettleAsync(Round round, CancellationToken cancellationToken)
    {
        var (rows, publishes, _) = round;
        foreach (var row in rows)
        {
            var inFlight = _inFlightByKey[KeyOf(row)];
            inFlight.RemoveAll(entry => entry.Sequence == row.Sequence);
            if (inFlight.Count == 0)
            {
                _inFlightByKey.Remove(KeyOf(row));
            }
        }

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
                if (publishes[i].IsCompletedSuccessfully || exception is HeldBackException or PartitionNotOwnedException
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

    private static string KeyOf(PendingMessage row) => row.OrderingKey ?? row.CorrelationId;

    private int LaneOf(PendingMessage row) =>
        (int)((uint)StringComparer.Ordinal.GetHashCode(KeyOf(row)) % (uint)_options.PublishLanes);

    /// <param name="previous">The lane's last publish: it ends before this one starts (it is also earlier's).</param>
    /// <param name="earlier">The end user's latest earlier row in flight (<see cref="EarlierInFlight"/>).</param>
    private async Task PublishAfterAsync(Task? previous, Task? earlier, PendingMessage row, CancellationToken cancellationToken)
    {
        if (previous is not null)
        {
            await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (earlier is { IsCompletedSuccessfully: false })
        {
            throw new HeldBackException(earlier.Exception?.GetBaseException() ?? new OperationCanceledException());
        }

        // The partition may have gone to another instance while this row waited for its lane: it would publish the
        // row a second time at best, and out of order at worst.
        if (!partitions.Owns(row.PartitionId))
        {
            throw new PartitionNotOwnedException();
        }

        var started = time.GetUtcNow();
        await OutboxPublishing.PublishAsync(bus, row, cancellationToken);
        queue.Confirmed(row.Sequence);

        // At the confirm itself, not at the end of the round: a round lasts as long as its slowest lane.
        var confirmed = time.GetUtcNow();
        metrics.Published(confirmed - (row.CommittedAt ?? UnixTime.FromMs(row.CreatedAt)), confirmed - started);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox message {MessageId} ({MessageType}) parked after {Attempts} attempts: {Error}")]
    private partial void LogParked(string messageId, string messageType, int attempts, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox:BypassForBenchmark is on: events are published straight from the consumers, " +
        "without the outbox's guarantees. This switch exists for the benchmark only; never use it in production")]
    private partial void LogBypassedForBenchmark();

    [LoggerMessage(Level = LogLevel.Warning, Message = "An outbox relay round failed; retrying")]
    private partial void LogRelayRoundFailed(Exception exception);

    private sealed record Round(IReadOnlyList<PendingMessage> Rows, Task[] Publishes, Task Done);
}
