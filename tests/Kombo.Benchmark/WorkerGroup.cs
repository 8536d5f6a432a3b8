using System.Diagnostics;
using Kombo.Testing;
using Npgsql;

namespace Kombo.Benchmark;

/// <summary>
/// The worker processes of one run, on the same queues (competing consumers) and, on PostgreSQL, the same database.
/// Their figures are added up: CPU time and the relay latency histogram over all of them, peak RSS per process.
/// </summary>
public sealed class WorkerGroup : IAsyncDisposable
{
    private readonly List<WorkerProcess> _workers;
    private readonly List<MetricsScraper> _metrics;

    private WorkerGroup(List<WorkerProcess> workers)
    {
        _workers = workers;
        _metrics = [.. workers.Select(w => new MetricsScraper(w.Url))];
    }

    public IReadOnlyList<WorkerProcess> Workers => _workers;

    /// <summary>False when a worker has no /metrics endpoint with the relay latency histogram.</summary>
    public bool MetricsAvailable => _metrics.All(m => m.Available);

    /// <summary>User + system CPU time of every process so far.</summary>
    public TimeSpan? CpuTime => _workers.Aggregate((TimeSpan?)TimeSpan.Zero, (sum, w) => sum + w.CpuTime);

    /// <summary>The highest peak resident set (VmHWM) of one process, in MB.</summary>
    public double PeakRssMb => _workers.Max(w => w.PeakRssMb);

    /// <summary>The peak resident sets of all processes added up, in MB.</summary>
    public double TotalPeakRssMb => _workers.Sum(w => w.PeakRssMb);

    /// <summary>Starts one worker per options, together (on PostgreSQL the migrations run under their lock), and waits until each is ready.</summary>
    public static async Task<WorkerGroup> StartAsync(IReadOnlyList<WorkerProcessOptions> options, CancellationToken cancellationToken)
    {
        var starting = options.Select(o => WorkerProcess.StartAsync(o, cancellationToken)).ToList();
        try
        {
            await Task.WhenAll(starting);
        }
        catch
        {
            foreach (var start in starting.Where(s => s.IsCompletedSuccessfully))
            {
                await start.Result.DisposeAsync();
            }

            throw;
        }

        return new WorkerGroup([.. starting.Select(s => s.Result)]);
    }

    /// <summary>
    /// On PostgreSQL, waits until the live instances between them own all 16 outbox partitions, each at least one
    /// (their heartbeats in <c>worker_instances</c>), so that the run measures the shared relay rather than a takeover.
    /// </summary>
    /// <returns>Null once they do, else what they owned when the time ran out.</returns>
    public async Task<string?> WaitForPartitionsSharedAsync(string connectionString, TimeSpan timeout, CancellationToken cancellationToken)
    {
        const int Partitions = 16;
        const string OwnedSql = """
            SELECT owned_partitions FROM worker_instances
            WHERE heartbeat_at >= (extract(epoch from now()) * 1000)::bigint - 5000
            """;
        var waited = Stopwatch.StartNew();
        var last = "no heartbeat";
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        while (true)
        {
            var owned = new List<int[]>();
            await using (var command = new NpgsqlCommand(OwnedSql, connection))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    owned.Add([.. reader.GetString(0).Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse)]);
                }
            }

            last = string.Join(" / ", owned.Select(o => o.Length));
            if (owned.Count == _workers.Count && owned.All(o => o.Length > 0) && owned.SelectMany(o => o).Distinct().Count() == Partitions)
            {
                return null;
            }

            if (waited.Elapsed > timeout)
            {
                return $"partitions owned per live instance after {timeout.TotalSeconds:0} s: {last}";
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>The relay latency histograms of all workers, added bucket by bucket.</summary>
    public async Task<RelayHistograms> RelayLatencyAsync(CancellationToken cancellationToken)
    {
        var snapshots = await Task.WhenAll(_metrics.Select(m => m.RelayLatencyAsync(cancellationToken)));
        return snapshots.Aggregate(RelayHistograms.Empty, (sum, s) => sum.Plus(s));
    }

    public string Tail(int lines) => string.Join(Environment.NewLine, _workers.Select(w => $"worker pid {w.Pid}:{Environment.NewLine}{w.Tail(lines)}"));

    public async Task StopAsync()
    {
        await Task.WhenAll(_workers.Select(w => w.StopAsync()));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var worker in _workers)
        {
            await worker.DisposeAsync();
        }
    }
}
