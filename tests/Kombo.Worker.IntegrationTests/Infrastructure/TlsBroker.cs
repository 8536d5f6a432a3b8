using Kombo.Testing;

namespace Kombo.Worker.IntegrationTests.Infrastructure;

/// <summary>
/// A RabbitMQ node of a test class's own with a TLS listener beside the plain one, its certificate from a CA made for
/// the node. Like <see cref="RabbitMqBroker"/>, it throws with the node's log tail when the node does not come up.
/// </summary>
public sealed class TlsBroker : IAsyncLifetime
{
    private BrokerNode? _node;

    public BrokerNode Node => _node ?? throw new InvalidOperationException("The TLS broker has not been started.");

    public async Task InitializeAsync() => _node = await BrokerNode.StartNewAsync("kombo-tls", tls: true);

    public async Task DisposeAsync()
    {
        if (_node is not null)
        {
            await _node.DisposeAsync();
        }
    }
}
