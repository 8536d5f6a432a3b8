using Kombo.Worker.KomboApi;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Kombo.Worker.Tests.KomboApi;

public sealed class KomboFailureClassifierTests
{
    [Theory]
    [InlineData(429, "PLATFORM.RATE_LIMIT_EXCEEDED")]
    [InlineData(429, "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED")]
    [InlineData(429, "REMOTE.RATE_LIMIT_EXCEEDED")]
    [InlineData(503, "REMOTE.SERVICE_UNAVAILABLE")]
    [InlineData(400, "PLATFORM.RATE_LIMIT_EXCEEDED")]
    [InlineData(200, "platform.rate_limit_exceeded")]
    public void Rate_limit_and_unavailability_codes_are_transient_whatever_the_status(int status, string code) =>
        Assert.True(KomboFailureClassifier.IsTransient(status, code));

    [Theory]
    [InlineData(400, "PLATFORM.INPUT_INVALID")]
    [InlineData(401, "PLATFORM.AUTHENTICATION_INVALID")]
    [InlineData(403, "PLATFORM.IP_NOT_WHITELISTED")]
    [InlineData(503, "PLATFORM.INPUT_INVALID")]
    [InlineData(409, "INTEGRATION.SETUP_INCOMPLETE")]
    [InlineData(429, "SOMETHING.NEW")]
    public void Other_codes_are_permanent_even_on_a_retryable_status(int status, string code) =>
        Assert.False(KomboFailureClassifier.IsTransient(status, code));

    [Theory]
    [InlineData(500, "PLATFORM.UNKNOWN_ERROR", true)]
    [InlineData(502, "PLATFORM.TASK_TIMED_OUT", true)]
    [InlineData(400, "PLATFORM.UNKNOWN_ERROR", false)]
    [InlineData(404, "PLATFORM.TASK_TIMED_OUT", false)]
    public void Codes_that_do_not_say_whether_to_retry_leave_it_to_the_status(int status, string code, bool transient) =>
        Assert.Equal(transient, KomboFailureClassifier.IsTransient(status, code));

    [Theory]
    [InlineData(408)]
    [InlineData(429)]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(503)]
    [InlineData(504)]
    [InlineData(599)]
    public void Without_a_code_timeouts_throttling_and_server_errors_are_transient(int status)
    {
        Assert.True(KomboFailureClassifier.IsTransient(status, null));
        Assert.True(KomboFailureClassifier.IsTransient(status, " "));
    }

    [Theory]
    [InlineData(400)]
    [InlineData(401)]
    [InlineData(403)]
    [InlineData(404)]
    [InlineData(409)]
    [InlineData(422)]
    [InlineData(200)]
    [InlineData(302)]
    public void Without_a_code_other_statuses_are_permanent(int status) =>
        Assert.False(KomboFailureClassifier.IsTransient(status, null));

    [Fact]
    public void An_error_is_classified_by_its_code_and_status() =>
        Assert.True(KomboFailureClassifier.IsTransient(new KomboError(503, null, null, "HTTP 503 with a non-JSON body", null)));

    [Fact]
    public void Network_errors_and_timed_out_attempts_are_transient()
    {
        Assert.True(KomboFailureClassifier.IsTransient(new HttpRequestException("Connection refused")));
        Assert.True(KomboFailureClassifier.IsTransient(new HttpIOException(HttpRequestError.ResponseEnded)));
        Assert.True(KomboFailureClassifier.IsTransient(new TimeoutRejectedException()));
    }

    [Fact]
    public void Cancellation_an_open_circuit_and_bugs_are_not_retried()
    {
        Assert.False(KomboFailureClassifier.IsTransient(new OperationCanceledException()));
        Assert.False(KomboFailureClassifier.IsTransient(new BrokenCircuitException()));
        Assert.False(KomboFailureClassifier.IsTransient(new InvalidOperationException()));
    }

    [Theory]
    [InlineData(429, null, true)]
    [InlineData(429, "PLATFORM.RATE_LIMIT_EXCEEDED", true)]
    [InlineData(400, "PLATFORM.RATE_LIMIT_EXCEEDED", true)]
    [InlineData(429, "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED", false)]
    [InlineData(503, null, false)]
    public void Only_Kombo_rate_limiting_counts_as_rate_limited(int status, string? code, bool expected) =>
        Assert.Equal(expected, KomboFailureClassifier.IsRateLimited(new KomboError(status, code, null, "m", null)));
}
