using MassTransit;
using Kombo.Worker.Storage;
using Kombo.Worker.Telemetry;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Outbox;

/// <summary>
/// Publishes committed outbox rows with publisher confirms, in commit order per end user, on parallel lanes, and marks
/// each round sent in one transaction. A row is "sent" only once the broker confirmed it, so delivery is at least once; the stored
/// message id lets subscribers drop the duplicates that a crash between confirm and mark can cause.
/// </summary>
public sealed partial class OutboxRelay(
    IBus bus,
    SqliteDatabase database,
    SqliteWriter writer,
    OutboxSignal signal,
    CommittedRows committedRows,
    IOptions<OutboxOptions> options,
    TimeProvider time,
    WorkerMetrics metrics,
    ILogger<OutboxRelay> logger) : BackgroundService
{
    private readonly OutboxOptions _options = options.Value;
    private TimeSpan _outageDelay = TimeSpan.Zero;

    // Rows the broker confirmed whose "sent" mark is still being committed. A fully successful round does not wait
    // for its mark: the next round publishes meanwhile and leaves these rows out, so no row goes out twice.
    private readonly Lock _markingLock = new();
    private readonly HashSet<long> _marking = [];
    private Task _previousMark = Task.CompletedTask;

    // Rows the broker confirmed whose mark failed (a full or read-only disk): they are marked again with the next
    // round, never published again, so an outage of the disk does not turn into a stream of duplicates.
    private readonly HashSet<long> _unmarked = [];

    private readonly RelayRows _rows = new(committedRows, database, options.Value, time);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_options.BypassForBenchmark)
        {
            LogBypassedForBenchmark();
        }

        await RelayUntilStoppedAsync(stoppingToken);

        // The last round's mark, so a graceful stop does not publish those rows again after a restart.
        await _previousMark;
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
                var wait = _outageDelay > TimeSpan.Zero ? _outageDelay : _options.PollInterval;
                if (_outageDelay > TimeSpan.Zero)
                {
                    await Task.Delay(wait, time, stoppingToken);
                }
                else
                {
                    await signal.WaitAsync(wait, stoppingToken);
                }
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
        // Taken before the read: a row that left this set before the read began was marked before it, so the read
        // cannot see it as due.
        HashSet<long> marking;
        List<long> unmarked;
        lock (_markingLock)
        {
            marking = [.. _marking, .. _unmarked];
            unmarked = [.. _unmarked];
        }

        var rows = _rows.Next(marking);

        if (rows.Count == 0)
        {
            if (unmarked.Count > 0)
            {
                await _previousMark;
                await MarkAgainAsync(unmarked);
            }

            return 0;
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

        cancellationToken.ThrowIfCancellationRequested();
        var now = time.GetUtcNow();
        var sent = new List<long>(rows.Count);
        var failures = new List<PublishFailure>();
        var anySucceeded = publishes.Any(p => p.IsCompletedSuccessfully);
        for (var i = 0; i < rows.Count; i++)
        {
            if (publishes[i].IsCompletedSuccessfully)
            {
                sent.Add(rows[i].Sequence);
            }
            else if (publishes[i].Exception?.GetBaseException() is not HeldBackException)
            {
                metrics.PublishFailed();
                failures.Add(Failure(rows[i], publishes[i].Exception?.GetBaseException(), anySucceeded, now));
            }
        }

        // Marks commit in round order, so at most this round's and the previous round's rows await their mark: that
        // bounds the rows a crash can publish twice. (Not waiting measured no faster: A/B of 3 runs each, 2026-11-30.)
        await _previousMark;
        sent.AddRange(unmarked);
        lock (_markingLock)
        {
            _marking.UnionWith(sent);
        }

        var mark = ForgetWhenMarkedAsync(writer.WriteAsync((connection, transaction) =>
        {
            OutboxStore.MarkSent(connection, transaction, sent, now);
            OutboxStore.RecordFailures(connection, transaction, failures, now);
            return true;
        }, CancellationToken.None), sent);

        if (failures.Count > 0 || sent.Count < rows.Count + unmarked.Count)
        {
            // A failure's back-off (and the order it holds for its end user) must be committed before the next read,
            // and only the table knows which rows it holds back.
            _rows.SweepNext();
            if (!await mark)
            {
                throw new InvalidOperationException("The outbox could not record this round's results; it is retried.");
            }
        }
        else
        {
            _previousMark = mark;
        }

        _outageDelay = anySucceeded || failures.Count == 0 ? TimeSpan.Zero : LongerOutageDelay();

        foreach (var parked in failures.Where(f => f.Park))
        {
            var row = rows.First(r => r.Sequence == parked.Sequence);
            metrics.Parked();
            LogParked(row.MessageId, row.MessageType, row.Attempts + 1, parked.Error);
        }

        return rows.Count;
    }

    private PublishFailure Failure(PendingMessage row, Exception? exception, bool brokerReachable, DateTimeOffset now)
    {
        var attempts = row.Attempts + 1;
        var backoff = TimeSpan.FromTicks(Math.Min(
            _options.RetryBaseDelay.Ticks * (1L << Math.Min(attempts - 1, 30)),
            _options.RetryMaxDelay.Ticks));

        // When nothing at all got through, the broker is the problem, not this row: such rounds never park a row,
        // so a long broker outage leaves every row pending until it returns.
        var rowSpecific = exception is UnpublishableMessageException || brokerReachable;
        var error = exception is null ? "unknown error" : $"{exception.GetType().Name}: {exception.Message}";
        return new PublishFailure(row.Sequence, error, now + backoff, Park: rowSpecific && attempts >= _options.MaxAttempts);
    }

    /// <returns>Whether the mark committed.</returns>
    private async Task<bool> ForgetWhenMarkedAsync(Task mark, List<long> sequences)
    {
        var marked = false;
        try
        {
            await mark;
            marked = true;
        }
        catch (Exception ex)
        {
            LogMarkFailed(ex, sequences.Count);
        }
        finally
        {
            lock (_markingLock)
            {
                _marking.ExceptWith(sequences);
                if (marked)
                {
                    _unmarked.ExceptWith(sequences);
                }
                else
                {
                    _unmarked.UnionWith(sequences);
                }
            }
        }

        return marked;
    }

    private async Task MarkAgainAsync(List<long> sequences)
    {
        var now = time.GetUtcNow();
        var marked = await ForgetWhenMarkedAsync(
            writer.WriteAsync((connection, transaction) =>
            {
                OutboxStore.MarkSent(connection, transaction, sequences, now);
                return true;
            }, CancellationToken.None),
            sequences);
        _outageDelay = marked ? TimeSpan.Zero : LongerOutageDelay();
    }

    private TimeSpan LongerOutageDelay() =>
        TimeSpan.FromTicks(Math.Min(Math.Max(_outageDelay.Ticks * 2, TimeSpan.FromMilliseconds(100).Ticks), _options.RetryMaxDelay.Ticks));

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

        // At the confirm itself, not at the end of the round: a round lasts as long as its slowest lane.
        metrics.Published((time.GetUtcNow() - (row.CommittedAt ?? UnixTime.FromMs(row.CreatedAt))).TotalMilliseconds);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox message {MessageId} ({MessageType}) parked after {Attempts} attempts: {Error}")]
    private partial void LogParked(string messageId, string messageType, int attempts, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox:BypassForBenchmark is on: events are published straight from the consumers, " +
        "without the outbox's guarantees. This switch exists for the benchmark only; never use it in production")]
    private partial void LogBypassedForBenchmark();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not mark {Rows} published outbox rows as sent; the mark is retried (after a restart they are published again)")]
    private partial void LogMarkFailed(Exception exception, int rows);

    [LoggerMessage(Level = LogLevel.Warning, Message = "An outbox relay round failed; retrying")]
    private partial void LogRelayRoundFailed(Exception exception);
}

/// <summary>Not attempted this round because an earlier row in its lane failed; costs no attempt.</summary>
internal sealed class HeldBackException(Exception cause) : Exception("An earlier message of the same end user failed.", cause);

/// <summary>A stored row that can never be published as it is (unknown type, corrupt body).</summary>
public sealed class UnpublishableMessageException(string message) : Exception(message);
