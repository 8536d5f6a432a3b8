using Kombo.Worker.KomboApi;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Kombo.Worker.Tests.KomboApi;

public sealed class KomboClientFailureTests
{
    [Theory]
    [InlineData(400, "PLATFORM.INPUT_INVALID")]
    [InlineData(401, "PLATFORM.AUTHENTICATION_INVALID")]
    [InlineData(403, "PLATFORM.IP_NOT_WHITELISTED")]
    [InlineData(404, "PLATFORM.INPUT_INVALID")]
    [InlineData(409, "INTEGRATION.SETUP_INCOMPLETE")]
    [InlineData(503, "PLATFORM.INPUT_INVALID")]
    public async Task A_permanent_error_fails_at_once_with_the_parsed_Kombo_error(int status, string code)
    {
        using var host = KomboClientHost.Create();
        host.Kombo.Always(() => KomboResponses.Error(status, code, "The token is invalid or has expired.", "Input invalid", "https://app.kombo.dev/logs/42"));

        var result = await host.Client.GetIntegrationByTokenAsync("token-1", CancellationToken.None);

        Assert.False(result.IsSuccess);
        Assert.Null(result.Value);
        Assert.Equal(new KomboError(status, code, "Input invalid", "The token is invalid or has expired.", "https://app.kombo.dev/logs/42"), result.Error);
        Assert.Equal(1, host.Kombo.Calls);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(404)]
    [InlineData(422)]
    public async Task A_4xx_without_a_Kombo_body_fails_at_once_with_the_status(int status)
    {
        using var host = KomboClientHost.Create();
        host.Kombo.Always(() => KomboResponses.Text(status, "<html>nope</html>"));

        var result = await host.Client.CreateLinkAsync(new CreateLinkRequest { EndUserEmail = "a@b.test", EndUserOrganizationName = "B" }, CancellationToken.None);

        Assert.Equal(new KomboError(status, null, null, $"HTTP {status} with a non-JSON body", null), result.Error);
        Assert.Equal(1, host.Kombo.Calls);
    }

    [Fact]
    public async Task Exhausted_retries_throw_KomboUnavailable_with_the_last_Kombo_error()
    {
        using var host = KomboClientHost.Create(new() { ["Kombo:MaxRetryAttempts"] = "3" });
        host.Kombo.Always(() => KomboResponses.Error(503, "REMOTE.SERVICE_UNAVAILABLE", "Personio is down."));

        var failure = await Assert.ThrowsAsync<KomboUnavailableException>(
            () => host.Client.GetIntegrationByTokenAsync("token-1", CancellationToken.None));

        Assert.Equal(4, host.Kombo.Calls);
        Assert.Equal(new KomboError(503, "REMOTE.SERVICE_UNAVAILABLE", null, "Personio is down.", "https://app.kombo.dev/logs/1"), failure.LastError);
    }

    [Fact]
    public async Task Network_errors_to_the_end_throw_KomboUnavailable_wrapping_the_last_one()
    {
        using var host = KomboClientHost.Create(new() { ["Kombo:MaxRetryAttempts"] = "2" });
        host.Kombo.Otherwise = _ => throw new HttpRequestException("Connection refused (kombo.test:80)");

        var failure = await Assert.ThrowsAsync<KomboUnavailableException>(
            () => host.Client.GetIntegrationByTokenAsync("token-1", CancellationToken.None));

        Assert.Equal(3, host.Kombo.Calls);
        Assert.IsType<HttpRequestException>(failure.InnerException);
        Assert.Null(failure.LastError);
    }

