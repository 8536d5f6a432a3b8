using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Kombo.Emulator.EndUser;
using Kombo.Testing;
using Npgsql;

namespace Kombo.Benchmark;

/// <summary>
/// The parts a run needs: one RabbitMQ node, one emulator and (when a configuration needs it) one PostgreSQL server for
/// the whole benchmark, and for each run a fresh virtual host, a fresh database (each worker's SQLite file, or one
/// PostgreSQL database shared by the run's instances) and fresh worker processes, configured from the top-level
/// appsettings.json as a user runs them.
/// </summary>
public sealed class BenchmarkRunner(BenchmarkOptions options, string artifactsPath, TextWriter progress) : IAsyncDisposable
{
    private BrokerNode? _broker;
    private EmulatorProcess? _emulator;
    private PostgresNode? _postgres;
    private int _runNumber;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        progress.WriteLine(options.NoBuild
            ? $"benchmark: using the worker and the emulator built in {artifactsPath}"
            : $"benchmark: building the worker and the emulator (Release) into {artifactsPath} ...");
        await DotnetBuild.EnsureBuiltAsync("Kombo.Worker", "Release", artifactsPath, force: !options.NoBuild, cancellationToken);
        await DotnetBuild.EnsureBuiltAsync("Kombo.Emulator", "Release", artifactsPath, force: !options.NoBuild, cancellationToken);
        progress.WriteLine("benchmark: starting a RabbitMQ node of its own ...");
        _broker = await BrokerNode.StartNewAsync("kombo-bench", cancellationToken);
        progress.WriteLine($"benchmark: RabbitMQ on 127.0.0.1:{_broker.Port}; starting the Kombo emulator ...");
        _emulator = await EmulatorProcess.StartAsync(new EmulatorProcessOptions
        {
            ArtifactsPath = artifactsPath,
            BuildIfMissing = false,
            Environment =
            {
                // The benchmark measures the worker, not Kombo's rate limit; tokens must outlive the longest run.
                ["Emulator__RateLimit"] = "1000000000",
                ["Emulator__TokenLifetime"] = "02:00:00",
                ["Logging__LogLevel__Default"] = "Warning",
            },
        }, cancellationToken);
        progress.WriteLine($"benchmark: emulator on {_emulator.BaseAddress}");
        if (options.Configurations.Any(c => c.PostgreSql))
        {
            progress.WriteLine("benchmark: starting a PostgreSQL server of its own ...");
            _postgres = await PostgresNode.StartNewAsync(cancellationToken);
            progress.WriteLine($"benchmark: PostgreSQL on {_postgres.Host}:{_postgres.Port} (fsync on, the server's defaults otherwise; data in {_postgres.ClusterDirectory})");
        }
    }

    public async Task<RunResult> RunAsync(RunConfiguration configuration, int run, CancellationToken cancellationToken)
    {
        var broker = _broker!;
        var emulator = _emulator!;
        var number = Interlocked.Increment(ref _runNumber);
        var virtualHost = $"bench-{number}-{Environment.ProcessId}";
        var workload = Workload.Of(configuration.Workload);
        var tag = $"[{configuration.Label} run {run}/{options.Runs}]";

        await broker.CreateVirtualHostAsync(virtualHost, cancellationToken);
        await emulator.Client.SetLatencyAsync(configuration.LatencyMs, cancellationToken);
        await emulator.Client.ResetStatsAsync(cancellationToken);
        var tracker = new EventTracker(configuration.N);
        var warmup = options.Warmup > 0 ? new EventTracker(options.Warmup) : null;
        var tokens = workload == Workload.W2
            ? await emulator.Client.IssueTokensAsync(configuration.N + options.Warmup, cancellationToken: cancellationToken)
            : null;

        var connectionString = configuration.PostgreSql ? await _postgres!.CreateDatabaseAsync(cancellationToken) : null;
        var workerOptions = Enumerable.Range(0, configuration.Instances)
            .Select(_ => WorkerOptions(configuration, number, broker, virtualHost, emulator, connectionString))
            .ToList();
        await using var workers = await WorkerGroup.StartAsync(workerOptions, cancellationToken);
        foreach (var worker in workers.Workers)
        {
            progress.WriteLine($"{tag} worker pid {worker.Pid} ready on {worker.Url} (log: {worker.LogFile})");
        }

        if (connectionString is not null &&
            await workers.WaitForPartitionsSharedAsync(connectionString, TimeSpan.FromSeconds(30), cancellationToken) is { } unshared)
        {
            progress.WriteLine($"{tag} the instances did not share the outbox partitions out: {unshared}");
        }
        await using var amqp = await AmqpClient.ConnectAsync(broker, virtualHost, "kombo-benchmark", cancellationToken);
        await amqp.SubscribeAsync(workload, (id, failure) =>
        {
            if (id is not { } correlationId || !(tracker.OnEvent(correlationId, failure) || warmup?.OnEvent(correlationId, failure) == true))
            {
                tracker.OnUnknownEvent();
            }
        }, cancellationToken);
        var destination = new Uri($"rabbitmq://{broker.Host}:{broker.Port}/{virtualHost}/{workload.Queue}");
        if (warmup is not null)
        {
            // Not measured: brings a fresh worker to the state of one that has been running (JIT, pools, caches).
            var warming = amqp.PublishAllAsync(warmup.N, Commands(workload, warmup, tokens, configuration.N, destination), workload.Queue, warmup, cancellationToken);
            var warmed = await WaitForEventsAsync(warmup, warming, cancellationToken);
            await warming;
            progress.WriteLine($"{tag} warm-up: {warmup.Distinct}/{warmup.N} events in {warmup.Seconds:0.0} s{(warmed is null ? "" : "; " + warmed)}");
        }

        var relayBefore = await workers.RelayLatencyAsync(cancellationToken);
        var cpuBefore = workers.CpuTime;
        var databaseCpuBefore = DatabaseCpu(configuration);
        var command = Commands(workload, tracker, tokens, 0, destination);

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.RunTimeout);
        using var reporter = new Timer(_ => Report(tag, tracker), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        string? ended = null;
        try
        {
            if (configuration.OneAtATime)
            {
                ended = await RunOneAtATimeAsync(amqp, command, workload, tracker, deadline.Token);
            }
            else
            {
                var publishing = amqp.PublishAllAsync(tracker.N, command, workload.Queue, tracker, deadline.Token);
                ended = await WaitForEventsAsync(tracker, publishing, deadline.Token);
                await publishing;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            ended = $"the run timed out after {options.RunTimeout.TotalSeconds:0} s";
        }

        await reporter.DisposeAsync();
        Report(tag, tracker);

        // Stragglers: a duplicate may arrive just after the last distinct event.
        await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        var relay = (await workers.RelayLatencyAsync(cancellationToken)).Minus(relayBefore);
        var cpu = workers.CpuTime - cpuBefore;
        var databaseCpu = DatabaseCpu(configuration) - databaseCpuBefore;
        var rss = workers.PeakRssMb;
        var totalRss = workers.TotalPeakRssMb;
        if (ended is not null)
        {
            progress.WriteLine($"{tag} {ended}; last worker lines:{Environment.NewLine}{workers.Tail(20)}");
        }

        if (!workers.MetricsAvailable && configuration.BypassOutbox is false)
        {
            progress.WriteLine($"{tag} the worker has no /metrics endpoint with the relay latency histogram: relay latency not reported");
        }

        if (options.KeepLogs)
        {
            progress.WriteLine($"{tag} worker logs and databases kept in {string.Join(", ", workers.Workers.Select(w => w.DataDirectory))}" +
                (connectionString is null ? "" : "; the PostgreSQL database stays until the server stops at the end"));
        }

        await workers.StopAsync();
        await TryDeleteVirtualHostAsync(broker, virtualHost);
        if (connectionString is not null && !options.KeepLogs)
        {
            await TryDropDatabaseAsync(connectionString);
        }

        var latencies = tracker.SortedLatenciesMs();
        return new RunResult
        {
            Configuration = configuration,
            Concurrency = configuration.Concurrency ?? DefaultConcurrency(),
            ReceivedDistinct = tracker.Distinct,
            Duplicates = tracker.Duplicates,
            Lost = tracker.N - tracker.Distinct,
            Seconds = tracker.Seconds,
            ThroughputPerSecond = tracker.Seconds > 0 ? tracker.Distinct / tracker.Seconds : 0,
            LatencyP50Ms = Percentiles.Of(latencies, 50),
            LatencyP99Ms = Percentiles.Of(latencies, 99),
            WorkerPeakRssMb = rss,
            WorkersPeakRssMb = totalRss,
            DatabaseCpuSeconds = databaseCpu?.TotalSeconds,
            Failures = tracker.Failures,
            RelayP50Ms = relay.CommitToConfirm.Quantile(0.50),
            RelayP99Ms = relay.CommitToConfirm.Quantile(0.99),
            ConfirmP50Ms = relay.PublishToConfirm.Quantile(0.50),
            ConfirmP99Ms = relay.PublishToConfirm.Quantile(0.99),
            WorkerCpuSeconds = cpu?.TotalSeconds,
            Warmup = warmup?.N ?? 0,
        };
    }

    private WorkerProcessOptions WorkerOptions(
        RunConfiguration configuration, int number, BrokerNode broker, string virtualHost, EmulatorProcess emulator, string? connectionString)
    {
        var workerOptions = new WorkerProcessOptions
        {
            ArtifactsPath = artifactsPath,
            BuildIfMissing = false,
            DataDirectory = options.KeepLogs ? Directory.CreateTempSubdirectory($"kombo-bench-{number}-").FullName : null,
        }.UseBroker(broker, virtualHost).UseEmulator(emulator);
        if (connectionString is not null)
        {
            // The worker's defaults otherwise (its pool, Storage:WriterConnections), as a user runs it.
            workerOptions.Environment["Storage__Provider"] = "PostgreSql";
            workerOptions.Environment["Storage__ConnectionString"] = connectionString;
        }

        if (configuration.Concurrency is { } concurrency)
        {
            workerOptions.Environment["Messaging__ConcurrentMessageLimit"] = concurrency.ToString(CultureInfo.InvariantCulture);
        }

        if (configuration.BypassOutbox)
        {
            workerOptions.Environment["Outbox__BypassForBenchmark"] = "true";
        }

        foreach (var (key, value) in options.WorkerSettings)
        {
            workerOptions.Environment[key] = value;
        }

        return workerOptions;
    }

    // SQLite works inside the worker; PostgreSQL in processes of its own, counted here.
    private TimeSpan? DatabaseCpu(RunConfiguration configuration) =>
        configuration.PostgreSql && _postgres is not null ? ServerCpu.OfPostgreSql(_postgres.ClusterDirectory) : null;

    // A finished run's database would otherwise stay on the server, and its autovacuum would cost the later runs.
    private async Task TryDropDatabaseAsync(string connectionString)
    {
        try
        {
            var name = new NpgsqlConnectionStringBuilder(connectionString).Database;
            await using var connection = new NpgsqlConnection(_postgres!.ConnectionString());
            await connection.OpenAsync(CancellationToken.None);
            await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", connection);
            await command.ExecuteNonQueryAsync(CancellationToken.None);
        }
        catch (NpgsqlException ex)
        {
            progress.WriteLine($"benchmark: could not drop a run's database ({ex.Message}); it goes with the server");
        }
    }

    /// <summary>Command <c>i</c> of a tracker; W2 takes token <c>offset + i</c>, W1 end user <c>offset + i</c>.</summary>
    private static Func<int, (Guid, byte[])> Commands(
        Workload workload, EventTracker tracker, IReadOnlyList<IssueTokensEndpoint.IssuedTokenView>? tokens, int offset, Uri destination) =>
        workload == Workload.W2
            ? i =>
            {
                var id = Guid.NewGuid();
                var token = tokens![offset + i];
                return (id, CommandBodies.RedeemConnectToken(id, tracker.CorrelationIds[i], token.Token, token.EndUserOriginId, destination));
            }
    : i =>
    {
        var id = Guid.NewGuid();
        return (id, CommandBodies.CreateConnectLink(id, tracker.CorrelationIds[i], offset + i, destination));
    };

    /// <returns>Null when every event arrived, else why the run ended early.</returns>
    private async Task<string?> WaitForEventsAsync(EventTracker tracker, Task publishing, CancellationToken cancellationToken)
    {
        var lastProgress = Stopwatch.StartNew();
        var seen = 0;
        while (tracker.Distinct < tracker.N)
        {
            if (publishing.IsFaulted)
            {
                await publishing;
            }

            await tracker.WaitForArrivalAsync(TimeSpan.FromMilliseconds(200), cancellationToken);
            if (tracker.Distinct != seen)
            {
                seen = tracker.Distinct;
                lastProgress.Restart();
            }
            else if (lastProgress.Elapsed > options.StallTimeout)
            {
                return $"no new event for {options.StallTimeout.TotalSeconds:0} s";
            }
        }

        return null;
    }

    private async Task<string?> RunOneAtATimeAsync(
        AmqpClient amqp, Func<int, (Guid, byte[])> command, Workload workload, EventTracker tracker, CancellationToken cancellationToken)
    {
        for (var i = 0; i < tracker.N; i++)
        {
            await amqp.PublishOneAsync(i, command, workload.Queue, tracker, cancellationToken);
            var waited = Stopwatch.StartNew();
            while (!tracker.HasArrived(i))
            {
                if (waited.Elapsed > options.StallTimeout)
                {
                    return $"command {i} got no event within {options.StallTimeout.TotalSeconds:0} s";
                }

                await tracker.WaitForArrivalAsync(TimeSpan.FromMilliseconds(200), cancellationToken);
            }
        }

        return null;
    }

    private void Report(string tag, EventTracker tracker)
    {
        var elapsed = tracker.SecondsSinceFirstSent;
        var rate = elapsed > 0 ? tracker.Distinct / elapsed : 0;
        progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{tag} sent {tracker.Sent}/{tracker.N}, received {tracker.Distinct} ({rate:0}/s), duplicates {tracker.Duplicates}, failures {tracker.Failures}, {elapsed:0.0} s"));
    }

    private static int DefaultConcurrency()
    {
        try
        {
            using var settings = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryPaths.Root, "appsettings.json")),
                new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            return settings.RootElement.GetProperty("Messaging").GetProperty("ConcurrentMessageLimit").GetInt32();
        }
        catch (Exception ex) when (ex is IOException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return 32;
        }
    }

    private static async Task TryDeleteVirtualHostAsync(BrokerNode broker, string virtualHost)
    {
        try
        {
            await broker.RabbitMqCtlAsync(["delete_vhost", virtualHost]);
        }
        catch (InvalidOperationException)
        {
            // The node is deleted at the end anyway.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_emulator is not null)
        {
            await _emulator.DisposeAsync();
        }

        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }

        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }
}
