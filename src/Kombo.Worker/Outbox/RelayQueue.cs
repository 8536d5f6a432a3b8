using Kombo.Worker.Storage;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Outbox;

/// <summary>
/// Decides which outbox rows the relay publishes next, and marks them sent. Rows come from the writer the moment their
/// commit is durable (<see cref="Add"/>), so the relay publishes them without reading them back, or from a sweep of the
/// table, which stays the source of truth. The relay takes a batch (<see cref="NextBatchAsync"/>), reports each row the
/// broker confirmed (<see cref="Confirmed"/>) and gives back the rest (<see cref="ReturnAsync"/>).
/// <list type="bullet">
/// <item>Commit order per end user: rows are handed out in commit order. A handed-over row whose end user has an
/// earlier row that failed, backs off or is parked (as of the last sweep) is left to the table, whose due query keeps
/// it behind that row. Once a row did not fit (<see cref="Capacity"/>), every row is left to the table until the next
/// sweep, so none overtakes a dropped one. The relay's lanes keep the order on the wire.</item>
/// <item>Never handed out twice while in flight: a row stays outstanding from the moment it is handed out until its
/// sent mark is committed or it is given back. A sweep skips outstanding rows, and a row handed over after a sweep read
/// it (a commit is visible a moment before the writer hands its rows over) is dropped.</item>
/// <item>Confirmed means never published again by this process: a failed mark (a full or read-only disk) keeps its rows
/// outstanding and is retried (<see cref="FlushMarksAsync"/>).</item>
/// <item>Rows are given back only once the write of the failures among them ended, so the next sweep sees their
/// back-offs and the order they hold for their end users.</item>
/// <item>The table is swept at start, every poll interval, after any row was given back, when the earliest back-off
/// comes due, and while more rows are due than a batch holds. A sweep brings back every row the hand-over missed: rows
/// from before a restart, back-offs, rows held behind a failure, rows that did not fit.</item>
/// <item>Marks are batched: while one mark commits, the confirms that arrive meanwhile gather for the next. A crash
/// publishes again at most the rows of those two marks and the publishes in flight (delivery is at least once; the
/// stored message id lets subscribers drop repeats). A graceful stop waits for the marks.</item>
/// <item>Only owned partitions (<see cref="IOutboxPartitions"/>): rows committed here in another instance's partition
/// wake that instance instead, a partition gained is swept, and handed-over rows of a partition lost are left to its
/// new owner. On a shared database (PostgreSQL) a commit here asks for a sweep instead of handing its rows over: an
/// earlier row of the same end user may have committed on another instance, and only the table, read in sequence
/// order, has it (sequences are taken at insert, so a transaction that began after another committed sorts after
/// it). A failure is recorded only while this instance's owner session still holds the row's partition: a stale owner
/// never backs off or parks a row its successor publishes.</item>
/// </list>
/// One lock guards all of it, and nothing waits under it. <see cref="NextBatchAsync"/> has one caller at a time (the
/// relay's loop); everything else may be called from any thread.
/// </summary>
internal sealed partial class RelayQueue(
    IDatabase database,
    IDatabaseWriter writer,
    IOutboxPartitions partitions,
    OutboxSignal signal,
    IOptions<OutboxOptions> options,
    TimeProvider time,
    ILogger<RelayQueue> logger)
{
    /// <summary>Handed-over rows held at most; a relay that falls this far behind reads the table instead.</summary>
    public const int Capacity = 10_000;

    private readonly OutboxOptions _options = options.Value;
    private readonly Lock _lock = new();

    // The hand-over, and the last row a sweep read (rows up to it may still arrive from the writer).
    private readonly Queue<PendingMessage> _handedOver = new();
    private bool _overflowed;
    private long _sweptThrough;

    // When the next batch is a sweep, and the end users held behind a failed row as of the last one.
    private bool _sweepNeeded = true;
    private DateTimeOffset _nextSweepAt = DateTimeOffset.MinValue;
    // When rows that failed on their own come due again; several, so that one coming due never hides a later one.
    private readonly SortedSet<DateTimeOffset> _retries = [];
    private HashSet<string> _heldOrderingKeys = [];

    // Rows handed out and not yet marked or given back; the confirmed ones among them wait in _unmarked for a mark.
    private readonly HashSet<long> _outstanding = [];
    private List<long> _unmarked = [];
    private Task _marking = Task.CompletedTask;
    private bool _markInFlight;
    private bool _markFailed;

    /// <summary>When the first row that failed on its own comes due again: the relay wakes then, not a poll later.</summary>
    public DateTimeOffset? RetryAt
    {
        get
        {
            lock (_lock)
            {
                return _retries.Count > 0 ? _retries.Min : null;
            }
        }
    }

    /// <summary>Whether a mark failed and its rows wait to be marked again.</summary>
    public bool MarkNeedsRetry
    {
        get
        {
            lock (_lock)
            {
                return _markFailed && !_markInFlight;
            }
        }
    }

    /// <summary>Called on the writer thread right after the commit holding <paramref name="rows"/>, in commit order.</summary>
    public void Add(IReadOnlyList<PendingMessage> rows)
    {
        var committedAt = time.GetUtcNow();
        lock (_lock)
        {
            _overflowed |= _handedOver.Count + rows.Count > Capacity;
            if (!_overflowed)
            {
                foreach (var row in rows)
                {
                    if (!partitions.Owns(row.PartitionId))
                    {
                        partitions.WakeOwner(row.PartitionId);
                    }
                    else if (database.IsShared)
                    {
                        // Another instance may have committed an earlier row of this end user, which only the table
                        // shows while its wake-up is on its way: on a shared database the table decides the order.
                        _sweepNeeded = true;
                    }
                    else if (row.Sequence > _sweptThrough)
                    {
                        _handedOver.Enqueue(row with { CommittedAt = committedAt });
                    }
                }
            }
        }

        signal.Notify();
    }

    /// <summary>The partitions owned changed, or another instance committed rows in one: the next batch is a sweep.</summary>
    public void PartitionsChanged()
    {
        lock (_lock)
        {
            _sweepNeeded = true;
        }

        signal.Notify();
    }

    /// <summary>The next rows to publish: handed-over ones, or a read of the table when a sweep is due.</summary>
    /// <returns>Up to a batch of rows in commit order, now outstanding; empty when nothing is due.</returns>
    public ValueTask<IReadOnlyList<PendingMessage>> NextBatchAsync()
    {
        var now = time.GetUtcNow();
        HashSet<long> outstanding;
        lock (_lock)
        {
            while (_retries.Count > 0 && _retries.Min <= now)
            {
                _retries.Remove(_retries.Min);
                _sweepNeeded = true;
            }

            if (!_sweepNeeded && now < _nextSweepAt && !_overflowed)
            {
                return ValueTask.FromResult<IReadOnlyList<PendingMessage>>(TakeHandedOver());
            }

            // Copied before the read: a row that stopped being outstanding before now was marked, or had its failure
            // committed, before the read begins. Rows the hand-over dropped so far are committed too.
            outstanding = [.. _outstanding];
            _overflowed = false;
            _sweepNeeded = false;
        }

        return ValueTask.FromResult<IReadOnlyList<PendingMessage>>(Sweep(outstanding));
    }

    /// <summary>The broker confirmed the row: it is marked sent with the next mark.</summary>
    public void Confirmed(long sequence)
    {
        lock (_lock)
        {
            _unmarked.Add(sequence);
            if (!_markInFlight)
            {
                StartMark();
            }
        }
    }

    /// <summary>
    /// Gives back rows handed out but not confirmed, once the failures among them are committed: the table has them
    /// again, and the next batch is a sweep of it.
    /// </summary>
    public async Task ReturnAsync(IReadOnlyCollection<long> unconfirmed, IReadOnlyList<PublishFailure> failures)
    {
        try
        {
            if (failures.Count > 0)
            {
                var now = time.GetUtcNow();
                var owner = partitions.Owner;
                await writer.WriteAsync((connection, transaction) =>
                {
                    OutboxStore.RecordFailures(connection, transaction, failures, now, owner);
                    return true;
                }, CancellationToken.None);
                ScheduleRetry(failures);
            }
        }
        finally
        {
            lock (_lock)
            {
                _outstanding.ExceptWith(unconfirmed);
                _sweepNeeded = true;
            }
        }
    }

    /// <summary>Waits until every row confirmed so far is marked, retrying a failed mark once.</summary>
    /// <returns>Whether no confirmed row is left unmarked.</returns>
    public async Task<bool> FlushMarksAsync()
    {
        var retried = false;
        while (true)
        {
            Task marking;
            lock (_lock)
            {
                if (!_markInFlight)
                {
                    if (_unmarked.Count == 0)
                    {
                        return true;
                    }

                    if (retried)
                    {
                        return false;
                    }

                    retried = true;
                    StartMark();
                }

                marking = _marking;
            }

            await marking;
        }
    }

    private List<PendingMessage> TakeHandedOver()
    {
        var taken = new List<PendingMessage>(Math.Min(_options.BatchSize, _handedOver.Count));
        for (var i = 0; i < _options.BatchSize && _handedOver.TryDequeue(out var row); i++)
        {
            if (!partitions.Owns(row.PartitionId))
            {
                continue;
            }

            if (row.OrderingKey is null || !_heldOrderingKeys.Contains(row.OrderingKey))
            {
                taken.Add(row);
                _outstanding.Add(row.Sequence);
            }
        }

        return taken;
    }

    private List<PendingMessage> Sweep(HashSet<long> outstanding)
    {
        var now = time.GetUtcNow();
        var limit = _options.BatchSize + outstanding.Count;
        IReadOnlyList<PendingMessage> due;
        HashSet<string> held;
        var owned = partitions.Owned;
        try
        {
            if (owned is { Count: 0 })
            {
                (due, held) = ([], []);
            }
            else
            {
                using var connection = database.Open();
                due = OutboxStore.ReadDue(connection, now, limit, owned);
                held = OutboxStore.ReadHeldOrderingKeys(connection, owned);
            }
        }
        catch
        {
            lock (_lock)
            {
                _sweepNeeded = true;
            }

            throw;
        }

        var unpublished = due.Where(row => !outstanding.Contains(row.Sequence)).ToList();
        var read = due.Select(row => row.Sequence).ToHashSet();
        List<PendingMessage>? dropped = null;
        lock (_lock)
        {
            _heldOrderingKeys = held;
            _sweepNeeded |= due.Count == limit || unpublished.Count > _options.BatchSize;
            _nextSweepAt = now + _options.PollInterval;
            if (due.Count == 0)
            {
                return [];
            }

            // The rows read leave the hand-over wherever they are queued (a commit is visible a moment before the
            // writer hands its rows over): a row left there would go out twice.
            _sweptThrough = Math.Max(_sweptThrough, due[^1].Sequence);
            for (var queued = _handedOver.Count; queued > 0; queued--)
            {
                var row = _handedOver.Dequeue();
                if (read.Contains(row.Sequence))
                {
                    (dropped ??= []).Add(row);
                }
                else
                {
                    _handedOver.Enqueue(row);
                }
            }

            foreach (var row in unpublished.Take(_options.BatchSize))
            {
                _outstanding.Add(row.Sequence);
            }
        }

        // Those read keep their commit time, for the relay latency.
        var handedOver = dropped?.ToDictionary(row => row.Sequence);
        return [.. unpublished.Take(_options.BatchSize).Select(row => handedOver?.GetValueOrDefault(row.Sequence) ?? row)];
    }

    private void ScheduleRetry(IReadOnlyList<PublishFailure> failures)
    {
        lock (_lock)
        {
            foreach (var failure in failures)
            {
                if (failure.CountsAsAttempt && !failure.Park)
                {
                    _retries.Add(failure.NextAttemptAt);
                }
            }
        }
    }

    // Under the lock.
    private void StartMark()
    {
        var batch = _unmarked;
        _unmarked = [];
        _markInFlight = true;
        _marking = MarkAsync(batch);
    }

    private async Task MarkAsync(List<long> batch)
    {
        try
        {
            var now = time.GetUtcNow();
            await writer.WriteAsync((connection, transaction) =>
            {
                OutboxStore.MarkSent(connection, transaction, batch, now);
                return true;
            }, CancellationToken.None);
        }
        catch (Exception ex)
        {
            LogMarkFailed(ex, batch.Count);
            MarkFailed(batch);
            return;
        }

        MarkCommitted(batch);
    }

    private void MarkCommitted(List<long> batch)
    {
        lock (_lock)
        {
            _markInFlight = false;
            _markFailed = false;
            _outstanding.ExceptWith(batch);
            if (_unmarked.Count > 0)
            {
                StartMark();
            }
        }
    }

    private void MarkFailed(List<long> batch)
    {
        lock (_lock)
        {
            // Marked again later, never published again: a disk outage must not turn into a stream of duplicates.
            _markInFlight = false;
            _markFailed = true;
            _unmarked.AddRange(batch);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not mark {Rows} published outbox rows as sent; the mark is retried (after a restart they are published again)")]
    private partial void LogMarkFailed(Exception exception, int rows);
}
