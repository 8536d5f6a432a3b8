using Kombo.Testing;
using RabbitMQ.Client;

namespace Kombo.Worker.IntegrationTests.Infrastructure;

/// <summary>
/// A RabbitMQ node of the test run's own (Kombo.Testing's <see cref="BrokerNode"/>): a unique node name, free ports
/// and its own data directory, so tests never touch a developer's broker. The "broker" collection shares one node per
/// run. If RabbitMQ is missing or the node does not come up, this throws with the node's log tail; it never skips.
/// </summary>
public sealed class RabbitMqBroker : IAsyncLifetime
{
    private static readonly TimeSpan DisposeTimeout = TimeSpan.FromSeconds(35);

    private BrokerNode? _node;
    private int _disposed;

    public BrokerNode Node => _node ?? throw new InvalidOperationException("The broker has not been started.");

    public string NodeName => Node.NodeName;

    public string Host => Node.Host;

    public int Port => Node.Port;

    public string Username => Node.Username;

    public string Password => Node.Password;

    public Uri AmqpUriFor(string virtualHost) => Node.AmqpUri(virtualHost);

    public ConnectionFactory CreateConnectionFactory(string virtualHost = "/") => new()
    {
        HostName = Host,
        Port = Port,
        UserName = Username,
        Password = Password,
        VirtualHost = virtualHost,
        NetworkRecoveryInterval = TimeSpan.FromSeconds(1),
        ClientProvidedName = "kombo-tests",
    };

    public async Task InitializeAsync()
    {
        _node = await BrokerNode.StartNewAsync("kombo-test");
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
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
            await _node.DisposeAsync();
        }
    }

    /// <summary>Stops the RabbitMQ application (the Erlang node stays up): clients lose their connections, as in a broker restart.</summary>
    public Task StopAppAsync(CancellationToken cancellationToken = default) => Node.StopAppAsync(cancellationToken);

    /// <summary>Starts the RabbitMQ application again and returns once it accepts AMQP connections.</summary>
    public Task StartAppAsync(CancellationToken cancellationToken = default) => Node.StartAppAsync(cancellationToken);

    /// <summary>Creates a virtual host the guest user may use fully, so a test class can own its exchanges and queues.</summary>
    public Task CreateVirtualHostAsync(string name, CancellationToken cancellationToken = default) =>
        Node.CreateVirtualHostAsync(name, cancellationToken);

    /// <summary>Runs rabbitmqctl against this node (for example <c>list_queues</c>) and returns its output; throws if it fails.</summary>
    public Task<string> RabbitMqCtlAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken = default) =>
        Node.RabbitMqCtlAsync(arguments, cancellationToken);

    // Best effort when the run ends without disposing the fixture; the node's watchdog covers harder crashes.
    private void OnProcessExit(object? sender, EventArgs e) => DisposeAsync().Wait(DisposeTimeout);
}
