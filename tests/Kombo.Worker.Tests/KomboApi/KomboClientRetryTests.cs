using Kombo.Worker.KomboApi;
using Kombo.Worker.Tests.Support;

namespace Kombo.Worker.Tests.KomboApi;

public sealed class KomboClientRetryTests
{
    public static TheoryData<string> TransientFailures =>
    [
        "network error",
        "408 without a body",
        "429 PLATFORM.RATE_LIMIT_EXCEEDED",
        "429 PLATFORM.CONCURRENCY_LIMIT_EXCEEDED",
        "500 plain text",
        "502 html",
        "503 plain text",
        "503 empty",
        "504 without a body",
        "400 PLATFORM.RATE_LIMIT_EXCEEDED",
        "500 REMOTE.SERVICE_UNAVAILABLE",
        "503 REMOTE.RATE_LIMIT_EXCEEDED",
    ];

    [Theory]
    [MemberData(nameof(TransientFailures))]
    public async Task A_transient_failure_is_retried_and_the_retry_succeeds(string failure)
    {
        using var host = KomboClientHost.Create();
        Script(host.Kombo, failure).Then(() => KomboResponses.Integration());

        var result = await host.Client.GetIntegrationByTokenAsync("token-1", CancellationToken.None);

        Assert.True(result.IsSuccess);
        Assert.Equal("personio:CBNMt7dSNCzBdnRTx87dev4E", result.Value!.Id);
        Assert.Equal(2, host.Kombo.Calls);
    }

    [Fact]
    public async Task A_timed_out_attempt_is_retried_and_the_retry_succeeds()
    {
        using var host = KomboClientHost.Create(new() { ["Kombo:AttemptTimeout"] = "00:00:02" });
        host.Kombo.ThenHang().Then(() => KomboResponses.Link());

        var call = host.Client.CreateLinkAsync(new CreateLinkRequest { EndUserEmail = "a@b.test", EndUserOrganizationName = "B" }, CancellationToken.None);
        await host.Kombo.WaitForCallsAsync(1);
        host.Clock.Advance(TimeSpan.FromSeconds(2));
        var result = await call.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(result.IsSuccess);
        Assert.Equal(TimeSpan.FromSeconds(2), host.Kombo.Requests[1].At - host.Kombo.Requests[0].At);
    }

    [Fact]
    public async Task Every_retry_up_to_the_limit_is_used_before_success()
    {
        using var host = KomboClientHost.Create(new() { ["Kombo:MaxRetryAttempts"] = "4" });
        host.Kombo.Always(() => KomboResponses.Integration());
        for (var i = 0; i < 4; i++)
        {
            host.Kombo.Then(() => KomboResponses.Text(503, "busy"));
        }

        var result = await host.Client.GetIntegrationByTokenAsync("token-1", CancellationToken.None);

        Assert.True(result.IsSuccess);
        Assert.Equal(5, host.Kombo.Calls);
    }

