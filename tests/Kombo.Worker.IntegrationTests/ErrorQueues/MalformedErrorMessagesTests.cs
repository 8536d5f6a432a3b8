using System.Text;
using System.Text.Json;
using Kombo.Testing;
using Kombo.Worker.ErrorQueues;
using RabbitMQ.Client;

namespace Kombo.Worker.IntegrationTests.ErrorQueues;

/// <summary>
/// <c>Kombo.Worker errors</c> on an error queue that holds whatever a publisher sent: each unreadable body is listed and
/// shown as such, with the reason and never with a secret, and the other messages are still replayed and purged.
/// </summary>
[Collection("broker")]
public sealed class MalformedErrorMessagesTests(RabbitMqBroker broker) : IAsyncLifetime
{
    private const string ErrorQueue = "create-connect-link_error";
    private const string CommandQueue = "create-connect-link";

    private readonly string _virtualHost = $"errors-malformed-{Guid.NewGuid():N}";

    // Every body holds a secret the tool must never print; the reason the tool gives must name the problem.
    private static readonly (string Id, byte[] Body, string Reason)[] Corpus =
    [
        ("duplicate-keys", Encoding.UTF8.GetBytes("""{"correlationId":"c1","token":"tok_dup_one_secret","token":"tok_dup_two_secret"}"""),
            "property name appears more than once"),
        ("invalid-utf8", [.. Encoding.UTF8.GetBytes("""{"token":"tok_utf8_secret"""), 0xff, 0xfe, .. Encoding.UTF8.GetBytes("\"}")], "not UTF-8"),
        ("binary", [0x00, 0x01, 0x02, .. Encoding.UTF8.GetBytes("tok_binary_secret"), 0x00, 0x9c, 0xff], "not UTF-8"),
        ("deep-nesting", Encoding.UTF8.GetBytes("""{"token":"tok_deep_secret","n":""" + new string('[', 10_000) + new string(']', 10_000) + "}"),
            "nested deeper than"),
        ("ten-megabytes", Encoding.UTF8.GetBytes("""{"token":"tok_big_secret","padding":""" + "\"" + new string('a', 10 * 1024 * 1024) + "\"}"),
            "larger than"),
        ("empty", [], "empty"),
        ("json-scalar", Encoding.UTF8.GetBytes("\"tok_scalar_secret\""), "a JSON string, not an object"),
        ("not-json", Encoding.UTF8.GetBytes("token=tok_text_secret&link=https://connect.kombo.test/x"), "not JSON"),
    ];

    public Task InitializeAsync() => broker.Node.CreateVirtualHostAsync(_virtualHost);

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Every_malformed_body_is_listed_and_shown_with_its_reason_and_the_others_are_replayed_and_purged()
    {
        await using var connection = await broker.Node.CreateConnectionFactory(_virtualHost).CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        await channel.QueueDeclareAsync(ErrorQueue, durable: true, exclusive: false, autoDelete: false);
        await channel.QueueDeclareAsync(CommandQueue, durable: true, exclusive: false, autoDelete: false);
        foreach (var (id, body, _) in Corpus)
        {
            await PublishAsync(channel, id, body);
        }

        var good = Guid.NewGuid().ToString();
        await PublishAsync(channel, good, Encoding.UTF8.GetBytes(
            """{"correlationId":"3f2504e0-4f89-11d3-9a0c-0305e82c3301","endUserEmail":"admin@acme.test","token":"tok_good_secret","link":"https://connect.kombo.test/v1?token=tok_link_secret"}"""));

        var listed = await RunAsync("list", "--queue", CommandQueue);
        var listedJson = await RunAsync("list", "--queue", CommandQueue, "--json");

        Assert.Equal((0, ""), (listed.Exit, listed.Error));
        Assert.Contains($"{Corpus.Length + 1} message(s)", listed.Output, StringComparison.Ordinal);
        var messages = JsonDocument.Parse(listedJson.Output).RootElement.GetProperty("messages").EnumerateArray().ToList();
        foreach (var (id, body, reason) in Corpus)
        {
            var line = Assert.Single(listed.Output.Split('\n'), l => l.Contains($"  {id}  ", StringComparison.Ordinal));
            Assert.Contains(reason, line, StringComparison.Ordinal);
            var json = Assert.Single(messages, m => m.GetProperty("messageId").GetString() == id);
            Assert.Contains(reason, json.GetProperty("bodyProblem").GetString(), StringComparison.Ordinal);
            Assert.Equal(JsonValueKind.Null, json.GetProperty("body").ValueKind);
            Assert.Equal(body.Length, json.GetProperty("bodyBytes").GetInt32());

            var shown = await RunAsync("show", id, "--queue", CommandQueue);
            Assert.Equal(0, shown.Exit);
            Assert.Contains(reason, shown.Output, StringComparison.Ordinal);
            AssertNoSecret(shown.Output);
        }

        AssertNoSecret(listed.Output + listedJson.Output);
        var goodJson = Assert.Single(messages, m => m.GetProperty("messageId").GetString() == good);
        Assert.Equal(JsonValueKind.Null, goodJson.GetProperty("bodyProblem").ValueKind);
        Assert.Equal("[redacted]", goodJson.GetProperty("body").GetProperty("token").GetString());

        var replayed = await RunAsync("replay", good, "--queue", CommandQueue);
        Assert.Equal(0, replayed.Exit);
        Assert.Contains("replayed 1 message(s)", replayed.Output, StringComparison.Ordinal);
        Assert.Equal(1u, await channel.MessageCountAsync(CommandQueue));

        var purgedOne = await RunAsync("purge", "duplicate-keys", "--queue", CommandQueue);
        Assert.Contains("purged 1 message(s)", purgedOne.Output, StringComparison.Ordinal);
        var purgedAll = await RunAsync("purge", "--all", "--queue", CommandQueue);
        Assert.Contains($"purged {Corpus.Length - 1} message(s)", purgedAll.Output, StringComparison.Ordinal);
        AssertNoSecret(replayed.Output + purgedOne.Output + purgedAll.Output);
        Assert.Equal(0u, await channel.MessageCountAsync(ErrorQueue));
    }

    private static void AssertNoSecret(string output)
    {
        Assert.DoesNotContain("_secret", output, StringComparison.Ordinal);
        Assert.DoesNotContain("connect.kombo.test/v1", output, StringComparison.Ordinal);
    }

    private static async Task PublishAsync(IChannel channel, string id, byte[] body) =>
        await channel.BasicPublishAsync("", ErrorQueue, mandatory: true, new BasicProperties
        {
            MessageId = id,
            DeliveryMode = DeliveryModes.Persistent,
            Headers = new Dictionary<string, object?> { ["MT-Fault-Message"] = Encoding.UTF8.GetBytes("simulated fault") },
        }, body);

    private async Task<(int Exit, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        string[] withBroker = [.. args, "--uri", $"amqp://{broker.Node.Username}:{broker.Node.Password}@{broker.Node.Host}:{broker.Node.Port}/{Uri.EscapeDataString(_virtualHost)}"];
        var exit = await ErrorQueueTool.RunAsync(withBroker, output, error, () => throw new InvalidOperationException("settings are not read with --uri"));
        return (exit, output.ToString(), error.ToString());
    }
}
