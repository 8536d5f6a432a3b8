using Dapper;
using Kombo.Worker.Storage;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Kombo.Worker.Outbox;

/// <summary>
/// Holds this instance's fair share of the outbox partitions on a shared PostgreSQL database, each through a session
/// advisory lock on a connection of its own, with keys of its deployment's schema (<see cref="OutboxLockKeys"/>). Every
/// tick it proves that session alive, records a heartbeat, and takes or gives back partitions towards
/// <c>ceil(partitions / live instances)</c>. When an instance dies its session ends, PostgreSQL releases its locks, and
/// the others take its partitions at their next tick; when this instance loses its own session, or its server stops
/// answering, it owns nothing at once (it fences itself) until it has reconnected and taken partitions again.
/// The same session listens for the wake-ups other instances send after committing rows in partitions owned here.
/// </summary>
internal sealed partial class PostgreSqlOutboxPartitions(
    IOptions<StorageOptions> storage, PostgreSqlOutboxWakeups wakeups, TimeProvider time, ILogger<PostgreSqlOutboxPartitions> logger)
    : BackgroundService, IOutboxPartitions
{
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);

    // How often the session reads the wake-ups other instances sent (and proves itself alive between ticks).
    private static readonly TimeSpan NotificationPoll = TimeSpan.FromMilliseconds(50);

    // Between no longer publishing a partition here and unlocking it: the publishes under way get their confirms.
    private static readonly TimeSpan HandoverDelay = TimeSpan.FromSeconds(1);

    private const string HeartbeatSql = """
        INSERT INTO worker_instances (instance_id, host, started_at, heartbeat_at, owned_partitions)
        VALUES (@Id, @Host, (extract(epoch from now()) * 1000)::bigint, (extract(epoch from now()) * 1000)::bigint, @Owned)
        ON CONFLICT (instance_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, owned_partitions = excluded.owned_partitions;
        DELETE FROM worker_instances WHERE heartbeat_at < (extract(epoch from now()) * 1000)::bigint - 600000;
        SELECT count(*) FROM pg_locks
        WHERE locktype = 'advisory' AND granted AND classid = @InstanceSpace::oid AND objsubid = 2
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database());
        """;

    // Every command of the session, and the cancel request Npgsql sends on a connection of its own after a command timed
    // out, gets an answer within this or the session is given up. A stale owner thus fences itself within about 7 s of
    // the server's last answer (the 1 s hand-over pause, a command, its cancel request), before the server drops its
    // silent session (below) and lets another instance take its partitions.
    private const int SessionTimeoutSeconds = 3;

    // The server notices a vanished owner (power loss, a frozen VM, a network split: no FIN ever arrives) within about
    // 11 s and ends its session, releasing its partitions; with the server's defaults that takes the kernel's two hours.
    // Npgsql's KeepAlive probes from this side only. Ignored on Unix sockets, which need none.
    internal const string SessionSettingsSql = "SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 3;";

    private readonly string _instanceId = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";
    private readonly SortedSet<int> _owned = [];

    // Partition locks are (PartitionSpace, partition). Each owner session also holds (InstanceSpace, its backend pid):
    // the instances alive are the sessions holding one, gone the moment a killed instance's session ends, where a
    // heartbeat would count it for seconds more.
    private OutboxLockKeys _keys = OutboxLockKeys.For("public");
    private volatile OwnerSession _owner = new(0, 0);
    private volatile int[] _snapshot = [];
    private volatile bool[] _owns = new bool[OutboxPartition.Count];
    private volatile bool _released;

    public IReadOnlyList<int>? Owned => _snapshot;

    public event Action? Changed;

    public bool Owns(int partition) => _owns[partition];

    public OwnerSession? Owner => _owner;

    public void WakeOwner(int partition) => wakeups.Wake(partition);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Also when stopping cancels a wait: the session is gone, and so are its locks.
        try
        {
            await OwnWhileRunningAsync(stoppingToken);
        }
        finally
        {
            Fence();
        }
    }

    private async Task OwnWhileRunningAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var session = await OpenSessionAsync(stoppingToken);
                var nextTick = time.GetTimestamp();
                while (!stoppingToken.IsCancellationRequested)
                {
                    if (time.GetElapsedTime(nextTick) >= TimeSpan.Zero || _released)
                    {
                        _released = false;
                        await TickAsync(session, stoppingToken);
                        nextTick = time.GetTimestamp() + (long)(Tick.TotalSeconds * time.TimestampFrequency);
                    }

                    // Npgsql delivers the notifications that arrived meanwhile with any command's answer.
                    await Task.Delay(NotificationPoll, time, stoppingToken);
                    await session.ExecuteAsync(new CommandDefinition("SELECT 1", cancellationToken: stoppingToken));
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // The locks went with the session (or soon will): publishing on would race the partitions' new owners.
                Fence();
                LogSessionLost(ex.GetType().Name, ex.Message);
                try
                {
                    await Task.Delay(Tick, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }
    }

    private async Task<NpgsqlConnection> OpenSessionAsync(CancellationToken cancellationToken)
    {
        // Its own physical connection: a session lock on a pooled connection would outlive this owner's use of it.
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(storage.Value.ConnectionString)
        {
            Pooling = false,
            ApplicationName = "kombo-worker-outbox-owner",
            KeepAlive = 5,
            Timeout = SessionTimeoutSeconds,
            CommandTimeout = SessionTimeoutSeconds,
            CancellationTimeout = -1,
        }.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await connection.ExecuteAsync(SessionSettingsSql);
            _keys = await OutboxLockKeys.ReadAsync(connection, cancellationToken);
            connection.Notification += (_, notification) => OnNotification(notification.Payload);
            await connection.ExecuteAsync($"LISTEN {_keys.Channel}");
            await connection.ExecuteAsync("SELECT pg_advisory_lock(@InstanceSpace, pg_backend_pid())", new { _keys.InstanceSpace });
            _owner = new OwnerSession(_keys.PartitionSpace, connection.ProcessID);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private async Task TickAsync(NpgsqlConnection session, CancellationToken cancellationToken)
    {
        var live = await session.ExecuteScalarAsync<long>(new CommandDefinition(HeartbeatSql, new
        {
            Id = _instanceId,
            Host = Environment.MachineName,
            Owned = string.Join(',', _owned),
            _keys.InstanceSpace,
        }, cancellationToken: cancellationToken));
        var target = (int)Math.Ceiling(OutboxPartition.Count / (double)Math.Max(1, live));
        var changed = false;

        // Given back from the top, a moment after they stopped being published here.
        if (_owned.Count > target)
        {
            var released = _owned.Reverse().Take(_owned.Count - target).ToList();
            _owned.ExceptWith(released);
            Publish();
            await Task.Delay(HandoverDelay, time, cancellationToken);
            foreach (var partition in released)
            {
                await session.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_unlock(@Space, @Partition)",
                    new { Space = _keys.PartitionSpace, Partition = partition }, cancellationToken: cancellationToken));
            }

            await session.ExecuteAsync(new CommandDefinition($"SELECT pg_notify('{_keys.Channel}', 'released')", cancellationToken: cancellationToken));
            changed = true;
        }

        // Start at this instance's own offset, so that instances starting together do not all try the same partitions.
        var start = (int)((uint)_instanceId.GetHashCode(StringComparison.Ordinal) % OutboxPartition.Count);
        for (var i = 0; i < OutboxPartition.Count && _owned.Count < target; i++)
        {
            var partition = (start + i) % OutboxPartition.Count;
            if (_owned.Contains(partition))
            {
                continue;
            }

            var taken = await session.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT pg_try_advisory_lock(@Space, @Partition)",
                new { Space = _keys.PartitionSpace, Partition = partition }, cancellationToken: cancellationToken));
            if (taken)
            {
                _owned.Add(partition);
                changed = true;
            }
        }

        if (changed)
        {
            Publish();
            LogOwned(string.Join(',', _owned), live);
        }
    }

    private void OnNotification(string payload)
    {
        if (payload == "released")
        {
            // Another instance gave partitions back: take them now rather than at the next tick.
            _released = true;
            return;
        }

        foreach (var part in payload.Split(','))
        {
            if (int.TryParse(part, out var partition) && partition is >= 0 and < OutboxPartition.Count && _owns[partition])
            {
                Changed?.Invoke();
                return;
            }
        }
    }

    private void Fence()
    {
        _owner = _owner with { BackendPid = 0 };
        if (_owned.Count == 0)
        {
            return;
        }

        _owned.Clear();
        Publish();
    }

    private void Publish()
    {
        var owns = new bool[OutboxPartition.Count];
        foreach (var partition in _owned)
        {
            owns[partition] = true;
        }

        _owns = owns;
        _snapshot = [.. _owned];
        Changed?.Invoke();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox partitions owned: {Partitions} ({LiveInstances} live instances)")]
    private partial void LogOwned(string partitions, long liveInstances);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the outbox ownership session ({ErrorType}: {Error}); publishing nothing until it is back")]
    private partial void LogSessionLost(string errorType, string error);
}
