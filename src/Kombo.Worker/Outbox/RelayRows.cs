using Kombo.Worker.Storage;

namespace Kombo.Worker.Outbox;

/// <summary>
/// Which rows the relay's next round publishes: rows handed over by <see cref="CommittedRows"/> as they commit, or a
/// sweep of the table at start, every poll interval and after anything went wrong, which brings back every row the
/// handover missed (rows from before a restart, back-offs, rows held behind a failure, rows that did not fit).
/// </summary>
internal sealed class RelayRows(CommittedRows committedRows, IDatabase database, OutboxOptions options, TimeProvider time)
{
    private bool _sweepNeeded = true;
    private DateTimeOffset _nextSweepAt = DateTimeOffset.MinValue;

    // End users with an earlier row backing off or parked, as of the last sweep: their new rows keep the table's order.
    private HashSet<string> _heldOrderingKeys = [];

    /// <summary>The next round reads the table.</summary>
    public void SweepNext() => _sweepNeeded = true;

    /// <param name="excluded">Rows published already, whose sent mark is not yet committed.</param>
    public IReadOnlyList<PendingMessage> Next(IReadOnlySet<long> excluded)
    {
        if (!_sweepNeeded && time.GetUtcNow() < _nextSweepAt && committedRows.TryTake(options.BatchSize) is { } committed)
        {
            return _heldOrderingKeys.Count == 0 ? committed : [.. committed.Where(NotHeld)];
        }

        return Sweep(excluded);
    }

    private bool NotHeld(PendingMessage row) => row.OrderingKey is null || !_heldOrderingKeys.Contains(row.OrderingKey);

    private List<PendingMessage> Sweep(IReadOnlySet<long> excluded)
    {
        // Before the clock is read, so the read sees every row dropped until now.
        committedRows.BeginSweep();
        var now = time.GetUtcNow();
        var limit = options.BatchSize + excluded.Count;
        IReadOnlyList<PendingMessage> due;
        using (var connection = database.Open())
        {
            due = OutboxStore.ReadDue(connection, now, limit);
            _heldOrderingKeys = OutboxStore.ReadHeldOrderingKeys(connection);
        }

        var unpublished = due.Where(row => !excluded.Contains(row.Sequence)).ToList();
        _sweepNeeded = due.Count == limit || unpublished.Count > options.BatchSize;
        _nextSweepAt = now + options.PollInterval;
        if (due.Count == 0)
        {
            return [];
        }

        // Handed-over rows up to the last one read are either in this read or held back by the table; those read keep
        // their commit time for the relay latency.
        var handedOver = committedRows.DropThrough(due[^1].Sequence).ToDictionary(row => row.Sequence);
        return [.. unpublished.Take(options.BatchSize).Select(row => handedOver.GetValueOrDefault(row.Sequence, row))];
    }
}
