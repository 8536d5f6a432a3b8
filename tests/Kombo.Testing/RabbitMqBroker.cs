using Xunit;

namespace Kombo.Testing;

/// <summary>
/// The xunit fixture of a test run's own RabbitMQ <see cref="Node"/>: a unique node name, free ports and its own data
/// directory, so tests never touch a developer's broker. Share one per run with a collection (starting one takes
/// 10-20 s). If RabbitMQ is missing or the node does not come up, this throws with the node's log tail; it never skips.
/// </summary>
public sealed class RabbitMqBroker : IAsyncLifetime
{
    private static readonly TimeSpan DisposeTimeout = TimeSpan.FromSeconds(35);

    private BrokerNode? _node;
    private int _disposed;

    public BrokerNode Node => _node ?? throw new InvalidOperationException("The broker has not been started.");

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

    // Best effort when the run ends without disposing the fixture; the node's watchdog covers harder crashes.
    private void OnProcessExit(object? sender, EventArgs e) => DisposeAsync().Wait(DisposeTimeout);
}
