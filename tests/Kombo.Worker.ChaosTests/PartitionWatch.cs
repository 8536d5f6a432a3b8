using System.Diagnostics;
using Dapper;
using Npgsql;

namespace Kombo.Worker.ChaosTests;

/// <summary>
/// Samples every 100 ms how many outbox partitions the instances on one PostgreSQL database hold, and by how many
/// sessions, from the advisory locks in <c>pg_locks</c>: how long a killed instance's partitions went unowned, in all
/// and at the longest, while no relay published their rows.
/// </summary>
public sealed class PartitionWatch : IAsyncDisposable
{
    public const int Partitions = 16;

    // The worker's advisory locks on outbox partitions: (classid, objid) = ("KOMB", partition).
    private const string HoldersSql = """
        SELECT COUNT(DISTINCT objid)::int AS Held, COUNT(DISTINCT pid)::int AS Holders
        FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = 1263488322
        """;

    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    private readonly string _connectionString;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private Task _sampling = Task.CompletedTask;
    private TimeSpan _unowned;
    private TimeSpan _longestUnowned;
    private TimeSpan? _unownedSince;
    private TimeSpan _noneHeld;
    private TimeSpan _lastSample;
    private (int Held, int Holders) _latest;

    private PartitionWatch(string connectionString) => _connectionString = connectionString;

    /// <summary>Partitions held and distinct sessions holding them, at the last sample.</summary>
    public (int Held, int Holders) Latest
    {
        get
        {
            lock (_gate)
            {
                return _latest;
            }
        }
    }

    /// <summary>Time during which at least one partition had no owner.</summary>
    public TimeSpan Unowned
    {
        get
        {
            lock (_gate)
            {
                return _unowned;
            }
        }
    }

    /// <summary>Time during which no session held any partition: every instance dead or still starting.</summary>
    public TimeSpan NoneHeld
    {
        get
        {
            lock (_gate)
            {
                return _noneHeld;
            }
        }
    }

    /// <summary>The longest single stretch with a partition unowned.</summary>
    public TimeSpan LongestUnowned
    {
        get
        {
            lock (_gate)
            {
                return _longestUnowned;
            }
        }
    }

    /// <summary>Forgets what was measured so far (the start-up, before the first partitions were taken).</summary>
    public void Reset()
    {
        lock (_gate)
        {
            (_unowned, _longestUnowned, _unownedSince, _noneHeld) = (TimeSpan.Zero, TimeSpan.Zero, null, TimeSpan.Zero);
        }
    }

    public static PartitionWatch Start(string connectionString)
    {
        var watch = new PartitionWatch(connectionString);
        watch._sampling = Task.Run(watch.SampleAsync);
        return watch;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _sampling;
        }
        catch (OperationCanceledException)
        {
            // Stopped between two samples.
        }

        _stop.Dispose();
    }

    private async Task SampleAsync()
    {
        var clock = Stopwatch.StartNew();
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync(_stop.Token);
        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync(_stop.Token))
        {
            var sample = await connection.QuerySingleAsync<(int Held, int Holders)>(
                new CommandDefinition(HoldersSql, cancellationToken: _stop.Token));
            var now = clock.Elapsed;
            lock (_gate)
            {
                _latest = sample;
                if (sample.Held == 0 && _lastSample > TimeSpan.Zero)
                {
                    _noneHeld += now - _lastSample;
                }

                _lastSample = now;
                if (sample.Held < Partitions)
                {
                    _unownedSince ??= now;
                }
                else if (_unownedSince is { } since)
                {
                    _unowned += now - since;
                    _longestUnowned = now - since > _longestUnowned ? now - since : _longestUnowned;
                    _unownedSince = null;
                }
            }
        }
    }
}
