using System.Diagnostics;
using Kombo.Contracts;
using Kombo.Worker.Outbox;
using Kombo.Worker.Tests.Support;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace Kombo.Worker.Tests.Outbox;

/// <summary>The caller's W3C baggage stays with the caller unless OpenTelemetry:ForwardBaggage says otherwise.</summary>
// Activity.Current is ambient: run alone, like the other trace tests.
[Collection(nameof(OutboxTraceTests))]
public sealed class OutboxBaggageTests
{
    [Fact]
    public async Task Rows_carry_the_trace_context_but_not_the_callers_baggage_by_default()
    {
        var (traceParent, baggage, expected) = await CommitUnderCallerTraceAsync([]);

        Assert.Equal(expected, traceParent);
        Assert.Null(baggage);
    }

    [Fact]
    public async Task Rows_carry_the_callers_baggage_when_forwarding_is_configured()
    {
        var (traceParent, baggage, expected) = await CommitUnderCallerTraceAsync(new() { ["OpenTelemetry:ForwardBaggage"] = "true" });

        Assert.Equal(expected, traceParent);
        Assert.Equal("user.email=admin%40acme.test", baggage);
    }

    private static async Task<(string? TraceParent, string? Baggage, string? Expected)> CommitUnderCallerTraceAsync(Dictionary<string, string?> settings)
    {
        await using var harness = await Harness.StartAsync(settings);
        await harness.StopRelayAsync();
        var outbox = harness.Services.GetRequiredService<TransactionalOutbox>();
        var correlationId = NewId.NextGuid();
        var message = OutgoingMessage.Event(NewId.NextGuid(), new IntegrationDeleted { IntegrationId = "int-1", Tool = "personio" }, correlationId, null);

        using var caller = new Activity("caller").SetIdFormat(ActivityIdFormat.W3C).AddBaggage("user.email", "admin@acme.test").Start();
        await outbox.CommitAsync(
            new InboxEntry(NewId.NextGuid(), "test", correlationId, "succeeded"), (_, _, _) => [message], CancellationToken.None);
        caller.Stop();

        using var connection = harness.OpenDatabase();
        var row = Dapper.SqlMapper.QuerySingle<(string? TraceParent, string? Baggage)>(
            connection, "SELECT trace_parent AS TraceParent, baggage AS Baggage FROM outbox WHERE message_id = @Id", new { Id = message.MessageId.ToString() });
        return (row.TraceParent, row.Baggage, caller.Id);
    }
}
