using System.Diagnostics;
using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using RabbitMQ.Client;

namespace Kombo.Testing;

/// <summary>
/// A private RabbitMQ node from Debian's rabbitmq-server package, the only launcher of the tests' nodes:
/// its own node name, free AMQP and distribution ports and its own data directory, so it never touches a developer's
/// broker on 5672. It stops only the node it started, and a watchdog stops that node if this process dies without
/// disposing it. If the node does not come up, <see cref="StartAsync(CancellationToken)"/> throws with its log tail.
/// With <c>tls</c>, it also listens for AMQP over TLS on <see cref="TlsPort"/>, with a certificate for 127.0.0.1 only
/// from a CA made for the node (<see cref="TlsCaCertificatePath"/>).
/// </summary>
public sealed partial class BrokerNode : IAsyncDisposable
{
    private const string DebianLibBin = "/usr/lib/rabbitmq/bin";
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    // setsid: a Ctrl-C on the run must not kill the node mid-write. When this process is gone (a crash, a kill -9),
    // the watchdog stops the node and removes its files.
    private const string WatchdogScript = """
        exec </dev/null >>"$KOMBO_BROKER_DIR/watchdog.log" 2>&1
        "$KOMBO_RABBITMQ_SERVER" >"$KOMBO_BROKER_DIR/console.log" 2>&1 &
        server=$!
        while kill -0 "$server" 2>/dev/null; do
          if ! kill -0 "$KOMBO_OWNER" 2>/dev/null; then
            echo "owner process $KOMBO_OWNER is gone; stopping $RABBITMQ_NODENAME"
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

    private readonly string _server;
    private readonly string _ctl;
    private readonly bool _switchesToRabbitMqUser;
    private Process? _watchdog;
    private int _disposed;

    public BrokerNode(string? nodeNamePrefix = null, bool tls = false)
    {
        (_server, _ctl, _switchesToRabbitMqUser) = Locate();
        NodeName = $"{nodeNamePrefix ?? "kombo-test"}-{Environment.ProcessId}-{Random.Shared.Next(0x100000, 0xFFFFFF):x6}@localhost";
        Port = FreePorts.Pick();
        DistributionPort = FreePorts.Pick(Port);
        TlsPort = tls ? FreePorts.Pick(Port, DistributionPort) : null;
        DataDirectory = CreateNodeDirectory();
    }

    public string NodeName { get; }

    public string Host => "127.0.0.1";

    public int Port { get; }

    public int DistributionPort { get; }

    /// <summary>The AMQP-over-TLS port (<c>amqps</c>) beside the plain <see cref="Port"/>; null without TLS.</summary>
    public int? TlsPort { get; }

    /// <summary>The PEM certificate of the CA that signed the TLS listener's certificate; null without TLS.</summary>
    public string? TlsCaCertificatePath => TlsPort is null ? null : Path.Combine(DataDirectory, "tls", "ca.pem");

    public string Username => "guest";

    public string Password => "guest";

    /// <summary>The node's data, logs and config files (under /tmp; deleted on dispose).</summary>
    public string DataDirectory { get; }

    public string LogFile => Path.Combine(DataDirectory, "log", $"{NodeName}.log");

    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(90);

    public bool IsRunning => _watchdog is { HasExited: false };

    public Uri AmqpUri(string virtualHost = "/") =>
        new($"amqp://{Username}:{Password}@{Host}:{Port}/{(virtualHost == "/" ? "" : Uri.EscapeDataString(virtualHost))}");

    /// <summary>The TLS listener's URI, to <paramref name="host"/> (the certificate names 127.0.0.1 only).</summary>
    public Uri AmqpsUri(string virtualHost = "/", string? host = null) => TlsPort is { } tlsPort
        ? new($"amqps://{Username}:{Password}@{host ?? Host}:{tlsPort}/{(virtualHost == "/" ? "" : Uri.EscapeDataString(virtualHost))}")
        : throw new InvalidOperationException($"Node {NodeName} was started without TLS.");

    /// <summary>A connection factory for a virtual host of this node, recovering from a broker restart within a second.</summary>
    public ConnectionFactory CreateConnectionFactory(string virtualHost = "/", string clientName = "kombo-tests") => new()
    {
        HostName = Host,
        Port = Port,
        UserName = Username,
        Password = Password,
        VirtualHost = virtualHost,
        NetworkRecoveryInterval = TimeSpan.FromSeconds(1),
        ClientProvidedName = clientName,
    };

    /// <summary>Starts a node and waits until it accepts AMQP connections.</summary>
    public static Task<BrokerNode> StartNewAsync(string? nodeNamePrefix = null, CancellationToken cancellationToken = default) =>
        StartNewAsync(nodeNamePrefix, tls: false, cancellationToken);

    /// <summary>Starts a node, with a TLS listener when <paramref name="tls"/>, and waits until it accepts AMQP connections.</summary>
    public static async Task<BrokerNode> StartNewAsync(string? nodeNamePrefix, bool tls, CancellationToken cancellationToken = default)
    {
        var node = new BrokerNode(nodeNamePrefix, tls);
        try
        {
            await node.StartAsync(cancellationToken);
            return node;
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the node (again, after <see cref="StopAsync"/> or <see cref="KillAsync"/>: same ports, same data).</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"Node {NodeName} is already running.");
        }

        _watchdog?.Dispose();
        var started = Stopwatch.StartNew();
        _watchdog = Process.Start(WatchdogStartInfo())
            ?? throw new InvalidOperationException("Could not start bash to run the RabbitMQ node.");
        try
        {
            await WaitUntilAcceptingAsync(StartTimeout, cancellationToken);
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            var logs = LogTail();
            await StopAsync();
            throw new InvalidOperationException(
                $"RabbitMQ node {NodeName} did not start: {ex.Message} It was started with {_server} on AMQP port {Port}{(TlsPort is null ? "" : $" and TLS port {TlsPort}")} " +
                $"(distribution port {DistributionPort}, data in {DataDirectory}) {started.Elapsed.TotalSeconds:0} s ago. " +
                $"Is rabbitmq-server installed (scripts/rabbitmq.sh install)?{Environment.NewLine}{logs}", ex);
        }
    }

    /// <summary>Stops the node cleanly (rabbitmqctl stop); kills it if that does not work within 30 s.</summary>
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
                await RabbitMqCtlAsync(["stop"], timeout.Token);
            }

            await _watchdog.WaitForExitAsync(timeout.Token);
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
        {
            // rabbitmqctl could not reach the node (or hangs): end the node's processes instead.
            await KillAsync();
        }
    }

    /// <summary>SIGKILL to the node's Erlang VM: a broker crash. Durable messages survive a later <see cref="StartAsync"/>.</summary>
    public async Task KillAsync()
    {
        var pidFile = Path.Combine(DataDirectory, "mnesia", $"{NodeName}.pid");
        if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture, out var pid))
        {
            try
            {
                using var beam = Process.GetProcessById(pid);
                beam.Kill(entireProcessTree: true);
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                await beam.WaitForExitAsync(wait.Token);
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

        // epmd would otherwise still list the name for a moment and a restart would wait for it.
        await Task.Delay(200);
    }

    /// <summary>Stops the RabbitMQ application (the Erlang VM stays up): clients lose their connections, as in a restart.</summary>
    public Task StopAppAsync(CancellationToken cancellationToken = default) => RabbitMqCtlAsync(["stop_app"], cancellationToken);

    /// <summary>Starts the RabbitMQ application again; returns once it accepts AMQP connections.</summary>
    public async Task StartAppAsync(CancellationToken cancellationToken = default)
    {
        await RabbitMqCtlAsync(["start_app"], cancellationToken);
        await WaitUntilAcceptingAsync(StartTimeout, cancellationToken);
    }

    /// <summary>Creates a virtual host that the guest user may use fully.</summary>
    public async Task CreateVirtualHostAsync(string name, CancellationToken cancellationToken = default)
    {
        // Debian's wrapper passes arguments through "sh -c": only names without shell metacharacters.
        if (!SafeName().IsMatch(name))
        {
            throw new ArgumentException($"Virtual host name '{name}' must match {SafeName()}.", nameof(name));
        }

        await RabbitMqCtlAsync(["add_vhost", name], cancellationToken);
        await RabbitMqCtlAsync(["set_permissions", "-p", name, Username, ".*", ".*", ".*"], cancellationToken);
    }

    /// <summary>Queue name → ready message count (<c>rabbitmqctl list_queues</c>).</summary>
    public async Task<IReadOnlyDictionary<string, long>> QueueDepthsAsync(string virtualHost = "/", CancellationToken cancellationToken = default)
    {
        var output = await RabbitMqCtlAsync(["-q", "list_queues", "-p", virtualHost, "name", "messages"], cancellationToken);
        var depths = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split('\t');
            if (parts.Length == 2 && long.TryParse(parts[1], CultureInfo.InvariantCulture, out var count))
            {
                depths[parts[0]] = count;
            }
        }

        return depths;
    }

    /// <summary>Runs rabbitmqctl against this node (90 s at most) and returns its output; throws if it fails.</summary>
    public async Task<string> RabbitMqCtlAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken = default)
    {
        var startInfo = new ProcessStartInfo(_ctl)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add("-n");
        startInfo.ArgumentList.Add(NodeName);
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        ApplyNodeEnvironment(startInfo);
        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start {_ctl}.");
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var error = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(90));
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
                $"rabbitmqctl {string.Join(' ', arguments)} failed on {NodeName} (exit code {process.ExitCode}): " +
                $"{(await error).Trim()} {(await output).Trim()}");
        }

        return await output;
    }

    /// <summary>The last lines of the node's console and log files.</summary>
    public string LogTail()
    {
        var text = string.Join(Environment.NewLine,
            Tail(Path.Combine(DataDirectory, "console.log"), 80),
            Tail(LogFile, 40)).Trim();
        return text.Length > 0 ? text : "(the node wrote no log)";
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

    private static (string Server, string Ctl, bool SwitchesToRabbitMqUser) Locate()
    {
        // As root, Debian's wrappers in /usr/sbin switch to the rabbitmq user (whose home holds the Erlang cookie).
        if (Environment.UserName == "root" && File.Exists("/usr/sbin/rabbitmq-server") && File.Exists("/usr/sbin/rabbitmqctl")
            && File.Exists(Path.Combine(DebianLibBin, "rabbitmq-server")))
        {
            return ("/usr/sbin/rabbitmq-server", "/usr/sbin/rabbitmqctl", true);
        }

        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var directory in new[] { DebianLibBin }.Concat(path.Split(':', StringSplitOptions.RemoveEmptyEntries)))
        {
            var server = Path.Combine(directory, "rabbitmq-server");
            var ctl = Path.Combine(directory, "rabbitmqctl");
            if (File.Exists(server) && File.Exists(ctl))
            {
                return (server, ctl, false);
            }
        }

        throw new InvalidOperationException(
            "RabbitMQ is not installed: no rabbitmq-server in /usr/sbin, /usr/lib/rabbitmq/bin or on PATH. " +
            "Install it with `scripts/rabbitmq.sh install` (on Debian/Ubuntu: apt-get install rabbitmq-server).");
    }

    private string CreateNodeDirectory()
    {
        // The rabbitmq user cannot enter a private TMPDIR such as /root/tmp; /tmp is open to it.
        var parent = _switchesToRabbitMqUser ? "/tmp" : Path.GetTempPath();
        var directory = Path.Combine(parent, $"kombo-rabbitmq-{NodeName.Split('@')[0]}");
        Directory.CreateDirectory(Path.Combine(directory, "mnesia"));
        Directory.CreateDirectory(Path.Combine(directory, "log"));
        File.WriteAllText(Path.Combine(directory, "enabled_plugins"), "[].\n");
        File.WriteAllText(Path.Combine(directory, "rabbitmq.conf"), """
            # Written by Kombo.Testing's BrokerNode. guest/guest may connect from localhost only.
            loopback_users.guest = true
            log.file.level = info
            log.console = false

