using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace Kombo.Worker.KomboApi;

/// <summary>The one resilience pipeline in front of Kombo, registered under <see cref="Name"/>.</summary>
internal static class KomboPipeline
{
    public const string Name = "kombo";

    public static void Configure(ResiliencePipelineBuilder<KomboResponse> builder, KomboOptions options, TimeProvider time)
    {
        builder.TimeProvider = time;

        // Outermost to innermost: the total timeout bounds the whole call, back-off included; retry wraps the
        // circuit breaker so the breaker counts every attempt and, once open, stops the retries at once (a
        // BrokenCircuitException is not retried); the attempt timeout is innermost so a hung attempt is one
        // transient failure, seen by both the breaker and the retry.
        builder.AddTimeout(new TimeoutStrategyOptions { Name = "total-timeout", Timeout = options.TotalTimeout });

        if (options.MaxRetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<KomboResponse>
            {
                Name = "retry",
                MaxRetryAttempts = options.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.RetryMaxDelay,
                ShouldHandle = args => ValueTask.FromResult(
                    KomboFailureClassifier.IsTransient(args.Outcome) && !HintOutlastsBudget(args.Outcome, args.Context, time)),
                DelayGenerator = args => ValueTask.FromResult(ServerHint(args.Outcome, args.Context, time)),
            });
        }

        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions<KomboResponse>
        {
            Name = "circuit-breaker",
            FailureRatio = options.CircuitBreakerFailureRatio,
            MinimumThroughput = options.CircuitBreakerMinimumThroughput,
            SamplingDuration = options.CircuitBreakerSamplingDuration,
            BreakDuration = options.CircuitBreakerBreakDuration,
            ShouldHandle = args => ValueTask.FromResult(KomboFailureClassifier.IsTransient(args.Outcome)),
        });

        builder.AddTimeout(new TimeoutStrategyOptions { Name = "attempt-timeout", Timeout = options.AttemptTimeout });
    }

    /// <summary>The server's hint, never past the call's deadline; null lets the jittered back-off decide.</summary>
    private static TimeSpan? ServerHint(Outcome<KomboResponse> outcome, ResilienceContext context, TimeProvider time) =>
        outcome.Result?.RetryAfter is { } hint && Remaining(context, time) is { } remaining && hint > remaining
            ? remaining
            : outcome.Result?.RetryAfter;

    // Sleeping into a total timeout we know will fire only holds a consumer; giving up now hands the command
    // to message redelivery, whose intervals are longer than our budget.
    private static bool HintOutlastsBudget(Outcome<KomboResponse> outcome, ResilienceContext context, TimeProvider time) =>
        outcome.Result?.RetryAfter is { } hint && Remaining(context, time) is { } remaining && hint >= remaining;

    private static TimeSpan? Remaining(ResilienceContext context, TimeProvider time) =>
        context.Properties.TryGetValue(KomboCall.Key, out var call) ? call.Deadline - time.GetUtcNow() : null;
}
