using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace Kombo.Testing;

/// <summary>
/// A private PostgreSQL server from Debian's postgresql package (scripts/postgres.sh install): <c>initdb</c> into its
/// own directory under /tmp, <c>postgres</c> on a free port of 127.0.0.1 with its Unix socket in that directory, fsync
/// on. PostgreSQL refuses to run as root, so a root process runs it as the <c>postgres</c> OS user. Each test takes a
/// database of its own (<see cref="CreateDatabaseAsync"/>). A watchdog stops the server and removes its files if this
/// process dies without disposing it. If the server does not come up, <see cref="StartNewAsync"/> throws with its
/// log tail: a test that needs PostgreSQL fails, it never skips.
/// </summary>
public sealed class PostgresNode : IAsyncDisposable
{
    private const string OsUser = "postgres";
    private const string Superuser = "postgres";
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    // setsid: a Ctrl-C on the run must not stop the server mid-write. When this process is gone (a crash, a kill -9),
    // the watchdog stops the server and removes its files.
    private const string WatchdogScript = """
        exec </dev/null >>"$KOMBO_PG_DIR/watchdog.log" 2>&1
        as_owner() { if [ -n "$KOMBO_PG_USER" ]; then runuser -u "$KOMBO_PG_USER" -- "$@"; else "$@"; fi; }
        as_owner "$KOMBO_PG_BIN/postgres" -D "$KOMBO_PG_DATA" -p "$KOMBO_PG_PORT" \
          -c listen_addresses=127.0.0.1 -c unix_socket_directories="$KOMBO_PG_DIR" \
          -c fsync=on -c max_connections=200 \
          -c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3 \
          -c idle_in_transaction_session_timeout=60s \
          >>"$KOMBO_PG_DIR/postgres.log" 2>&1 &
        server=$!
        while kill -0 "$server" 2>/dev/null; do
          if ! kill -0 "$KOMBO_OWNER" 2>/dev/null; then
            echo "owner process $KOMBO_OWNER is gone; stopping the server in $KOMBO_PG_DATA"
            as_owner "$KOMBO_PG_BIN/pg_ctl" stop -D "$KOMBO_PG_DATA" -m fast -w -t 30 || kill -9 "$server"
            wait "$server"
            rm -rf "$KOMBO_PG_DIR"
            exit 0
          fi
          sleep 1
        done
        wait "$server"
        """;

    private readonly string _binDirectory;
    private readonly string? _runAs;
    private Process? _watchdog;
    private int _disposed;

    private PostgresNode()
    {
        _binDirectory = LocateBinaries();
        _runAs = Environment.UserName == "root" ? OsUser : null;
        Port = FreePorts.Pick();
        // The postgres user cannot enter a private TMPDIR such as /root/tmp; /tmp is open to it.
        var parent = _runAs is null ? Path.GetTempPath() : "/tmp";
        DataDirectory = Path.Combine(parent, $"kombo-postgres-{Environment.ProcessId}-{Random.Shared.Next(0x100000, 0xFFFFFF):x6}");
    }

    public string Host => "127.0.0.1";

    public int Port { get; }

    /// <summary>The server's directory under /tmp: the cluster in <c>data/</c>, the socket, the logs (deleted on dispose).</summary>
    public string DataDirectory { get; }

    public string ClusterDirectory => Path.Combine(DataDirectory, "data");

    public string LogFile => Path.Combine(DataDirectory, "postgres.log");

    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public bool IsRunning => _watchdog is { HasExited: false };

    /// <summary>The superuser's connection string to <paramref name="database"/> (trust authentication, no password).</summary>
    public string ConnectionString(string database = "postgres") => new NpgsqlConnectionStringBuilder
    {
        Host = Host,
        Port = Port,
        Username = Superuser,
        Database = database,
    }.ConnectionString;

    /// <summary>Creates a cluster, starts the server and waits until it answers a query.</summary>
    public static async Task<PostgresNode> StartNewAsync(CancellationToken cancellationToken = default)
    {
        var node = new PostgresNode();
        try
        {
            await node.InitializeClusterAsync(cancellationToken);
            await node.StartAsync(cancellationToken);
            return node;
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }
    }

    /// <summary>A new, empty database for one test; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(CancellationToken cancellationToken = default)
    {
        var name = "t_" + Guid.NewGuid().ToString("N");
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
        return ConnectionString(name);
    }