    [Fact]
    public async Task Retry_after_in_seconds_is_waited_before_the_next_attempt()
    {
        using var host = KomboClientHost.Create();
        host.Kombo.Then(() => KomboResponses.Error(429, "PLATFORM.RATE_LIMIT_EXCEEDED").WithHeader("Retry-After", "5"));

        await AssertSecondCallWaitsAsync(host, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Retry_after_as_an_http_date_is_waited_before_the_next_attempt()
    {
        using var host = KomboClientHost.Create();
        var at = host.Clock.GetUtcNow().AddSeconds(7).ToString("R");
        host.Kombo.Then(() => KomboResponses.Text(503, "maintenance").WithHeader("Retry-After", at));

        await AssertSecondCallWaitsAsync(host, TimeSpan.FromSeconds(7));
    }

    [Fact]
    public async Task Ratelimit_reset_is_waited_when_there_is_no_retry_after()
    {
        using var host = KomboClientHost.Create();
        host.Kombo.Then(() => KomboResponses.Error(429, "PLATFORM.RATE_LIMIT_EXCEEDED")
            .WithHeader("ratelimit-limit", "300").WithHeader("ratelimit-remaining", "0").WithHeader("ratelimit-reset", "3"));

        await AssertSecondCallWaitsAsync(host, TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task Without_a_hint_the_jittered_back_off_stays_within_the_configured_cap()
    {
        using var host = KomboClientHost.Create(new()
        {
            ["Kombo:RetryBaseDelay"] = "00:00:01",
            ["Kombo:RetryMaxDelay"] = "00:00:04",
            ["Kombo:AttemptTimeout"] = "00:00:09",
            ["Kombo:TotalTimeout"] = "00:05:00",
            ["Kombo:MaxRetryAttempts"] = "3",
        });
        host.Kombo.Always(() => KomboResponses.Text(503, "busy"));
        static bool IsBackOff(TimeSpan due) => due != TimeSpan.FromSeconds(9) && due != TimeSpan.FromMinutes(5);

        var call = host.Client.GetIntegrationByTokenAsync("token-1", CancellationToken.None);
        for (var retry = 1; retry <= 3; retry++)
        {
            var armed = await host.Clock.WaitForTimersAsync(IsBackOff, retry);
            host.Clock.Advance(armed[retry - 1]);
        }

        await Assert.ThrowsAsync<KomboUnavailableException>(() => call.WaitAsync(TimeSpan.FromSeconds(10)));
        var delays = host.Clock.ArmedTimers.Where(IsBackOff).ToList();
        var gaps = host.Kombo.Requests.Zip(host.Kombo.Requests.Skip(1), (a, b) => b.At - a.At).ToList();
        Assert.Equal(4, host.Kombo.Calls);
        Assert.Equal(delays, gaps);
        Assert.All(delays, delay => Assert.InRange(delay, TimeSpan.FromTicks(1), TimeSpan.FromSeconds(4)));
    }

    private static async Task AssertSecondCallWaitsAsync(KomboClientHost host, TimeSpan hint)
    {
        host.Kombo.Then(() => KomboResponses.Integration());

        var call = host.Client.GetIntegrationByTokenAsync("token-1", CancellationToken.None);
        await host.Clock.WaitForTimerAsync(hint);
        host.Clock.Advance(hint - TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, host.Kombo.Calls);
        host.Clock.Advance(TimeSpan.FromMilliseconds(1));
        var result = await call.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(result.IsSuccess);
        Assert.Equal(hint, host.Kombo.Requests[1].At - host.Kombo.Requests[0].At);
    }

    private static FakeKombo Script(FakeKombo kombo, string failure) => failure switch
    {
        "network error" => kombo.ThenThrow(new HttpRequestException("Connection refused (kombo.test:80)")),
        "408 without a body" => kombo.Then(() => KomboResponses.Empty(408)),
        "429 PLATFORM.RATE_LIMIT_EXCEEDED" => kombo.Then(() => KomboResponses.Error(429, "PLATFORM.RATE_LIMIT_EXCEEDED")),
        "429 PLATFORM.CONCURRENCY_LIMIT_EXCEEDED" => kombo.Then(() => KomboResponses.Error(429, "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED")),
        "500 plain text" => kombo.Then(() => KomboResponses.Text(500, "Internal Server Error", "text/plain")),
        "502 html" => kombo.Then(() => KomboResponses.Text(502, "<html><body>Bad Gateway</body></html>")),
        "503 plain text" => kombo.Then(() => KomboResponses.Text(503, "Service Unavailable", "text/plain")),
        "503 empty" => kombo.Then(() => KomboResponses.Empty(503)),
        "504 without a body" => kombo.Then(() => KomboResponses.Empty(504)),
        "400 PLATFORM.RATE_LIMIT_EXCEEDED" => kombo.Then(() => KomboResponses.Error(400, "PLATFORM.RATE_LIMIT_EXCEEDED")),
        "500 REMOTE.SERVICE_UNAVAILABLE" => kombo.Then(() => KomboResponses.Error(500, "REMOTE.SERVICE_UNAVAILABLE")),
        "503 REMOTE.RATE_LIMIT_EXCEEDED" => kombo.Then(() => KomboResponses.Error(503, "REMOTE.RATE_LIMIT_EXCEEDED")),
        _ => throw new ArgumentOutOfRangeException(nameof(failure), failure, null),
    };
}
