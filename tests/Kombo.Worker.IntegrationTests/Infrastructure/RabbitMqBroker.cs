using System.Diagnostics;
using System.Text.RegularExpressions;
using RabbitMQ.Client;

namespace Kombo.Worker.IntegrationTests.Infrastructure;

/// <summary>
/// A RabbitMQ node of the test run's own, started from Debian's rabbitmq-server package (DESIGN.md §6): a unique node
/// name, free ports and its own data directory, so tests never touch a developer's broker. The "broker" collection
/// shares one node per run. If RabbitMQ is missing or the node does not come up, this throws; it never skips.
/// </summary>
public sealed partial class RabbitMqBroker : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    private RabbitMqNodeProcess? _node;
    private int _disposed;

    public string NodeName { get; } =
        $"kombo-test-{Environment.ProcessId}-{Random.Shared.Next(0x100000, 0xFFFFFF):x6}@localhost";

    public string Host => "localhost";

    public int Port { get; private set; }

    public int DistributionPort { get; private set; }

    public string Username => "guest";

    public string Password => "guest";

    public string VirtualHost => "/";

    public Uri AmqpUri => AmqpUriFor(VirtualHost);

    /// <summary>The node's data, logs and config files.</summary>
    public string DataDirectory { get; private set; } = "";

    private RabbitMqNodeProcess Node => _node ?? throw new InvalidOperationException("The broker has not been started.");

    public Uri AmqpUriFor(string virtualHost) =>
        new($"amqp://{Username}:{Password}@{Host}:{Port}/{(virtualHost == "/" ? "" : Uri.EscapeDataString(virtualHost))}");

    public ConnectionFactory CreateConnectionFactory(string? virtualHost = null) => new()
    {
        HostName = Host,
        Port = Port,
        UserName = Username,
        Password = Password,
        VirtualHost = virtualHost ?? VirtualHost,
        NetworkRecoveryInterval = TimeSpan.FromSeconds(1),
        ClientProvidedName = "kombo-tests",
    };

    public async Task InitializeAsync()
    {
        var installation = RabbitMqInstallation.Locate();
        Port = FreePorts.Pick();
        DistributionPort = FreePorts.Pick(Port);
        DataDirectory = installation.CreateNodeDirectory(NodeName);

        var started = Stopwatch.StartNew();
        _node = new RabbitMqNodeProcess(installation, NodeName, Port, DistributionPort, DataDirectory);
        _node.Start();
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
        try
        {
            await WaitUntilAcceptingAsync(StartTimeout, CancellationToken.None);
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            var logs = _node.LogTail();
            await DisposeAsync();
            throw new InvalidOperationException(
                $"The integration tests' RabbitMQ node {NodeName} did not start: {ex.Message} " +
                $"It was started with {installation.Server} on AMQP port {Port} (distribution port {DistributionPort}) " +
                $"after {started.Elapsed.TotalSeconds:0} s. {RabbitMqInstallation.Fix}{Environment.NewLine}{logs}", ex);
        }
    }

    public async Task DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        if (_node is not null)
        {
            await _node.StopAsync(StopTimeout);
            _node.Dispose();
        }

        DeleteDirectory();
    }

    /// <summary>Stops the RabbitMQ application (the Erlang node stays up): clients lose their connections, as in a broker restart.</summary>
    public Task StopAppAsync(CancellationToken cancellationToken = default) =>
        Node.CtlAsync(["stop_app"], cancellationToken);

    /// <summary>Starts the RabbitMQ application again and returns once it accepts AMQP connections.</summary>
    public async Task StartAppAsync(CancellationToken cancellationToken = default)
    {
        await Node.CtlAsync(["start_app"], cancellationToken);
        await WaitUntilAcceptingAsync(StartTimeout, cancellationToken);
    }

    /// <summary>Creates a virtual host the guest user may use fully, so a test class can own its exchanges and queues.</summary>
    public async Task CreateVirtualHostAsync(string name, CancellationToken cancellationToken = default)
    {
        // Debian's wrapper passes arguments through "sh -c", so only names without shell metacharacters are allowed.
        if (!VirtualHostName().IsMatch(name))
        {
            throw new ArgumentException($"Virtual host name '{name}' must match {VirtualHostName()}.", nameof(name));
        }

        await Node.CtlAsync(["add_vhost", name], cancellationToken);
        await Node.CtlAsync(["set_permissions", "-p", name, Username, ".*", ".*", ".*"], cancellationToken);
    }

    /// <summary>Runs rabbitmqctl against this node (for example <c>list_queues</c>) and returns its output; throws if it fails.</summary>
    public Task<string> RabbitMqCtlAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken = default) =>
        Node.CtlAsync(arguments, cancellationToken);

    private async Task WaitUntilAcceptingAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var factory = CreateConnectionFactory();
        factory.AutomaticRecoveryEnabled = false;
        factory.RequestedConnectionTimeout = TimeSpan.FromSeconds(5);
        Exception? lastError = null;
        while (true)
        {
            if (Node.HasExited)
            {
                throw new InvalidOperationException("The node exited during start-up.");
            }

            try
            {
                await using var connection = await factory.CreateConnectionAsync(deadline.Token);
                return;
            }
            catch (Exception ex) when (!deadline.IsCancellationRequested)
            {
                lastError = ex;
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException(
                    $"Nothing accepted AMQP connections on {Host}:{Port} within {timeout.TotalSeconds:0} s " +
                    $"(last error: {lastError?.GetBaseException().Message ?? "none"}).");
            }
        }
    }

    private void DeleteDirectory()
    {
        if (DataDirectory.Length > 0 && Directory.Exists(DataDirectory))
        {
            try
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // A straggling Erlang process may still hold a file; the directory is under the temp folder.
            }
        }
    }

    // Best effort when the run ends without disposing the fixture; the node's watchdog covers harder crashes.
    private void OnProcessExit(object? sender, EventArgs e) =>
        DisposeAsync().Wait(StopTimeout + TimeSpan.FromSeconds(5));

    [GeneratedRegex("^[A-Za-z0-9._-]{1,200}$")]
    private static partial Regex VirtualHostName();
}
