using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.IntegrationTests.Infrastructure;
using Kombo.Worker.Outbox;

namespace Kombo.Worker.IntegrationTests.Messaging;

/// <summary>
/// The Python subscriber of docs/examples, written from the docs alone, receives every event type the worker publishes
/// from a real worker on the real broker (Debian's python3-pika, which scripts/test.sh installs).
/// </summary>
[Collection("broker")]
public sealed class PythonSubscriberTests(RabbitMqBroker broker) : IAsyncLifetime
{
    private const string Python = "/usr/bin/python3";
    private readonly string _virtualHost = $"python-{Guid.NewGuid():N}";
    private KomboEmulatorFixture _kombo = null!;
    private WorkerUnderTest _worker = null!;

    public async Task InitializeAsync()
    {
        await broker.Node.CreateVirtualHostAsync(_virtualHost);
        (_kombo, var webhookSettings, _) = await WebhookedKombo.ForInProcessWorkerAsync();
        _worker = await WorkerUnderTest.StartAsync(broker, _virtualHost, _kombo, webhookSettings);
    }

    public async Task DisposeAsync()
    {
        await _worker.DisposeAsync();
        await _kombo.DisposeAsync();
    }

    [Fact]
    public async Task Documented_python_subscriber_receives_every_event_type()
    {
        Assert.True(File.Exists(Python), $"{Python} is missing: apt-get install python3-pika (scripts/test.sh does).");
        var lines = new ConcurrentQueue<string>();
        var start = new ProcessStartInfo(Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["PYTHONUNBUFFERED"] = "1" },
        };
        start.ArgumentList.Add(Path.Combine(RepositoryPaths.Root, "docs", "examples", "subscriber.py"));
        start.ArgumentList.Add($"amqp://{broker.Node.Username}:{broker.Node.Password}@{broker.Node.Host}:{broker.Node.Port}/{Uri.EscapeDataString(_virtualHost)}");
        using var subscriber = Process.Start(start)!;
        subscriber.OutputDataReceived += (_, e) => { if (e.Data is not null) { lines.Enqueue(e.Data); } };
        subscriber.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lines.Enqueue("stderr: " + e.Data); } };
        subscriber.BeginOutputReadLine();
        subscriber.BeginErrorReadLine();
        try
        {
            await Eventually.HoldsAsync(() => lines.Contains("waiting for events (Ctrl-C to stop)") || subscriber.HasExited,
                "the subscriber bound its queue");
            Assert.False(subscriber.HasExited, string.Join(Environment.NewLine, lines));

            await DriveEveryEventAsync();

            var expected = OutboxMessageTypes.All.Select(t => t.Name).ToList();
            await Eventually.HoldsAsync(() => expected.All(type => lines.Any(l => l.StartsWith(type + ": ", StringComparison.Ordinal))),
                $"the subscriber printed every event type; it printed:{Environment.NewLine}{string.Join(Environment.NewLine, lines)}",
                TimeSpan.FromSeconds(60));
            Assert.DoesNotContain(lines, l => l.Contains("connect/v1?token=", StringComparison.Ordinal));
        }
        finally
        {
            subscriber.Kill(entireProcessTree: true);
        }
    }

    private async Task DriveEveryEventAsync()
    {
        await using var probe = await AmqpClient.ConnectAsync(broker.Node, _virtualHost);
        await probe.ListenAsync(nameof(LinkCreated), nameof(ReconnectionLinkCreated));
        var link = await CreateLinkAsync(probe, "customer-py", "EMBEDDED");
        var completed = await _kombo.Client.CompleteLinkAsync(link);
        await Send(probe, "redeem-connect-token", new { correlationId = Guid.NewGuid(), token = completed.Token, expectedEndUserOriginId = "customer-py" });
        await Send(probe, "redeem-connect-token", new { correlationId = Guid.NewGuid(), token = "unknown-token", expectedEndUserOriginId = "customer-py" });
        await Send(probe, "create-connect-link", new { correlationId = Guid.NewGuid(), endUserEmail = "not-an-email", endUserOrganizationName = "Acme" });
        await Send(probe, "create-reconnection-link", new { correlationId = Guid.NewGuid(), integrationId = "personio:unknown" });
        await Send(probe, "create-reconnection-link", new { correlationId = Guid.NewGuid(), integrationId = completed.IntegrationId });
        await Eventually.HoldsAsync(() => probe.Of(nameof(ReconnectionLinkCreated)).Any(), "the reconnection link was created");
        await _kombo.Client.SetIntegrationStateAsync(completed.IntegrationId, "INVALID");
        await _kombo.Client.DeleteIntegrationAsync(completed.IntegrationId);
        await _kombo.Client.FailLinkAsync(await CreateLinkAsync(probe, "customer-py-2", "EMBEDDED"));
    }

    private static Task Send(AmqpClient probe, string queue, object command) =>
        probe.PublishJsonAsync(queue, JsonSerializer.Serialize(command), messageId: Guid.NewGuid().ToString());

    private static async Task<string> CreateLinkAsync(AmqpClient probe, string originId, string linkType)
    {
        var correlationId = Guid.NewGuid().ToString();
        await Send(probe, "create-connect-link", new
        {
            correlationId,
            endUserEmail = "admin@acme.test",
            endUserOrganizationName = "Acme, Inc.",
            endUserOriginId = originId,
            integrationTool = "personio",
            linkType,
        });
        await Eventually.HoldsAsync(() => probe.Of(nameof(LinkCreated)).Any(d => d.CorrelationId == correlationId), $"LinkCreated for {originId}");
        return probe.Of(nameof(LinkCreated)).Single(d => d.CorrelationId == correlationId).Message.GetProperty("link").GetString()!;
    }
}
