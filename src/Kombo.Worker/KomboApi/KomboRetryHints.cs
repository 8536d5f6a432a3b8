using System.Globalization;
using System.Net.Http.Headers;

namespace Kombo.Worker.KomboApi;

/// <summary>How long the server asked us to wait: <c>Retry-After</c> first, else <c>ratelimit-reset</c>.</summary>
internal static class KomboRetryHints
{
    public static TimeSpan? Read(HttpResponseHeaders headers, KomboError error, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(error);

        if (headers.RetryAfter is { } retryAfter)
        {
            if (retryAfter.Delta is { } delta)
            {
                return NotNegative(delta);
            }

            if (retryAfter.Date is { } date)
            {
                return NotNegative(date - now);
            }
        }

        // ratelimit-* headers ride on every answer; the reset only matters once the window is used up.
        if (KomboFailureClassifier.IsRateLimited(error)
            && headers.TryGetValues("ratelimit-reset", out var values)
            && double.TryParse(values.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
            && double.IsFinite(seconds)
            && seconds is >= 0 and <= 86_400)
        {
            return TimeSpan.FromSeconds(seconds);
        }

        return null;
    }

    private static TimeSpan NotNegative(TimeSpan value) => value < TimeSpan.Zero ? TimeSpan.Zero : value;
}