    [Fact]
    public async Task The_total_budget_stops_retrying_and_throws_KomboUnavailable()
    {
        using var host = KomboClientHost.Create(new()
        {
            ["Kombo:AttemptTimeout"] = "00:00:01",
            ["Kombo:TotalTimeout"] = "00:00:02.500",
            ["Kombo:MaxRetryAttempts"] = "50",
        });
        host.Kombo.AlwaysHang();

        var call = host.Client.GetIntegrationByTokenAsync("token-1", CancellationToken.None);
        await host.Kombo.WaitForCallsAsync(1);
        host.Clock.Advance(TimeSpan.FromSeconds(1));
        await host.Kombo.WaitForCallsAsync(2);
        host.Clock.Advance(TimeSpan.FromSeconds(1));
        await host.Kombo.WaitForCallsAsync(3);
        host.Clock.Advance(TimeSpan.FromMilliseconds(500));

        var failure = await Assert.ThrowsAsync<KomboUnavailableException>(() => call.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.IsType<TimeoutRejectedException>(failure.InnerException);
        Assert.Equal(3, host.Kombo.Calls);
    }

    [Fact]
    public async Task A_server_hint_longer_than_the_remaining_budget_gives_up_without_waiting()
    {
        using var host = KomboClientHost.Create(new() { ["Kombo:TotalTimeout"] = "00:00:30" });
        host.Kombo.Always(() => KomboResponses.Error(429, "PLATFORM.RATE_LIMIT_EXCEEDED").WithHeader("Retry-After", "60"));

        var failure = await Assert.ThrowsAsync<KomboUnavailableException>(
            () => host.Client.GetIntegrationByTokenAsync("token-1", CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal(1, host.Kombo.Calls);
        Assert.Equal("PLATFORM.RATE_LIMIT_EXCEEDED", failure.LastError?.Code);
    }

    [Fact]
    public async Task The_circuit_opens_after_repeated_failures_and_then_fails_fast_without_calling_Kombo()
    {
        using var host = KomboClientHost.Create(new()
        {
            ["Kombo:MaxRetryAttempts"] = "3",
            ["Kombo:CircuitBreakerMinimumThroughput"] = "4",
            ["Kombo:CircuitBreakerFailureRatio"] = "0.5",
            ["Kombo:CircuitBreakerBreakDuration"] = "00:00:15",
        });
        host.Kombo.Always(() => KomboResponses.Text(503, "Service Unavailable"));

        await Assert.ThrowsAsync<KomboUnavailableException>(() => host.Client.GetIntegrationByTokenAsync("token-1", CancellationToken.None));
        Assert.Equal(4, host.Kombo.Calls);

        var failure = await Assert.ThrowsAsync<KomboUnavailableException>(
            () => host.Client.CreateLinkAsync(new CreateLinkRequest { EndUserEmail = "a@b.test", EndUserOrganizationName = "B" }, CancellationToken.None));
        Assert.IsAssignableFrom<BrokenCircuitException>(failure.InnerException);
        Assert.Equal(4, host.Kombo.Calls);
    }

    [Fact]
    public async Task After_the_break_a_healthy_Kombo_closes_the_circuit_again()
    {
        using var host = KomboClientHost.Create(new()
        {
            ["Kombo:MaxRetryAttempts"] = "1",
            ["Kombo:CircuitBreakerMinimumThroughput"] = "2",
            ["Kombo:CircuitBreakerBreakDuration"] = "00:00:15",
        });
        host.Kombo.Always(() => KomboResponses.Empty(502));
        await Assert.ThrowsAsync<KomboUnavailableException>(() => host.Client.GetIntegrationByTokenAsync("token-1", CancellationToken.None));
        await Assert.ThrowsAsync<KomboUnavailableException>(() => host.Client.GetIntegrationByTokenAsync("token-1", CancellationToken.None));
        Assert.Equal(2, host.Kombo.Calls);

        host.Clock.Advance(TimeSpan.FromSeconds(15));
        host.Kombo.Always(() => KomboResponses.Integration());
        var result = await host.Client.GetIntegrationByTokenAsync("token-1", CancellationToken.None);

        Assert.True(result.IsSuccess);
        Assert.Equal(3, host.Kombo.Calls);
    }

    [Fact]
    public async Task Permanent_errors_do_not_open_the_circuit()
    {
        using var host = KomboClientHost.Create(new() { ["Kombo:CircuitBreakerMinimumThroughput"] = "2" });
        host.Kombo.Always(() => KomboResponses.Error(400, "PLATFORM.INPUT_INVALID"));

        for (var i = 0; i < 5; i++)
        {
            Assert.False((await host.Client.GetIntegrationByTokenAsync("token-1", CancellationToken.None)).IsSuccess);
        }

        Assert.Equal(5, host.Kombo.Calls);
    }

    [Fact]
    public async Task The_callers_cancellation_during_an_attempt_surfaces_as_cancellation()
    {
        using var host = KomboClientHost.Create();
        host.Kombo.AlwaysHang();
        using var cancellation = new CancellationTokenSource();

        var call = host.Client.GetIntegrationByTokenAsync("token-1", cancellation.Token);
        await host.Kombo.WaitForCallsAsync(1);
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(1, host.Kombo.Calls);
    }

    [Fact]
    public async Task The_callers_cancellation_during_back_off_surfaces_as_cancellation()
    {
        using var host = KomboClientHost.Create();
        host.Kombo.Always(() => KomboResponses.Text(503, "busy").WithHeader("Retry-After", "5"));
        using var cancellation = new CancellationTokenSource();

        var call = host.Client.GetIntegrationByTokenAsync("token-1", cancellation.Token);
        await host.Clock.WaitForTimerAsync(TimeSpan.FromSeconds(5));
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(1, host.Kombo.Calls);
    }

    [Fact]
    public async Task An_already_cancelled_call_never_reaches_Kombo()
    {
        using var host = KomboClientHost.Create();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => host.Client.GetIntegrationByTokenAsync("token-1", new CancellationToken(canceled: true)));

        Assert.Equal(0, host.Kombo.Calls);
    }
}
