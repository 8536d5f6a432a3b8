using System.Net;
using System.Text.Json;
using Dapper;
using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.IntegrationTests.Infrastructure;
using Kombo.Worker.Outbox;
using Kombo.Worker.OutboxTool;
using Kombo.Worker.Storage;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace Kombo.Worker.IntegrationTests.Operations;

/// <summary>What an operator sees of the real worker on a real broker: health endpoints, /metrics and the outbox tool.</summary>
[Collection(BrokerCollection.Name)]
public sealed class OperationsTests(RabbitMqBroker broker, KomboEmulatorFixture kombo) : IClassFixture<KomboEmulatorFixture>, IAsyncLifetime
{
    private readonly string _virtualHost = $"operations-{Guid.NewGuid():N}";
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public Task InitializeAsync() => broker.Node.CreateVirtualHostAsync(_virtualHost);

    public Task DisposeAsync()
    {
        _http.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Ready_is_healthy_with_the_broker_the_database_and_the_outbox_listed()
    {
        await using var worker = await WorkerUnderTest.StartAsync(broker, _virtualHost, kombo);

        using var live = await _http.GetAsync(new Uri(worker.BaseAddress, "/health/live"));
        using var ready = await _http.GetAsync(new Uri(worker.BaseAddress, "/health/ready"));

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        Assert.Equal("Healthy", body.RootElement.GetProperty("status").GetString());
        var checks = body.RootElement.GetProperty("checks");
        Assert.Equal("Healthy", checks.GetProperty("masstransit-bus").GetProperty("status").GetString());
        Assert.Equal("Healthy", checks.GetProperty("database").GetProperty("status").GetString());
        Assert.Equal("Healthy", checks.GetProperty("outbox").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Ready_fails_with_503_while_a_pending_row_waits_longer_than_the_limit()
    {
        await using var worker = await WorkerUnderTest.StartAsync(broker, _virtualHost, kombo, new() { ["Health:OutboxStuckAfter"] = "00:00:30", ["Health:Details"] = "true" });
        await AppendAsync(worker, createdAgo: TimeSpan.FromMinutes(2), state: "UPDATE outbox SET next_attempt_at = @Far WHERE sequence = @Sequence");

        using var ready = await _http.GetAsync(new Uri(worker.BaseAddress, "/health/ready"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        var outbox = body.RootElement.GetProperty("checks").GetProperty("outbox");
        Assert.Equal("Unhealthy", outbox.GetProperty("status").GetString());
        Assert.Equal(1, outbox.GetProperty("data").GetProperty("pending").GetInt64());
        Assert.Equal("Healthy", body.RootElement.GetProperty("checks").GetProperty("masstransit-bus").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Metrics_show_the_worker_series_after_a_command_was_handled()
    {
        await using var worker = await WorkerUnderTest.StartAsync(broker, _virtualHost, kombo);
        await using var probe = await AmqpClient.ConnectAsync(broker.Node, _virtualHost);
        await probe.ListenAsync(nameof(LinkCreated));
        var endpoint = await worker.Services.GetRequiredService<IBus>().GetSendEndpoint(new Uri("queue:create-connect-link"));

        await endpoint.Send(new CreateConnectLink
        {
            CorrelationId = NewId.NextGuid(),
            EndUserEmail = "admin@acme.test",
            EndUserOrganizationName = "Acme, Inc.",
            EndUserOriginId = "customer-1",
            IntegrationTool = "personio",
        });
        await Eventually.HoldsAsync(() => probe.Of(nameof(LinkCreated)).Any(), "LinkCreated reached the subscriber");

        var metrics = "";
        await Eventually.HoldsAsync(() =>
        {
            metrics = _http.GetStringAsync(new Uri(worker.BaseAddress, "/metrics")).GetAwaiter().GetResult();
            return metrics.Contains("kombo_worker_outbox_published_total", StringComparison.Ordinal);
        }, "/metrics counted the published event");

        Assert.Contains("kombo_worker_commands_total{", metrics, StringComparison.Ordinal);
        Assert.Matches("kombo_worker_kombo_calls_total\\{[^}]*kombo_endpoint=\"create-link\"[^}]*kombo_outcome=\"succeeded\"", metrics);
        Assert.Matches("kombo_worker_kombo_call_duration_seconds_bucket\\{[^}]*kombo_endpoint=\"create-link\"", metrics);
        Assert.Contains("kombo_worker_outbox_relay_latency_seconds_bucket", metrics, StringComparison.Ordinal);
        Assert.Contains("kombo_worker_outbox_confirm_latency_seconds_bucket", metrics, StringComparison.Ordinal);
        Assert.Contains("kombo_worker_outbox_pending_rows", metrics, StringComparison.Ordinal);
        Assert.Contains("kombo_worker_outbox_oldest_pending_age_seconds", metrics, StringComparison.Ordinal);
        Assert.Contains("kombo_worker_outbox_parked_rows", metrics, StringComparison.Ordinal);
        Assert.Contains("kombo_worker_inbox_rows", metrics, StringComparison.Ordinal);
        Assert.Contains("kombo_worker_kombo_circuit_state", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("token=", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_parked_row_replayed_with_the_tool_is_published_by_the_running_relay()
    {
        await using var worker = await WorkerUnderTest.StartAsync(broker, _virtualHost, kombo);
        await using var probe = await AmqpClient.ConnectAsync(broker.Node, _virtualHost);
        await probe.ListenAsync(nameof(LinkCreated));
        var (sequence, messageId) = await AppendAsync(worker, createdAgo: TimeSpan.FromMinutes(1),
            state: "UPDATE outbox SET parked_at = @Now, attempts = 10, last_error = 'boom' WHERE sequence = @Sequence");
        var database = worker.Services.GetRequiredService<SqliteDatabase>().FilePath;

        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = OutboxToolCommand.Run(["replay", messageId.ToString(), "--database", database], new OutboxToolContext(output, error, TimeProvider.System));

        Assert.Equal("", error.ToString());
        Assert.Equal(0, exitCode);
        await Eventually.HoldsAsync(() => probe.Deliveries.Any(d => d.EnvelopeMessageId == messageId.ToString()), "the replayed row reached the subscriber");
        await Eventually.HoldsAsync(() => Scalar<long?>(worker, "SELECT sent_at FROM outbox WHERE sequence = @Sequence", new { Sequence = sequence }) is not null,
            "the replayed row was marked sent");
    }

    /// <summary>Appends one row and puts it in <paramref name="state"/> in the same transaction, so the relay never sees it due before.</summary>
    private static async Task<(long Sequence, Guid MessageId)> AppendAsync(WorkerUnderTest worker, TimeSpan createdAgo, string state)
    {
        var correlationId = NewId.NextGuid();
        var message = new LinkCreated { CorrelationId = correlationId, Link = "https://connect.kombo.test/replayed", LinkType = "EMBEDDED" };
        var row = new OutgoingMessage(NewId.NextGuid(), nameof(LinkCreated), OutboxMessageTypes.Serialize(message),
            correlationId, null, null, null, null, null);
        var now = TimeProvider.System.GetUtcNow();
        var sequence = await worker.Services.GetRequiredService<SqliteWriter>().WriteAsync((connection, transaction) =>
        {
            OutboxStore.Append(connection, transaction, [row], now - createdAgo);
            var sequence = connection.ExecuteScalar<long>("SELECT last_insert_rowid()", transaction: transaction);
            connection.Execute(state, new { Sequence = sequence, Now = now.ToUnixTimeMilliseconds(), Far = now.AddDays(1).ToUnixTimeMilliseconds() }, transaction);
            return sequence;
        });
        return (sequence, row.MessageId);
    }

    private static T? Scalar<T>(WorkerUnderTest worker, string sql, object parameters)
    {
        using var connection = worker.Services.GetRequiredService<SqliteDatabase>().Open();
        return connection.ExecuteScalar<T>(sql, parameters);
    }
}
