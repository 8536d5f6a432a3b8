namespace Kombo.Worker.Outbox;

/// <summary>
/// Outbox rows handed to the relay by the writer thread, in commit order, the moment their commit is durable, so the
/// relay publishes them without reading them back. The table stays the source of truth: once a row does not fit, every
/// row is left to the table until the relay's next sweep of it.
/// </summary>
internal sealed class CommittedRows(OutboxSignal signal, TimeProvider time)
{
    /// <summary>Rows held at most; a relay that falls this far behind reads the table instead.</summary>
    public const int Capacity = 10_000;

    private readonly Lock _lock = new();
    private readonly Queue<PendingMessage> _rows = new();
    private bool _overflowed;

    // The last row a sweep read. A commit is visible to a sweep a moment before the writer hands its rows over here,
    // so rows up to this one may arrive after the sweep that published them.
    private long _sweptThrough;

    /// <summary>Called on the writer thread right after the commit holding <paramref name="rows"/>.</summary>
    public void Add(IReadOnlyList<PendingMessage> rows)
    {
        var committedAt = time.GetUtcNow();
        lock (_lock)
        {
            // A later row of an end user must never overtake a dropped one: after the first drop, all wait for the sweep.
            _overflowed |= _rows.Count + rows.Count > Capacity;
            if (!_overflowed)
            {
                foreach (var row in rows.Where(row => row.Sequence > _sweptThrough))
                {
                    _rows.Enqueue(row with { CommittedAt = committedAt });
                }
            }
        }

        signal.Notify();
    }

    /// <returns>Up to <paramref name="max"/> rows in commit order, or null when rows were left to the table.</returns>
    public List<PendingMessage>? TryTake(int max)
    {
        lock (_lock)
        {
            if (_overflowed)
            {
                return null;
            }

            var taken = new List<PendingMessage>(Math.Min(max, _rows.Count));
            while (taken.Count < max && _rows.TryDequeue(out var row))
            {
                taken.Add(row);
            }

            return taken;
        }
    }

    /// <summary>
    /// A sweep of the table is about to read it: the rows dropped so far are committed, so the read sees them, and
    /// rows from now on are held again.
    /// </summary>
    public void BeginSweep()
    {
        lock (_lock)
        {
            _overflowed = false;
        }
    }

    /// <summary>Drops, now and when they arrive, the rows up to <paramref name="sequence"/>: the sweep read them or left them to the table.</summary>
    /// <returns>The rows dropped now, with their commit time.</returns>
    public List<PendingMessage> DropThrough(long sequence)
    {
        var dropped = new List<PendingMessage>();
        lock (_lock)
        {
            _sweptThrough = Math.Max(_sweptThrough, sequence);
            while (_rows.TryPeek(out var row) && row.Sequence <= sequence)
            {
                dropped.Add(_rows.Dequeue());
            }
        }

        return dropped;
    }
}
