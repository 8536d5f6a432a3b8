namespace Kombo.Worker.Outbox;

/// <summary>
/// The outbox partitions (<see cref="OutboxPartition"/>) this instance publishes. On SQLite it owns them all; on a
/// shared PostgreSQL database each live instance holds a fair share (<see cref="PostgreSqlOutboxPartitions"/>).
/// </summary>
internal interface IOutboxPartitions
{
    /// <summary>The partitions owned now, a new list on every change; null when this instance owns every one.</summary>
    IReadOnlyList<int>? Owned { get; }

    /// <summary>
    /// Raised after <see cref="Owned"/> changed (the relay sweeps the table for partitions it gained, and stops
    /// publishing those it lost), and when another instance committed rows in owned partitions.
    /// </summary>
    event Action? Changed;

    bool Owns(int partition);

    /// <summary>
    /// The session whose partition locks a failure write checks (<see cref="OutboxStore.RecordFailures"/>); null where
    /// every partition is this instance's for good.
    /// </summary>
    OwnerSession? Owner { get; }

    /// <summary>Rows were committed here in a partition another instance owns: tell it, rather than wait for its poll.</summary>
    void WakeOwner(int partition);
}

/// <summary>One instance on its own file: every partition is its own, always.</summary>
internal sealed class AllOutboxPartitions : IOutboxPartitions
{
    public IReadOnlyList<int>? Owned => null;

    public event Action? Changed
    {
        add { }
        remove { }
    }

    public bool Owns(int partition) => true;

    public OwnerSession? Owner => null;

    public void WakeOwner(int partition)
    {
    }
}

/// <summary>An owner session on a shared database: its partition locks are (<paramref name="PartitionSpace"/>, partition).</summary>
/// <param name="BackendPid">The session's server process; 0 while this instance has none, which holds no lock.</param>
internal sealed record OwnerSession(int PartitionSpace, int BackendPid);
