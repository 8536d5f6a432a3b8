using System.Diagnostics;
using System.Globalization;

namespace Kombo.Worker.IntegrationTests.Infrastructure;

/// <summary>One RabbitMQ node's processes: the node itself, its watchdog and rabbitmqctl calls against it.</summary>
internal sealed class RabbitMqNodeProcess(RabbitMqInstallation installation, string nodeName, int port, int distributionPort, string directory)
    : IDisposable
{
    // Started with setsid, so Ctrl-C on the test run does not kill the node mid-write. It stops the node itself if
    // the test process dies without disposing the fixture (a crash, a kill -9), and then removes the node's files.
    private const string WatchdogScript = """
        exec </dev/null >>"$KOMBO_BROKER_DIR/watchdog.log" 2>&1
        "$KOMBO_RABBITMQ_SERVER" >"$KOMBO_BROKER_DIR/console.log" 2>&1 &
        server=$!
        while kill -0 "$server" 2>/dev/null; do
          if ! kill -0 "$KOMBO_TEST_PROCESS" 2>/dev/null; then
            echo "test process $KOMBO_TEST_PROCESS is gone; stopping $RABBITMQ_NODENAME"
            "$KOMBO_RABBITMQCTL" -n "$RABBITMQ_NODENAME" stop \
              || kill "$(cat "$RABBITMQ_MNESIA_BASE/$RABBITMQ_NODENAME.pid")"
            wait "$server"
            rm -rf "$KOMBO_BROKER_DIR"
            exit 0
          fi
          sleep 1
        done
        wait "$server"
        """;

    private static readonly TimeSpan CtlTimeout = TimeSpan.FromSeconds(90);

    private Process? _watchdog;

    public bool HasExited => _watchdog is null || _watchdog.HasExited;

    public void Start()
    {
        var startInfo = new ProcessStartInfo(File.Exists("/usr/bin/setsid") ? "/usr/bin/setsid" : "bash") { UseShellExecute = false };
        if (startInfo.FileName != "bash")
        {
            startInfo.ArgumentList.Add("bash");
        }

        startInfo.ArgumentList.Add("-c");
        startInfo.ArgumentList.Add(WatchdogScript);
        ApplyNodeEnvironment(startInfo);
        startInfo.Environment["KOMBO_BROKER_DIR"] = directory;
        startInfo.Environment["KOMBO_RABBITMQ_SERVER"] = installation.Server;
        startInfo.Environment["KOMBO_RABBITMQCTL"] = installation.Ctl;
        startInfo.Environment["KOMBO_TEST_PROCESS"] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        _watchdog = Process.Start(startInfo) ?? throw new InvalidOperationException("Could not start bash to run the RabbitMQ node.");
    }

    /// <summary>Runs rabbitmqctl against the node and returns its output; throws if it fails.</summary>
    public async Task<string> CtlAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo(installation.Ctl)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add("-n");
        startInfo.ArgumentList.Add(nodeName);
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        ApplyNodeEnvironment(startInfo);
        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start {installation.Ctl}.");
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var error = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CtlTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"rabbitmqctl {string.Join(' ', arguments)} failed on {nodeName} (exit code {process.ExitCode}): " +
                $"{(await error).Trim()} {(await output).Trim()}");
        }

        return await output;
    }

    /// <summary>Stops the node with rabbitmqctl, or kills its processes if that fails or takes too long.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (_watchdog is null)
        {
            return;
        }

        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            if (!_watchdog.HasExited)
            {
                await CtlAsync(["stop"], deadline.Token);
            }

            await _watchdog.WaitForExitAsync(deadline.Token);
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
        {
            Kill();
        }
    }

    /// <summary>The end of the node's console output and log, to explain why it did not start.</summary>
    public string LogTail()
    {
        // Boot failures (a bad setting, a port in use) are told on the console; the node's log has the rest.
        var text = string.Join(Environment.NewLine,
            Tail(Path.Combine(directory, "console.log"), 80),
            Tail(Path.Combine(directory, "log", $"{nodeName}.log"), 40)).Trim();
        return text.Length > 0 ? text : "(the node wrote no log)";
    }

    public void Dispose() => _watchdog?.Dispose();

    private void Kill()
    {
        var pidFile = Path.Combine(directory, "mnesia", $"{nodeName}.pid");
        if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture, out var pid))
        {
            try
            {
                using var beam = Process.GetProcessById(pid);
                beam.Kill(entireProcessTree: true);
            }
            catch (ArgumentException)
            {
                // Already gone.
            }
        }

        if (_watchdog is { HasExited: false })
        {
            _watchdog.Kill(entireProcessTree: true);
        }
    }

    private void ApplyNodeEnvironment(ProcessStartInfo startInfo)
    {
        // A developer's RABBITMQ_* variables are for their broker, not this one.
        var environment = startInfo.Environment;
        foreach (var name in environment.Keys.Where(k => k.StartsWith("RABBITMQ_", StringComparison.Ordinal)).ToList())
        {
            environment.Remove(name);
        }

        environment["RABBITMQ_NODENAME"] = nodeName;
        environment["RABBITMQ_NODE_PORT"] = port.ToString(CultureInfo.InvariantCulture);
        environment["RABBITMQ_DIST_PORT"] = distributionPort.ToString(CultureInfo.InvariantCulture);
        environment["RABBITMQ_MNESIA_BASE"] = Path.Combine(directory, "mnesia");
        environment["RABBITMQ_LOG_BASE"] = Path.Combine(directory, "log");
        environment["RABBITMQ_CONFIG_FILE"] = Path.Combine(directory, "rabbitmq.conf");
        environment["RABBITMQ_ADVANCED_CONFIG_FILE"] = Path.Combine(directory, "advanced.config");
        environment["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(directory, "enabled_plugins");
        environment["RABBITMQ_CONF_ENV_FILE"] = Path.Combine(directory, "rabbitmq-env.conf");
        environment["ERL_CRASH_DUMP"] = Path.Combine(directory, "erl_crash.dump");
        if (!installation.SwitchesToRabbitMqUser)
        {
            // The Erlang cookie lives in $HOME; the node and rabbitmqctl must see the same one.
            environment["HOME"] = directory;
        }
    }

    private static string Tail(string file, int lines) => File.Exists(file)
        ? $"--- last lines of {file} ---{Environment.NewLine}{string.Join(Environment.NewLine, File.ReadLines(file).TakeLast(lines))}"
        : "";
}
