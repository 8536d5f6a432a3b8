using System.Globalization;

namespace Kombo.Emulator.RateLimits;

/// <summary>Puts <c>ratelimit-*</c> on every <c>/v1</c> answer and rejects calls over the limit with 429.</summary>
public sealed class RateLimitHeaders(RequestDelegate next, FixedWindowRateLimit rateLimit)
{
    public Task InvokeAsync(HttpContext context)
    {
        var decision = rateLimit.Take();
        Write(context.Response.Headers, decision.Limit, decision.Remaining, decision.ResetSeconds);
        if (decision.Allowed)
        {
            return next(context);
        }

        return KomboErrors.WriteAsync(context, StatusCodes.Status429TooManyRequests, KomboErrors.RateLimitExceeded,
            $"Rate limit of {decision.Limit} requests exceeded; the window resets in {decision.ResetSeconds} seconds.");
    }

    public static void Write(IHeaderDictionary headers, int limit, int remaining, int resetSeconds)
    {
        headers["ratelimit-limit"] = limit.ToString(CultureInfo.InvariantCulture);
        headers["ratelimit-remaining"] = remaining.ToString(CultureInfo.InvariantCulture);
        headers["ratelimit-reset"] = resetSeconds.ToString(CultureInfo.InvariantCulture);
    }
}