            """);
        File.WriteAllText(Path.Combine(directory, "rabbitmq-env.conf"), "");
        if (TlsPort is { } tlsPort)
        {
            File.AppendAllText(Path.Combine(directory, "rabbitmq.conf"), WriteTlsFiles(Path.Combine(directory, "tls"), tlsPort));
        }

        if (_switchesToRabbitMqUser)
        {
            // Debian's wrapper runs the node as rabbitmq; without owning its directories it dies with "eacces".
            using var chown = Process.Start("chown", ["-R", "rabbitmq:rabbitmq", directory]);
            chown.WaitForExit();
            if (chown.ExitCode != 0)
            {
                throw new InvalidOperationException($"chown -R rabbitmq:rabbitmq {directory} failed (exit code {chown.ExitCode}).");
            }
        }

        return directory;
    }

    /// <summary>A CA of the node's own and a certificate for 127.0.0.1 from it; returns the listener's rabbitmq.conf lines.</summary>
    private string WriteTlsFiles(string directory, int tlsPort)
    {
        Directory.CreateDirectory(directory);
        using var authority = TestCertificateAuthority.Create($"{NodeName.Split('@')[0]} CA");
        var server = authority.IssueServerCertificate(Host);
        var ca = authority.WriteCertificate(Path.Combine(directory, "ca.pem"));
        var certificate = Path.Combine(directory, "server.pem");
        var key = Path.Combine(directory, "server.key");
        File.WriteAllText(certificate, server.CertificatePem + "\n");
        File.WriteAllText(key, server.PrivateKeyPem + "\n");
        // verify_none: the node asks clients for no certificate; the worker verifies the node's.
        return $"""
            listeners.ssl.default = {tlsPort}
            ssl_options.cacertfile = {ca}
            ssl_options.certfile = {certificate}
            ssl_options.keyfile = {key}
            ssl_options.verify = verify_none
            ssl_options.fail_if_no_peer_cert = false

