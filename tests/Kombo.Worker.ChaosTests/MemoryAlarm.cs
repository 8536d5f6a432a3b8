using Kombo.Testing;

namespace Kombo.Worker.ChaosTests;

/// <summary>
/// A RabbitMQ memory alarm (a watermark far below what the node uses): the broker blocks every publishing connection
/// until it is cleared. Cleared on dispose too, so a failing test leaves the shared node taking publishes.
/// </summary>
public sealed class MemoryAlarm : IAsyncDisposable
{
    private readonly BrokerNode _node;
    private bool _raised;

    private MemoryAlarm(BrokerNode node) => _node = node;

    public static async Task<MemoryAlarm> RaiseAsync(BrokerNode node)
    {
        var alarm = new MemoryAlarm(node);
        await node.RabbitMqCtlAsync(["set_vm_memory_high_watermark", "0.0001"]);
        alarm._raised = true;
        return alarm;
    }

    public async Task ClearAsync()
    {
        if (_raised)
        {
            await _node.RabbitMqCtlAsync(["set_vm_memory_high_watermark", "0.4"]);
            _raised = false;
        }
    }

    public async ValueTask DisposeAsync() => await ClearAsync();
}
