using System.Text;
using System.Text.Json;
using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.ErrorQueues;
using Kombo.Worker.IntegrationTests.Infrastructure;
using RabbitMQ.Client;

namespace Kombo.Worker.IntegrationTests.ErrorQueues;

/// <summary><c>Kombo.Worker errors</c> against a running worker's error queues on the real broker.</summary>
[Collection("broker")]
public sealed class ErrorQueueToolTests(RabbitMqBroker broker, KomboEmulatorFixture kombo) : IClassFixture<KomboEmulatorFixture>, IAsyncLifetime
{
    private readonly string _virtualHost = $"errors-tool-{Guid.NewGuid():N}";

    public Task InitializeAsync() => broker.Node.CreateVirtualHostAsync(_virtualHost);

    public Task DisposeAsync() => Task.CompletedTask;

    private async Task<(int Exit, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        string[] withBroker = [.. args, "--uri", $"amqp://{broker.Node.Username}:{broker.Node.Password}@{broker.Node.Host}:{broker.Node.Port}/{Uri.EscapeDataString(_virtualHost)}"];
        var exit = await ErrorQueueTool.RunAsync(withBroker, output, error, () => throw new InvalidOperationException("settings are not read with --uri"));
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Error_queue_messages_are_listed_redacted_replayed_and_purged()
    {
        await using var worker = await WorkerUnderTest.StartAsync(broker, _virtualHost, kombo);
        await using var probe = await AmqpClient.ConnectAsync(broker.Node, _virtualHost);
        await probe.ListenAsync(nameof(LinkCreated));
        var channel = probe.Channel;
        await using var connection = await broker.Node.CreateConnectionFactory(_virtualHost).CreateConnectionAsync();

        // What a fault leaves behind: a valid command in the error queue, the failure in MassTransit's headers.
        await channel.QueueDeclareAsync("create-connect-link_error", durable: true, exclusive: false, autoDelete: false);
        var replayable = Guid.NewGuid().ToString();
        var correlationId = Guid.NewGuid().ToString();
        await channel.BasicPublishAsync("", "create-connect-link_error", mandatory: true, new BasicProperties
        {
            MessageId = replayable,
            ContentType = "application/json",
            DeliveryMode = DeliveryModes.Persistent,
            Headers = new Dictionary<string, object?>
            {
                ["MT-Fault-Message"] = Encoding.UTF8.GetBytes("simulated outage of the store"),
                ["MT-Fault-ExceptionType"] = Encoding.UTF8.GetBytes("System.IO.IOException"),
                ["MT-Reason"] = Encoding.UTF8.GetBytes("fault"),
            },
        }, Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            correlationId,
            endUserEmail = "admin@acme.test",
            endUserOrganizationName = "Acme, Inc.",
            endUserOriginId = "customer-errors",
            integrationTool = "personio",
        })));
        // And a message the worker itself refused: a token in a body that is not a command.
        const string token = "tok_secret_value_never_shown";
        await probe.PublishJsonAsync("redeem-connect-token", $$"""{"correlationId":"{{Guid.NewGuid()}}","token":"{{token}}","expectedEndUserOriginId":7}""",
            messageId: Guid.NewGuid().ToString());
        await Eventually.HoldsAsync(() => MessagesIn(connection, "redeem-connect-token_error") == 1, "the malformed command reached its error queue");

        var listed = await RunAsync("list");
        Assert.Equal(0, listed.Exit);
        Assert.Contains($"create-connect-link_error  {replayable}", listed.Output, StringComparison.Ordinal);
        Assert.Contains("simulated outage of the store", listed.Output, StringComparison.Ordinal);
        Assert.Contains("redeem-connect-token_error", listed.Output, StringComparison.Ordinal);
        Assert.Contains("2 message(s)", listed.Output, StringComparison.Ordinal);

        var shown = await RunAsync("show", replayable, "--json");
        var json = JsonDocument.Parse(shown.Output).RootElement.GetProperty("messages")[0];
        Assert.Equal("System.IO.IOException", json.GetProperty("exceptionType").GetString());
        Assert.Equal(correlationId, json.GetProperty("body").GetProperty("correlationId").GetString());
        var all = await RunAsync("list", "--json");
        Assert.DoesNotContain(token, all.Output, StringComparison.Ordinal);
        Assert.Contains("[redacted]", all.Output, StringComparison.Ordinal);
        Assert.Equal(2u, MessagesIn(connection, "create-connect-link_error") + MessagesIn(connection, "redeem-connect-token_error"));

        var replayed = await RunAsync("replay", "--all", "--reason", "simulated");
        Assert.Contains("replayed 1 message(s)", replayed.Output, StringComparison.Ordinal);
        await Eventually.HoldsAsync(() => probe.Of(nameof(LinkCreated)).Any(d => d.CorrelationId == correlationId), "the replayed command was handled");
        Assert.Equal(0u, MessagesIn(connection, "create-connect-link_error"));
        Assert.Equal(1u, MessagesIn(connection, "redeem-connect-token_error"));

        var purged = await RunAsync("purge", "--all", "--queue", "redeem-connect-token");
        Assert.Contains("purged 1 message(s)", purged.Output, StringComparison.Ordinal);
        Assert.Equal(0u, MessagesIn(connection, "redeem-connect-token_error"));

        var missing = await RunAsync("show", "no-such-id");
        Assert.Equal(1, missing.Exit);
        Assert.Contains("no message no-such-id", missing.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "replay" }, "replay takes a message id or --all")]
    [InlineData(new[] { "list", "--queue", "nope" }, "unknown queue 'nope'")]
    [InlineData(new[] { "frobnicate" }, "unknown command 'frobnicate'")]
    public async Task Wrong_command_lines_are_refused_with_exit_code_2(string[] args, string expected)
    {
        var (exit, _, error) = await RunAsync(args);

        Assert.Equal(2, exit);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    // A missing queue (MassTransit declares an error queue with its first message) counts as empty; asking closes the
    // channel asked, so each question gets a channel of its own.
    private static uint MessagesIn(IConnection connection, string queue)
    {
        using var own = connection.CreateChannelAsync().GetAwaiter().GetResult();
        try
        {
            return own.MessageCountAsync(queue).GetAwaiter().GetResult();
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            return 0;
        }
    }
}
