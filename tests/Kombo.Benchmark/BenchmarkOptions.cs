using System.Globalization;

namespace Kombo.Benchmark;

/// <summary>One configuration to measure, run <see cref="Runs"/> times.</summary>
public sealed record RunConfiguration
{
    public string Workload { get; init; } = "W1";

    public int N { get; init; } = 20_000;

    public int LatencyMs { get; init; }

    /// <summary>The worker's Messaging:ConcurrentMessageLimit; null keeps appsettings.json's.</summary>
    public int? Concurrency { get; init; }

    /// <summary>Outbox:BypassForBenchmark, the benchmark-only switch.</summary>
    public bool BypassOutbox { get; init; }

    /// <summary>One command at a time: the next is sent once the previous one's event arrived.</summary>
    public bool OneAtATime { get; init; }

    /// <summary>A PostgreSQL database of the run's own (shared by its instances) instead of each worker's SQLite file.</summary>
    public bool PostgreSql { get; init; }

    /// <summary>Worker processes on the run's queues and database (more than one only on PostgreSQL).</summary>
    public int Instances { get; init; } = 1;

    public string Label =>
        $"{Workload} L={LatencyMs} {(PostgreSql ? "PostgreSQL" : "SQLite")} ×{Instances}" +
        (BypassOutbox ? " bypass" : "") + (OneAtATime ? " idle" : "") + (Concurrency is { } c ? $" C={c}" : "");
}

public sealed record BenchmarkOptions
{
    public const string Usage = """
        Kombo.Worker benchmark (docs/benchmark.md). Starts its own RabbitMQ node, Kombo emulator and the Release
        worker as separate processes on 127.0.0.1, and stops them at the end.

          --workload W1|W2       W1: CreateConnectLink -> LinkCreated; W2: RedeemConnectToken -> IntegrationConnected (W1)
          --latency MS           the emulator answers after MS milliseconds (0)
          --n N                  commands per run (20000; 200 with --idle)
          --runs R               runs per configuration, in rounds that alternate the configurations; the table shows
                                 medians (1; 3 with --all and --storage-matrix)
          --concurrency C        the worker's Messaging__ConcurrentMessageLimit (default: appsettings.json's)
          --bypass-outbox        worker with Outbox__BypassForBenchmark=true (benchmark-only switch)
          --idle                 one command at a time (relay latency when idle)
          --all                  W1 L=0, W1 L=50, W2 L=0, W1 bypass, W1 idle
          --storage S            sqlite (each worker its own file) or postgresql (a database of the run's own on a
                                 private PostgreSQL server, shared by the run's instances) (sqlite)
          --instances I          worker processes on the same queues and database; above 1 needs postgresql (1)
          --storage-matrix       W1 L=0 and W1 L=50, each on SQLite x1, PostgreSQL x1 and PostgreSQL x3 (3 runs each)
          --set KEY=VALUE        extra worker setting as an environment variable (repeatable), e.g. Outbox__PublishLanes=32
          --artifacts-path DIR   where the worker and emulator are built (default: this program's artifacts root)
          --timeout S            give up on a run after S seconds (900); a run also ends after 60 s without an event
          --json-out FILE        also append the JSON lines to FILE
          --keep-logs            keep each run's worker directory (log and database) and print where it is
          --warmup W             before each run, W commands (not measured) bring the fresh worker to a running worker's
                                 state: JIT-compiled code, warm pools (0: the run starts on a cold worker)
          --no-build             use the worker and emulator already built in the artifacts path
        """;

    public List<RunConfiguration> Configurations { get; } = [];

    public int Runs { get; init; } = 1;

    public Dictionary<string, string?> WorkerSettings { get; } = [];

    public string? ArtifactsPath { get; init; }

    public TimeSpan RunTimeout { get; init; } = TimeSpan.FromSeconds(900);

    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public string? JsonOut { get; init; }

    public bool KeepLogs { get; init; }

    public bool NoBuild { get; init; }

    public int Warmup { get; init; }

