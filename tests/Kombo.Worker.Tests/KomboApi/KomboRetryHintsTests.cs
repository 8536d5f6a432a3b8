using Kombo.Worker.KomboApi;

namespace Kombo.Worker.Tests.KomboApi;

public sealed class KomboRetryHintsTests
{
    private static readonly DateTimeOffset Now = new(2026, 5, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly KomboError RateLimited = new(429, "PLATFORM.RATE_LIMIT_EXCEEDED", null, "Slow down.", null);
    private static readonly KomboError Unavailable = new(503, null, null, "HTTP 503 with a non-JSON body", null);

    [Fact]
    public void Retry_after_in_seconds_is_the_hint() =>
        Assert.Equal(TimeSpan.FromSeconds(7), Read(Unavailable, ("Retry-After", "7")));

    [Fact]
    public void Retry_after_as_an_http_date_is_measured_from_the_time_provider_clock() =>
        Assert.Equal(TimeSpan.FromSeconds(90), Read(Unavailable, ("Retry-After", Now.AddSeconds(90).ToString("R"))));

    [Fact]
    public void A_retry_after_date_in_the_past_means_retry_now() =>
        Assert.Equal(TimeSpan.Zero, Read(Unavailable, ("Retry-After", Now.AddMinutes(-1).ToString("R"))));

    [Fact]
    public void Ratelimit_reset_is_the_hint_when_rate_limited() =>
        Assert.Equal(TimeSpan.FromSeconds(57), Read(RateLimited, ("ratelimit-reset", "57"), ("ratelimit-remaining", "0")));

    [Fact]
    public void Retry_after_wins_over_ratelimit_reset() =>
        Assert.Equal(TimeSpan.FromSeconds(2), Read(RateLimited, ("ratelimit-reset", "57"), ("Retry-After", "2")));

    [Fact]
    public void Ratelimit_reset_is_ignored_when_the_failure_is_not_rate_limiting() =>
        Assert.Null(Read(Unavailable, ("ratelimit-reset", "57")));

    [Theory]
    [InlineData("soon")]
    [InlineData("-3")]
    [InlineData("NaN")]
    [InlineData("999999999")]
    public void An_unreadable_ratelimit_reset_falls_back_to_back_off(string value) =>
        Assert.Null(Read(RateLimited, ("ratelimit-reset", value)));

    [Fact]
    public void No_hint_headers_mean_no_hint() => Assert.Null(Read(RateLimited));

    private static TimeSpan? Read(KomboError error, params (string Name, string Value)[] headers)
    {
        using var response = new HttpResponseMessage();
        foreach (var (name, value) in headers)
        {
            response.Headers.TryAddWithoutValidation(name, value);
        }

        return KomboRetryHints.Read(response.Headers, error, Now);
    }
}