    /// <summary>Starts the server (again, after <see cref="StopAsync"/>: same port, same data).</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"The PostgreSQL server in {DataDirectory} is already running.");
        }

        _watchdog?.Dispose();
        var started = Stopwatch.StartNew();
        _watchdog = Process.Start(WatchdogStartInfo())
            ?? throw new InvalidOperationException("Could not start bash to run the PostgreSQL server.");
        try
        {
            await WaitUntilAnsweringAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            var logs = LogTail();
            await StopAsync();
            throw new InvalidOperationException(
                $"PostgreSQL did not start: {ex.Message} It was started with {_binDirectory}/postgres on {Host}:{Port} " +
                $"as {_runAs ?? Environment.UserName} (data in {ClusterDirectory}) {started.Elapsed.TotalSeconds:0} s ago." +
                $"{Environment.NewLine}{logs}", ex);
        }
    }

    /// <summary>Stops the server (<c>pg_ctl stop -m fast</c>); kills it if that does not work within 30 s.</summary>
    public async Task StopAsync()
    {
        if (_watchdog is null)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(StopTimeout);
        try
        {
            if (!_watchdog.HasExited)
            {
                await RunAsOwnerAsync("pg_ctl", ["stop", "-D", ClusterDirectory, "-m", "fast", "-w", "-t", "25"], timeout.Token);
            }

            await _watchdog.WaitForExitAsync(timeout.Token);
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
        {
            await KillAsync();
        }
    }

    /// <summary>SIGKILL to the postmaster: a server crash. Committed data survives a later <see cref="StartAsync"/>.</summary>
    public async Task KillAsync()
    {
        if (PostmasterPid() is { } pid)
        {
            try
            {
                using var postmaster = Process.GetProcessById(pid);
                postmaster.Kill(entireProcessTree: true);
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                await postmaster.WaitForExitAsync(wait.Token);
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or OperationCanceledException)
            {
                // Already gone.
            }
        }

        if (_watchdog is { HasExited: false })
        {
            _watchdog.Kill(entireProcessTree: true);
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await _watchdog.WaitForExitAsync(wait.Token);
        }
    }

    /// <summary>The last lines of the server's log, then of the cluster's creation and of the watchdog.</summary>
    public string LogTail()
    {
        var text = string.Join(Environment.NewLine,
            Tail(LogFile, 60),
            Tail(Path.Combine(DataDirectory, "initdb.log"), 10),
            Tail(Path.Combine(DataDirectory, "watchdog.log"), 10)).Trim();
        return text.Length > 0 ? text : "(the server wrote no log)";
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        try
        {
            await StopAsync();
        }
        finally
        {
            _watchdog?.Dispose();
            _watchdog = null;
            EmulatorProcess.TryDelete(DataDirectory);
        }
    }

    private static string LocateBinaries()
    {
        // Debian installs each major version side by side; the newest wins, as in scripts/postgres.sh.
        var candidates = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(version => (Major: int.TryParse(Path.GetFileName(version), CultureInfo.InvariantCulture, out var major) ? major : 0,
                    Bin: Path.Combine(version, "bin")))
                .OrderByDescending(v => v.Major)
                .Select(v => v.Bin)
            : [];
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var directory in candidates.Concat(path.Split(':', StringSplitOptions.RemoveEmptyEntries)))
        {
            if (new[] { "initdb", "pg_ctl", "postgres" }.All(tool => File.Exists(Path.Combine(directory, tool))))
            {
                return directory;
            }
        }

        throw new InvalidOperationException(
            "PostgreSQL is not installed: no initdb, pg_ctl and postgres in /usr/lib/postgresql/*/bin or on PATH. " +
            "Install it with `scripts/postgres.sh install` (on Debian/Ubuntu: apt-get install postgresql).");
    }

    private async Task InitializeClusterAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(DataDirectory);
        if (_runAs is not null)
        {
            // initdb creates data/ with mode 0700 for the user it runs as; that user must own the parent to do so.
            await RunAsync("chown", [$"{_runAs}:", DataDirectory], cancellationToken);
        }

        // --no-sync only skips flushing the freshly created files (a crash here loses nothing of value); the server
        // itself runs with fsync on.
        var log = Path.Combine(DataDirectory, "initdb.log");
        try
        {
            var output = await RunAsOwnerAsync("initdb",
                ["-D", ClusterDirectory, "-U", Superuser, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"],
                cancellationToken);
            await File.WriteAllTextAsync(log, output, CancellationToken.None);
        }
        catch (InvalidOperationException ex)
        {
            await File.WriteAllTextAsync(log, ex.Message, CancellationToken.None);
            throw new InvalidOperationException(
                $"initdb failed for a PostgreSQL cluster in {ClusterDirectory} (as {_runAs ?? Environment.UserName}): {ex.Message}", ex);
        }
    }

    private ProcessStartInfo WatchdogStartInfo()
    {
        var startInfo = new ProcessStartInfo(File.Exists("/usr/bin/setsid") ? "/usr/bin/setsid" : "bash")
        {
            UseShellExecute = false,
            WorkingDirectory = DataDirectory,
        };
        if (startInfo.FileName != "bash")
        {
            startInfo.ArgumentList.Add("bash");
        }

        startInfo.ArgumentList.Add("-c");
        startInfo.ArgumentList.Add(WatchdogScript);
        RemoveClientEnvironment(startInfo);
        startInfo.Environment["KOMBO_PG_DIR"] = DataDirectory;
        startInfo.Environment["KOMBO_PG_DATA"] = ClusterDirectory;
        startInfo.Environment["KOMBO_PG_BIN"] = _binDirectory;
        startInfo.Environment["KOMBO_PG_PORT"] = Port.ToString(CultureInfo.InvariantCulture);
        startInfo.Environment["KOMBO_PG_USER"] = _runAs ?? "";
        startInfo.Environment["KOMBO_OWNER"] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        return startInfo;
    }

    /// <summary>Polls with a real connection and <c>SELECT 1</c> until the server answers.</summary>
    private async Task WaitUntilAnsweringAsync(CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        var probe = new NpgsqlConnectionStringBuilder(ConnectionString()) { Pooling = false, Timeout = 5 }.ConnectionString;
        var lastError = "none";
        while (true)
        {
            if (_watchdog is { HasExited: true })
            {
                throw new InvalidOperationException("The server exited during start-up.");
            }

            try
            {
                await using var connection = new NpgsqlConnection(probe);
                await connection.OpenAsync(cancellationToken);
                await using var command = new NpgsqlCommand("SELECT 1", connection);
                await command.ExecuteScalarAsync(cancellationToken);
                return;
            }
            catch (NpgsqlException ex)
            {
                // Refused while the postmaster binds, "the database system is starting up" (57P03) after.
                lastError = ex.Message;
            }

            if (deadline.Elapsed > StartTimeout)
            {
                throw new TimeoutException(
                    $"Nothing answered on {Host}:{Port} within {StartTimeout.TotalSeconds:0} s (last error: {lastError}).");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    private int? PostmasterPid()
    {
        // The first line of postmaster.pid is the postmaster's process id.
        var pidFile = Path.Combine(ClusterDirectory, "postmaster.pid");
        try
        {
            return File.Exists(pidFile) && int.TryParse(File.ReadLines(pidFile).FirstOrDefault(), CultureInfo.InvariantCulture, out var pid)
                ? pid
                : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private Task<string> RunAsOwnerAsync(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        _runAs is null
            ? RunAsync(Path.Combine(_binDirectory, tool), arguments, cancellationToken)
            : RunAsync("runuser", ["-u", _runAs, "--", Path.Combine(_binDirectory, tool), .. arguments], cancellationToken);

    /// <summary>Runs a command (60 s at most) in the server's directory and returns its output; throws if it fails.</summary>
    private async Task<string> RunAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // The postgres user may not enter this process's working directory.
            WorkingDirectory = DataDirectory,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        RemoveClientEnvironment(startInfo);
        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var error = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        var text = $"{(await output).Trim()}{Environment.NewLine}{(await error).Trim()}".Trim();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{Path.GetFileName(fileName)} {string.Join(' ', arguments)} failed (exit code {process.ExitCode}): {text}");
        }

        return text;
    }

    private static string Tail(string file, int lines)
    {
        try
        {
            return File.Exists(file)
                ? $"--- last lines of {file} ---{Environment.NewLine}{string.Join(Environment.NewLine, File.ReadLines(file).TakeLast(lines))}"
                : "";
        }
        catch (IOException)
        {
            return "";
        }
    }

    private static void RemoveClientEnvironment(ProcessStartInfo startInfo)
    {
        // A developer's PGDATA, PGPORT, PGHOST, ... are for their server, not this one.
        foreach (var name in startInfo.Environment.Keys.Where(k => k.StartsWith("PG", StringComparison.Ordinal)).ToList())
        {
            startInfo.Environment.Remove(name);
        }
    }
}