            """;
    }

    private ProcessStartInfo WatchdogStartInfo()
    {
        var startInfo = new ProcessStartInfo(File.Exists("/usr/bin/setsid") ? "/usr/bin/setsid" : "bash") { UseShellExecute = false };
        if (startInfo.FileName != "bash")
        {
            startInfo.ArgumentList.Add("bash");
        }

        startInfo.ArgumentList.Add("-c");
        startInfo.ArgumentList.Add(WatchdogScript);
        ApplyNodeEnvironment(startInfo);
        startInfo.Environment["KOMBO_BROKER_DIR"] = DataDirectory;
        startInfo.Environment["KOMBO_RABBITMQ_SERVER"] = _server;
        startInfo.Environment["KOMBO_RABBITMQCTL"] = _ctl;
        startInfo.Environment["KOMBO_OWNER"] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        return startInfo;
    }

    private void ApplyNodeEnvironment(ProcessStartInfo startInfo)
    {
        // A developer's RABBITMQ_* variables are for their broker, not this one.
        foreach (var name in startInfo.Environment.Keys.Where(k => k.StartsWith("RABBITMQ_", StringComparison.Ordinal)).ToList())
        {
            startInfo.Environment.Remove(name);
        }

        var environment = startInfo.Environment;
        environment["RABBITMQ_NODENAME"] = NodeName;
        environment["RABBITMQ_NODE_PORT"] = Port.ToString(CultureInfo.InvariantCulture);
        environment["RABBITMQ_DIST_PORT"] = DistributionPort.ToString(CultureInfo.InvariantCulture);
        environment["RABBITMQ_MNESIA_BASE"] = Path.Combine(DataDirectory, "mnesia");
        environment["RABBITMQ_LOG_BASE"] = Path.Combine(DataDirectory, "log");
        environment["RABBITMQ_CONFIG_FILE"] = Path.Combine(DataDirectory, "rabbitmq.conf");
        environment["RABBITMQ_ADVANCED_CONFIG_FILE"] = Path.Combine(DataDirectory, "advanced.config");
        environment["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(DataDirectory, "enabled_plugins");
        environment["RABBITMQ_CONF_ENV_FILE"] = Path.Combine(DataDirectory, "rabbitmq-env.conf");
        environment["ERL_CRASH_DUMP"] = Path.Combine(DataDirectory, "erl_crash.dump");
        if (!_switchesToRabbitMqUser)
        {
            // The Erlang cookie lives in $HOME; the node and rabbitmqctl must see the same one.
            environment["HOME"] = DataDirectory;
        }
    }

    /// <summary>Polls with the AMQP 0-9-1 protocol header until the broker answers with Connection.Start.</summary>
    private async Task WaitUntilAcceptingAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        var lastError = "none";
        while (true)
        {
            if (_watchdog is { HasExited: true })
            {
                throw new InvalidOperationException("The node exited during start-up.");
            }

            try
            {
                if (!await AmqpAnswersAsync(cancellationToken))
                {
                    lastError = "the port answered, but not with AMQP";
                }
                else if (TlsPort is not null && !await AmqpOverTlsAnswersAsync(cancellationToken))
                {
                    lastError = $"the TLS port {TlsPort} answered, but not with AMQP";
                }
                else
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is SocketException or IOException or AuthenticationException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                lastError = ex.Message;
            }

            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException(
                    $"Nothing accepted AMQP connections on {Host}:{Port} within {timeout.TotalSeconds:0} s (last error: {lastError}).");
            }

            await Task.Delay(250, cancellationToken);
        }
    }

    private async Task<bool> AmqpAnswersAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(3));
        using var client = new TcpClient();
        await client.ConnectAsync(Host, Port, timeout.Token);
        var stream = client.GetStream();
        await stream.WriteAsync("AMQP\0\0\x09\x01"u8.ToArray(), timeout.Token);
        var first = new byte[1];
        var read = await stream.ReadAsync(first, timeout.Token);
        return read == 1 && first[0] == 1;
    }

    /// <summary>A TLS handshake with the node's certificate checked against its CA, then the AMQP protocol header.</summary>
    private async Task<bool> AmqpOverTlsAnswersAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(3));
        using var client = new TcpClient();
        await client.ConnectAsync(Host, TlsPort!.Value, timeout.Token);
        using var ca = X509CertificateLoader.LoadCertificateFromFile(TlsCaCertificatePath!);
        await using var tls = new SslStream(client.GetStream());
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = Host,
            CertificateChainPolicy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                CustomTrustStore = { ca },
                RevocationMode = X509RevocationMode.NoCheck,
            },
        }, timeout.Token);
        await tls.WriteAsync("AMQP\0\0\x09\x01"u8.ToArray(), timeout.Token);
        var first = new byte[1];
        var read = await tls.ReadAsync(first, timeout.Token);
        return read == 1 && first[0] == 1;
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

    [GeneratedRegex("^[A-Za-z0-9._-]{1,200}$")]
    private static partial Regex SafeName();
}
