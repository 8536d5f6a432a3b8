namespace Kombo.Worker.Outbox;

/// <summary>
/// Outbox rows handed to the relay by the writer thread, in commit order, the moment their commit is durable, so the
/// relay publishes them without reading them back. The table stays the source of truth: once a row does not fit, every
/// row is left to the table until the relay's next sweep of it.
/// </summary>
public sealed class CommittedRows(OutboxSignal signal, TimeProvider time)
{
    /// <summary>Rows held at most; a relay that falls this far behind reads the table instead.</summary>
    public const int Capacity = 10_000;

    private readonly Lock _lock = new();
    private readonly Queue<PendingMessage> _rows = new();
    private bool _overflowed;

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
                foreach (var row in rows)
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

    /// <returns>The rows the sweep read or left to the table, handed over as they committed.</returns>
    public List<PendingMessage> DropThrough(long sequence)
    {
        var dropped = new List<PendingMessage>();
        lock (_lock)
        {
            while (_rows.TryPeek(out var row) && row.Sequence <= sequence)
            {
                dropped.Add(_rows.Dequeue());
            }
        }

        return dropped;
    }
}
