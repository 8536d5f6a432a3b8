using System.Collections.Frozen;
using Polly;
using Polly.Timeout;

namespace Kombo.Worker.KomboApi;

/// <summary>
/// The one place that decides whether a Kombo failure is worth retrying. Kombo asks clients to branch on
/// <c>error.code</c>, not on the HTTP status, so a code we know wins. The status decides when there is no code (a
/// load balancer's plain-text 503, an empty body) and for the codes that say nothing about retrying
/// (<c>PLATFORM.UNKNOWN_ERROR</c>, <c>PLATFORM.TASK_TIMED_OUT</c>): a 500 that Kombo could not classify is an outage,
/// not a verdict on the request.
/// </summary>
internal static class KomboFailureClassifier
{
    private static readonly FrozenSet<string> TransientCodes = new[]
    {
        "PLATFORM.RATE_LIMIT_EXCEEDED",
        "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED",
        "REMOTE.RATE_LIMIT_EXCEEDED",
        "REMOTE.SERVICE_UNAVAILABLE",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    private static readonly FrozenSet<string> UnclassifiedCodes = new[]
    {
        "PLATFORM.UNKNOWN_ERROR",
        "PLATFORM.TASK_TIMED_OUT",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    private static readonly FrozenSet<string> UnauthorizedCodes = new[]
    {
        "PLATFORM.AUTHENTICATION_INVALID",
        "PLATFORM.IP_NOT_WHITELISTED",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    public static bool IsTransient(KomboError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return IsTransient(error.HttpStatus, error.Code);
    }

    public static bool IsTransient(int? httpStatus, string? code) =>
        string.IsNullOrWhiteSpace(code) || UnclassifiedCodes.Contains(code)
            ? httpStatus is 408 or 429 or (>= 500 and <= 599)
            : TransientCodes.Contains(code);

    /// <summary>Network failures and timed-out attempts; anything else thrown is a bug, not a Kombo outage.</summary>
    public static bool IsTransient(Exception exception) =>
        exception is HttpRequestException or HttpIOException or TimeoutRejectedException;

    /// <summary>
    /// Kombo refused the worker's API key (<c>PLATFORM.AUTHENTICATION_INVALID</c>, <c>PLATFORM.IP_NOT_WHITELISTED</c>,
    /// or a 401/403 without a code): the operator must fix the key or the allow-list; the request itself was fine.
    /// </summary>
    public static bool IsUnauthorized(KomboError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return string.IsNullOrWhiteSpace(error.Code)
            ? error.HttpStatus is 401 or 403
            : UnauthorizedCodes.Contains(error.Code);
    }

    /// <summary>Kombo's own rate limit, whose window end <c>ratelimit-reset</c> announces.</summary>
    public static bool IsRateLimited(KomboError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return string.IsNullOrWhiteSpace(error.Code)
            ? error.HttpStatus == 429
            : string.Equals(error.Code, "PLATFORM.RATE_LIMIT_EXCEEDED", StringComparison.OrdinalIgnoreCase);
    }

    internal static bool IsTransient(Outcome<KomboResponse> outcome) =>
        outcome.Exception is { } exception
            ? IsTransient(exception)
            : outcome.Result?.Error is { } error && IsTransient(error);
}
