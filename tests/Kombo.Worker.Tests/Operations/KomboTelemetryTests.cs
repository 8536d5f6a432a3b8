using System.Collections.Concurrent;
using System.Diagnostics;
using Kombo.Worker.KomboApi;
using Kombo.Worker.Operations;
using Kombo.Worker.Tests.KomboApi;
using Kombo.Worker.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Kombo.Worker.Tests.Operations;

/// <summary>The Kombo client with the worker's telemetry: one span and one counted call per call, retries, circuit state.</summary>
public sealed class KomboTelemetryTests : IDisposable
{
    private const string Token = "secret-connect-token-4711";

    private readonly TestClock _clock = new();
    private readonly FakeKombo _kombo;
    private readonly ServiceProvider _provider;
    private readonly MeterReadings _readings;
    private readonly ActivityListener _spans;
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly Activity _test = new("kombo-telemetry-test");

    public KomboTelemetryTests()
    {
        _kombo = FakeKombo.AnsweringLinks(_clock);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kombo:BaseUrl"] = "http://kombo.test/v1/",
            ["Kombo:ApiKey"] = "test-api-key",
            ["Kombo:MaxRetryAttempts"] = "4",
            ["Kombo:RetryBaseDelay"] = "00:00:00",
            ["Kombo:RetryMaxDelay"] = "00:00:00",
            ["Kombo:CircuitBreakerMinimumThroughput"] = "4",
            ["Kombo:CircuitBreakerFailureRatio"] = "1",
        }).Build();
        var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton<TimeProvider>(_clock)
            .AddKomboApi(configuration)
            .AddTelemetry(configuration);
        services.AddHttpClient<KomboClient>().ConfigurePrimaryHttpMessageHandler(() => _kombo);
        _provider = services.BuildServiceProvider();
        _readings = new MeterReadings(_provider.GetRequiredService<WorkerMetrics>().Meter);

        _test.Start();
        var traceId = _test.TraceId;
        _spans = new ActivityListener
        {
            ShouldListenTo = source => source.Name == KomboCallTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.TraceId == traceId)
                {
                    _stopped.Enqueue(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(_spans);
    }

    public void Dispose()
    {
        _test.Stop();
        _spans.Dispose();
        _readings.Dispose();
        _provider.Dispose();
    }

    private KomboClient Client => _provider.GetRequiredService<KomboClient>();

    [Fact]
    public async Task A_call_retried_twice_is_one_span_one_succeeded_call_and_two_retries()
    {
        _kombo.Then(() => KomboResponses.Text(503, "busy")).Then(() => KomboResponses.Empty(502)).Then(() => KomboResponses.Integration());

        var result = await Client.GetIntegrationByTokenAsync(Token, CancellationToken.None);

        Assert.True(result.IsSuccess);
        var span = Assert.Single(_stopped);
        Assert.Equal("kombo integration-by-token", span.DisplayName);
        Assert.Equal(ActivityKind.Client, span.Kind);
        Assert.Equal("integration-by-token", span.GetTagItem("kombo.endpoint"));
        Assert.Equal(200, span.GetTagItem("http.response.status_code"));
        Assert.Equal(3, span.GetTagItem("kombo.attempts"));
        Assert.Equal("succeeded", span.GetTagItem("kombo.outcome"));
        Assert.Equal(ActivityStatusCode.Unset, span.Status);
        Assert.DoesNotContain(span.TagObjects, tag => tag.Value?.ToString()?.Contains(Token, StringComparison.Ordinal) == true);
        Assert.DoesNotContain(span.TagObjects, tag => tag.Value?.ToString()?.Contains("kombo.test", StringComparison.Ordinal) == true);

        Assert.Equal(1, _readings.Sum("kombo.worker.kombo.calls", ("kombo.endpoint", "integration-by-token"), ("kombo.outcome", "succeeded"), ("http.response.status_code", 200)));
        Assert.Equal(2, _readings.Sum("kombo.worker.kombo.retries", ("kombo.endpoint", "integration-by-token"), ("kombo.outcome", "unavailable")));
        // One duration for the whole call, back-off included, under the span's attribute names (the test clock is fake, so
        // its value is not asserted).
        var duration = Assert.Single(_readings.TagsOf("kombo.worker.kombo.call.duration"));
        Assert.Contains(duration, tag => tag is { Key: "kombo.endpoint", Value: "integration-by-token" });
        Assert.Contains(duration, tag => tag is { Key: "http.response.status_code", Value: 200 });
    }

    [Fact]
    public async Task A_rejected_call_carries_the_status_and_kombo_error_code()
    {
        _kombo.Then(() => KomboResponses.Error(404, "CONNECT.TOKEN_NOT_FOUND", "The token does not exist."));

        var result = await Client.GetIntegrationByTokenAsync(Token, CancellationToken.None);

        Assert.False(result.IsSuccess);
        var span = Assert.Single(_stopped);
        Assert.Equal("rejected", span.GetTagItem("kombo.outcome"));
        Assert.Equal(404, span.GetTagItem("http.response.status_code"));
        Assert.Equal("CONNECT.TOKEN_NOT_FOUND", span.GetTagItem("kombo.error.code"));
        Assert.Equal(1, span.GetTagItem("kombo.attempts"));
        Assert.Equal(ActivityStatusCode.Error, span.Status);
        Assert.Equal(1, _readings.Sum("kombo.worker.kombo.calls", ("kombo.outcome", "rejected"), ("http.response.status_code", 404)));
        Assert.Equal(0, _readings.Sum("kombo.worker.kombo.retries"));
    }

    [Fact]
    public async Task An_open_circuit_shows_in_the_call_outcome_the_span_and_the_circuit_gauge()
    {
        _kombo.Always(() => KomboResponses.Text(503, "down"));

        await Assert.ThrowsAsync<KomboUnavailableException>(() =>
            Client.CreateLinkAsync(new CreateLinkRequest { EndUserEmail = "a@b.test", EndUserOrganizationName = "B" }, CancellationToken.None));

        var span = Assert.Single(_stopped);
        Assert.Equal("circuit_open", span.GetTagItem("kombo.outcome"));
        Assert.Equal(503, span.GetTagItem("http.response.status_code"));
        Assert.Equal(4, span.GetTagItem("kombo.attempts"));
        Assert.Equal(ActivityStatusCode.Error, span.Status);
        Assert.Equal(1, _readings.Sum("kombo.worker.kombo.calls", ("kombo.endpoint", "create-link"), ("kombo.outcome", "circuit_open")));
        Assert.Equal(1, _readings.Sum("kombo.worker.kombo.circuit_transitions", ("state", "open")));
        Assert.Equal(1, _readings.Observe()["kombo.worker.kombo.circuit_state"]);
    }
}
