namespace Kombo.Worker.KomboApi;

/// <summary>
/// One buffered HTTP answer from Kombo, as the resilience pipeline sees it. The response itself is already
/// disposed; only what classification, back-off and the final parse need is kept.
/// </summary>
internal sealed class KomboResponse(int httpStatus, byte[] body, KomboError? error, TimeSpan? retryAfter)
{
    public int HttpStatus { get; } = httpStatus;

    public byte[] Body { get; } = body;

    /// <summary>Null only for HTTP 200; every other status is an error (Kombo documents no other success).</summary>
    public KomboError? Error { get; } = error;

    /// <summary>The server's wait hint (<c>Retry-After</c> or <c>ratelimit-reset</c>), if it gave one.</summary>
    public TimeSpan? RetryAfter { get; } = retryAfter;

    public static KomboResponse From(HttpResponseMessage response, byte[] body, DateTimeOffset now)
    {
        var status = (int)response.StatusCode;
        if (status == 200)
        {
            return new KomboResponse(status, body, null, null);
        }

        var error = KomboErrorParser.Parse(status, body);
        return new KomboResponse(status, body, error, KomboRetryHints.Read(response.Headers, error, now));
    }

    // Polly's telemetry logs results with ToString: status and code only, never the body (it may hold a link).
    public override string ToString() => Error?.Code is { } code ? $"HTTP {HttpStatus} {code}" : $"HTTP {HttpStatus}";
}
