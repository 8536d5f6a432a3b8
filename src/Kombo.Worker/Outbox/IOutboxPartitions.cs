namespace Kombo.Worker.Outbox;

/// <summary>
/// The outbox partitions (<see cref="OutboxPartition"/>) this instance publishes. On SQLite it owns them all; on a
/// shared PostgreSQL database each live instance holds a fair share (<see cref="PostgreSqlOutboxPartitions"/>).
/// </summary>
internal interface IOutboxPartitions
{
    /// <summary>The partitions owned now; a new list on every change, never changed in place.</summary>
    IReadOnlyList<short> Owned { get; }

    /// <summary>
    /// Raised after <see cref="Owned"/> changed (the relay sweeps the table for partitions it gained, and stops
    /// publishing those it lost), and when another instance committed rows in owned partitions.
    /// </summary>
    event Action? Changed;
}

/// <summary>One instance on its own file: every partition is its own, always.</summary>
internal sealed class AllOutboxPartitions : IOutboxPartitions
{
    public IReadOnlyList<short> Owned { get; } = [.. Enumerable.Range(0, OutboxPartition.Count).Select(p => (short)p)];

    public event Action? Changed
    {
        add { }
        remove { }
    }
}
