using System.Diagnostics;
using Kombo.Worker.Operations;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Kombo.Worker.KomboApi;

/// <summary>
/// The span of one Kombo call (all its attempts) and the outcome names it shares with the call metrics. Spans carry the
/// endpoint name, the final HTTP status, Kombo's error code and the attempt count: never the path or URL (a by-token
/// path is a credential), a body, or an exception message.
/// </summary>
internal static class KomboCallTelemetry
{
    public const string ActivitySourceName = "Kombo.Worker.KomboApi";

    public const string EndpointAttribute = WorkerMetrics.KomboEndpointAttribute;
    public const string OutcomeAttribute = WorkerMetrics.KomboOutcomeAttribute;
    public const string StatusAttribute = WorkerMetrics.HttpStatusAttribute;

    public const string Succeeded = "succeeded";
    public const string Rejected = "rejected";
    public const string Unavailable = "unavailable";
    public const string CircuitOpen = "circuit_open";
    public const string TimedOut = "timeout";
    public const string NetworkError = "network_error";
    public const string Cancelled = "cancelled";
    public const string Failed = "error";

    private static readonly ActivitySource Source = new(ActivitySourceName);

    public static Activity? Start(string endpoint)
    {
        var activity = Source.StartActivity($"kombo {endpoint}", ActivityKind.Client);
        activity?.SetTag(EndpointAttribute, endpoint);
        return activity;
    }

    /// <summary>Kombo answered for good: a success, or a permanent error that the caller gets as a result.</summary>
    public static void Answered(Activity? activity, KomboCall call, KomboError? error)
    {
        if (activity is null)
        {
            return;
        }

        Tag(activity, call, error?.HttpStatus ?? 200, error?.Code, error is null ? Succeeded : Rejected);
        if (error is not null)
        {
            activity.SetStatus(ActivityStatusCode.Error, error.Code ?? $"HTTP {error.HttpStatus}");
        }
    }

    public static void Threw(Activity? activity, KomboCall call, Exception exception)
    {
        if (activity is null)
        {
            return;
        }

        var outcome = OutcomeOf(exception);
        Tag(activity, call, call.LastError?.HttpStatus, call.LastError?.Code, outcome);
        activity.SetTag("error.type", outcome == Failed ? exception.GetType().FullName : outcome);
        activity.SetStatus(ActivityStatusCode.Error, outcome);
    }

    public static string OutcomeOf(KomboResponse response) =>
        response.Error is not { } error ? Succeeded
        : KomboFailureClassifier.IsTransient(error) ? Unavailable
        : Rejected;

    public static string OutcomeOf(Exception exception) => exception switch
    {
        KomboUnavailableException { InnerException: { } inner } => OutcomeOf(inner),
        KomboUnavailableException => Unavailable,
        BrokenCircuitException => CircuitOpen,
        TimeoutRejectedException => TimedOut,
        HttpRequestException or HttpIOException => NetworkError,
        OperationCanceledException => Cancelled,
        _ => Failed,
    };

    private static void Tag(Activity activity, KomboCall call, int? httpStatus, string? code, string outcome)
    {
        activity.SetTag(OutcomeAttribute, outcome);
        activity.SetTag("kombo.attempts", call.Attempts);
        if (httpStatus is { } status)
        {
            activity.SetTag(StatusAttribute, status);
        }

        if (code is not null)
        {
            activity.SetTag("kombo.error.code", code);
        }
    }
}
