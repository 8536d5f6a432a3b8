using System.Diagnostics;
using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.KomboApi;
using Kombo.Worker.Outbox;
using Kombo.Worker.Tests.Support;
using MassTransit;
using MassTransit.Logging;
using MassTransit.Testing;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace Kombo.Worker.Tests.Outbox;

/// <summary>One trace from the consume of a command, through its Kombo call and commit, to the relay's publish.</summary>
// Activity listeners see every span in the process: run alone, so that no other test's consume span is exported here.
[Collection(nameof(OutboxTraceTests))]
public sealed class OutboxTraceTests
{
    [Fact]
    public async Task Consume_kombo_call_and_the_relays_publish_share_one_trace()
    {
        var spans = new List<Activity>();
        using var tracing = Sdk.CreateTracerProviderBuilder()
            .AddSource(DiagnosticHeaders.DefaultListenerName, KomboCallTelemetry.ActivitySourceName, OutboxTrace.ActivitySourceName)
            .AddInMemoryExporter(spans)
            .Build();
        await using var harness = await Harness.StartAsync();
        var command = new CreateConnectLink
        {
            CorrelationId = NewId.NextGuid(),
            EndUserEmail = "admin@acme.test",
            EndUserOrganizationName = "Acme, Inc.",
            EndUserOriginId = "customer-trace",
            IntegrationTool = "personio",
        };

        await harness.Bus.Bus.Publish(command);

        Assert.True(await harness.Bus.Published.Any<LinkCreated>(m => m.Context.Message.CorrelationId == command.CorrelationId));
        await Eventually.HoldsAsync(() =>
        {
            tracing.ForceFlush();
            lock (spans)
            {
                // The relay may publish before the consume span ends: the writer hands rows over before it completes
                // the consumer's commit.
                return spans.Any(s => s.Source.Name == OutboxTrace.ActivitySourceName) && spans.Any(IsConsume);
            }
        }, "the relay's publish span and the consume span were exported");

        List<Activity> exported;
        lock (spans)
        {
            exported = [.. spans];
        }

        var consume = exported.Single(IsConsume);
        var komboCall = exported.Single(s => s.Source.Name == KomboCallTelemetry.ActivitySourceName);
        var relayPublish = exported.Single(s => s.Source.Name == OutboxTrace.ActivitySourceName);
        var brokerSend = exported.Where(s => s.Source.Name == DiagnosticHeaders.DefaultListenerName && s.Kind == ActivityKind.Producer
            && s.ParentSpanId == relayPublish.SpanId).ToList();

        Assert.Equal(consume.TraceId, komboCall.TraceId);
        Assert.Equal(consume.TraceId, relayPublish.TraceId);
        Assert.Equal(consume.SpanId, relayPublish.ParentSpanId);
        Assert.NotEmpty(brokerSend);
        Assert.All(brokerSend, send => Assert.Equal(consume.TraceId, send.TraceId));
    }

    private static bool IsConsume(Activity span) => span.Source.Name == DiagnosticHeaders.DefaultListenerName
        && span.Kind == ActivityKind.Consumer && span.DisplayName == "create-connect-link process";
}

[CollectionDefinition(nameof(OutboxTraceTests), DisableParallelization = true)]
public sealed class OutboxTraceCollection;