    public static BenchmarkOptions Parse(string[] args)
    {
        string workload = "W1";
        int latency = 0;
        int? n = null, runs = null, concurrency = null;
        var warmup = 0;
        bool bypass = false, idle = false, all = false, matrix = false, postgreSql = false, keepLogs = false, noBuild = false;
        var instances = 1;
        string? artifacts = null, jsonOut = null;
        var timeout = 900;
        var settings = new Dictionary<string, string?>();
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            int Number() => int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v >= 0
                ? v
                : throw new ArgumentException($"{args[i - 1]} needs a non-negative whole number.");
            switch (args[i])
            {
                case "--workload": workload = Value().ToUpperInvariant(); break;
                case "--latency": latency = Number(); break;
                case "--n": n = Number(); break;
                case "--runs": runs = Number(); break;
                case "--concurrency": concurrency = Number(); break;
                case "--bypass-outbox": bypass = true; break;
                case "--idle": idle = true; break;
                case "--all": all = true; break;
                case "--storage-matrix": matrix = true; break;
                case "--storage":
                    postgreSql = Value().ToLowerInvariant() switch
                    {
                        "sqlite" => false,
                        "postgresql" or "postgres" => true,
                        _ => throw new ArgumentException("--storage must be sqlite or postgresql."),
                    };
                    break;
                case "--instances": instances = Number(); break;
                case "--keep-logs": keepLogs = true; break;
                case "--no-build": noBuild = true; break;
                case "--warmup": warmup = Number(); break;
                case "--artifacts-path": artifacts = Path.GetFullPath(Value()); break;
                case "--json-out": jsonOut = Path.GetFullPath(Value()); break;
                case "--timeout": timeout = Number(); break;
                case "--set":
                    var pair = Value();
                    var eq = pair.IndexOf('=', StringComparison.Ordinal);
                    if (eq <= 0)
                    {
                        throw new ArgumentException($"--set needs KEY=VALUE, got '{pair}'.");
                    }

                    settings[pair[..eq]] = pair[(eq + 1)..];
                    break;
                case "-h" or "--help": throw new HelpRequestedException();
                default: throw new ArgumentException($"Unknown argument '{args[i]}'.");
            }
        }

        if (workload is not ("W1" or "W2"))
        {
            throw new ArgumentException("--workload must be W1 or W2.");
        }

        if (n is 0 || runs is 0 || timeout == 0 || instances == 0)
        {
            throw new ArgumentException("--n, --runs, --instances and --timeout must be at least 1.");
        }

        if (instances > 1 && !postgreSql && !matrix)
        {
            throw new ArgumentException("--instances above 1 needs --storage postgresql: a SQLite file belongs to one worker.");
        }

        if (matrix && all)
        {
            throw new ArgumentException("--storage-matrix and --all are two different sets of runs; choose one.");
        }

        var options = new BenchmarkOptions
        {
            Runs = runs ?? (all || matrix ? 3 : 1),
            ArtifactsPath = artifacts,
            RunTimeout = TimeSpan.FromSeconds(timeout),
            JsonOut = jsonOut,
            KeepLogs = keepLogs,
            NoBuild = noBuild,
            Warmup = warmup,
        };
        foreach (var (key, value) in settings)
        {
            options.WorkerSettings[key] = value;
        }

        if (matrix)
        {
            foreach (var latencyMs in new[] { 0, 50 })
            {
                foreach (var (onPostgreSql, count) in new[] { (false, 1), (true, 1), (true, 3) })
                {
                    options.Configurations.Add(new RunConfiguration
                    {
                        Workload = "W1",
                        N = n ?? 20_000,
                        LatencyMs = latencyMs,
                        Concurrency = concurrency,
                        PostgreSql = onPostgreSql,
                        Instances = count,
                    });
                }
            }
        }
        else if (all)
        {
            var count = n ?? 20_000;
            RunConfiguration[] every =
            [
                new RunConfiguration { Workload = "W1", N = count, LatencyMs = 0, Concurrency = concurrency },
                new RunConfiguration { Workload = "W1", N = count, LatencyMs = 50, Concurrency = concurrency },
                new RunConfiguration { Workload = "W2", N = count, LatencyMs = 0, Concurrency = concurrency },
                new RunConfiguration { Workload = "W1", N = count, LatencyMs = 0, Concurrency = concurrency, BypassOutbox = true },
                new RunConfiguration { Workload = "W1", N = 200, LatencyMs = 0, Concurrency = concurrency, OneAtATime = true },
            ];
            options.Configurations.AddRange(every.Select(c => c with { PostgreSql = postgreSql, Instances = instances }));
        }
        else
        {
            options.Configurations.Add(new RunConfiguration
            {
                Workload = workload,
                N = n ?? (idle ? 200 : 20_000),
                LatencyMs = latency,
                Concurrency = concurrency,
                BypassOutbox = bypass,
                OneAtATime = idle,
                PostgreSql = postgreSql,
                Instances = instances,
            });
        }

        return options;
    }
}

public sealed class HelpRequestedException : Exception;
