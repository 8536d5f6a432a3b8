using System.Globalization;
using Kombo.Emulator.Stats;

namespace Kombo.Emulator.Faults;

/// <summary>
/// Plays the failures a Kombo client must survive, before the call is handled, so a faulted call creates nothing.
/// Order: latency, then hang, then 5xx, then 429; each is one draw of the dice.
/// </summary>
public sealed class FaultInjection(RequestDelegate next, ActiveFaults faults, RequestStats stats)
{
    private const string LoadBalancerPage =
        "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
        + "<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n";

    private const string GatewayTimeoutPage =
        "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n"
        + "<center><h1>504 Gateway Time-out</h1></center>\r\n</body>\r\n</html>\r\n";

    public async Task InvokeAsync(HttpContext context)
    {
        var (settings, dice) = faults.Snapshot();
        if (settings.InjectsNothing)
        {
            await next(context);
            return;
        }

        var aborted = context.RequestAborted;
        if (settings.LatencyMs > 0)
        {
            stats.Fault(FaultKind.Delayed);
            if (!await WaitAsync(TimeSpan.FromMilliseconds(settings.LatencyMs), aborted))
            {
                return;
            }
        }

        if (settings.HangRate > 0 && dice.Next() < settings.HangRate)
        {
            stats.Fault(FaultKind.Hang);
            if (await WaitAsync(TimeSpan.FromMilliseconds(settings.HangMs), aborted))
            {
                await WritePageAsync(context, StatusCodes.Status504GatewayTimeout, GatewayTimeoutPage);
            }

            return;
        }

        if (settings.ErrorRate > 0 && dice.Next() < settings.ErrorRate)
        {
            if (settings.PlainText503Share > 0 && dice.Next() < settings.PlainText503Share)
            {
                stats.Fault(FaultKind.PlainText503);
                await WritePageAsync(context, StatusCodes.Status503ServiceUnavailable, LoadBalancerPage);
                return;
            }

            stats.Fault(FaultKind.ServerError);
            var status = dice.Next() < 0.7 ? StatusCodes.Status500InternalServerError : StatusCodes.Status502BadGateway;
            await KomboErrors.WriteAsync(context, status, KomboErrors.UnknownError,
                "An unknown error occurred. Injected by the Kombo emulator.");
            return;
        }

        if (settings.RateLimitRate > 0 && dice.Next() < settings.RateLimitRate)
        {
            stats.Fault(FaultKind.RateLimited);
            var headers = context.Response.Headers;
            headers["ratelimit-remaining"] = "0";
            headers["ratelimit-reset"] = settings.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            if (settings.RetryAfterShare > 0 && dice.Next() < settings.RetryAfterShare)
            {
                headers.RetryAfter = settings.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            }

            await KomboErrors.WriteAsync(context, StatusCodes.Status429TooManyRequests, KomboErrors.RateLimitExceeded,
                "Rate limit exceeded. Injected by the Kombo emulator.");
            return;
        }

        await next(context);
    }

    // Transport delays run on the wall clock, not the injected TimeProvider, so a test that fakes link expiry
    // still gets its answers.
    private static async Task<bool> WaitAsync(TimeSpan delay, CancellationToken aborted)
    {
        try
        {
            await Task.Delay(delay, aborted);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static Task WritePageAsync(HttpContext context, int status, string page)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/html";
        return context.Response.WriteAsync(page, context.RequestAborted);
    }
}
