using System.Text;
using Kombo.Testing;
using Kombo.Worker.IntegrationTests.Infrastructure;
using RabbitMQ.Client;

namespace Kombo.Worker.IntegrationTests.Infrastructure;

/// <summary>The test run's own RabbitMQ node behaves like the real broker the worker runs against.</summary>
[Collection(BrokerCollection.Name)]
public sealed class RabbitMqBrokerTests(RabbitMqBroker broker) : IAsyncLifetime
{
    private readonly string _virtualHost = $"broker-tests-{Guid.NewGuid():N}";

    public Task InitializeAsync() => broker.Node.CreateVirtualHostAsync(_virtualHost);

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Node_is_the_tests_own_and_round_trips_a_message()
    {
        Assert.NotEqual(5672, broker.Node.Port);
        Assert.StartsWith("kombo-test-", broker.Node.NodeName, StringComparison.Ordinal);

        var factory = new ConnectionFactory { Uri = broker.Node.AmqpUri(_virtualHost) };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var queue = (await channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true)).QueueName;

        await channel.BasicPublishAsync("", queue, Encoding.UTF8.GetBytes("hello"));

        Assert.Equal("hello", await GetAsync(channel, queue));
    }

    [Fact]
    public async Task Connections_recover_after_the_broker_restarts_and_durable_messages_survive()
    {
        var factory = broker.Node.CreateConnectionFactory(_virtualHost);
        await using var connection = await factory.CreateConnectionAsync();
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var recovered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.ConnectionShutdownAsync += (_, _) =>
        {
            lost.TrySetResult();
            return Task.CompletedTask;
        };
        connection.RecoverySucceededAsync += (_, _) =>
        {
            recovered.TrySetResult();
            return Task.CompletedTask;
        };
        await using var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        var queue = $"restart-{Guid.NewGuid():N}";
        await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
        var persistent = new BasicProperties { DeliveryMode = DeliveryModes.Persistent };
        await channel.BasicPublishAsync("", queue, mandatory: true, persistent, Encoding.UTF8.GetBytes("before the restart"));

        await broker.Node.StopAppAsync();
        try
        {
            await lost.Task.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.False(connection.IsOpen);
        }
        finally
        {
            await broker.Node.StartAppAsync();
        }

        await recovered.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(connection.IsOpen);
        Assert.Equal("before the restart", await GetAsync(channel, queue));
        await channel.BasicPublishAsync("", queue, mandatory: true, persistent, Encoding.UTF8.GetBytes("after the restart"));
        Assert.Equal("after the restart", await GetAsync(channel, queue));
        await channel.QueueDeleteAsync(queue);
    }

    [Fact]
    public async Task Virtual_host_names_that_a_shell_would_interpret_are_refused()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => broker.Node.CreateVirtualHostAsync("tests; rm -rf /"));
        await Assert.ThrowsAsync<ArgumentException>(() => broker.Node.CreateVirtualHostAsync("$(id)"));
    }

    /// <summary>basic.get until a message arrives: a publish is routed asynchronously.</summary>
    private static async Task<string> GetAsync(IChannel channel, string queue)
    {
        BasicGetResult? result = null;
        await Eventually.HoldsAsync(
            async () => (result = await channel.BasicGetAsync(queue, autoAck: true)) is not null,
            $"a message arrived in {queue}", TimeSpan.FromSeconds(10));
        return Encoding.UTF8.GetString(result!.Body.Span);
    }
}
