using System.Text;
using Kombo.Worker.KomboApi;
using Kombo.Worker.Operations;
using Kombo.Worker.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Connect.Webhooks;

/// <summary>
/// <c>POST /kombo/webhooks</c>. Kombo delivers again whatever does not get a 200, so 200 means "committed, durably"
/// (or handled before), and anything the worker could not take in for its own reasons answers 503.
/// </summary>
internal sealed partial class WebhookEndpoint(
    IntegrationLifecycle lifecycle,
    IOptions<KomboOptions> kombo,
    IOptions<WebhookOptions> options,
    WebhookRefusals refusals,
    WorkerMetrics metrics,
    ILogger<WebhookEndpoint> logger)
{
    private readonly byte[] _secret = Encoding.UTF8.GetBytes(kombo.Value.WebhookSecret ?? "");

    public async Task HandleAsync(HttpContext http)
    {
        if (!string.Equals(http.Request.Path, WebhookOptions.Path, StringComparison.Ordinal))
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        if (!HttpMethods.IsPost(http.Request.Method))
        {
            http.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            http.Response.Headers.Allow = HttpMethods.Post;
            return;
        }

        var (outcome, body, mac) = await WebhookBody.ReadAsync(http, _secret, options.Value, http.RequestAborted);
        if (outcome == WebhookBody.Outcome.TooSlow)
        {
            metrics.WebhookReceived(null, "too_slow");
            if (refusals.Refuse("too_slow"))
            {
                LogTooSlow(options.Value.MinRequestBodyBytesPerSecond);
            }

            // Kestrel has answered 408 and closes the connection.
            return;
        }

        if (outcome == WebhookBody.Outcome.TooLarge)
        {
            metrics.WebhookReceived(null, "too_large");
            if (refusals.Refuse("too_large"))
            {
                LogTooLarge(http.Request.ContentLength);
            }

            await AnswerAsync(http, StatusCodes.Status413PayloadTooLarge, $"The body is larger than {options.Value.MaxBodyBytes} bytes.");
            return;
        }

        if (!WebhookSignature.Matches(mac, http.Request.Headers[WebhookSignature.Header]))
        {
            metrics.WebhookReceived(null, "unauthorized");
            if (refusals.Refuse("unauthorized"))
            {
                LogUnauthorized(http.Request.Headers.ContainsKey(WebhookSignature.Header), body.Length);
            }

            http.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }

        if (WebhookParser.Parse(body, out var problem) is not { } webhook)
        {
            metrics.WebhookReceived(null, "invalid");
            if (refusals.Refuse("invalid"))
            {
                LogInvalid(problem!);
            }

            await AnswerAsync(http, StatusCodes.Status400BadRequest, problem!);
            return;
        }

        if (webhook is UnknownWebhook)
        {
            metrics.WebhookReceived(webhook.Type, "unknown_type");
            LogUnknownType(webhook.Id, webhook.Type, body.Length);
            http.Response.StatusCode = StatusCodes.Status200OK;
            return;
        }

        try
        {
            var handled = await lifecycle.HandleAsync(webhook, http.RequestAborted);
            metrics.WebhookReceived(webhook.Type, handled ? "handled" : "duplicate");
            http.Response.StatusCode = StatusCodes.Status200OK;
        }
        catch (Exception ex) when (IsStorageTrouble(ex))
        {
            metrics.WebhookReceived(webhook.Type, "unavailable");
            LogStorageFailed(webhook.Id, webhook.Type, ex.GetType().Name, ex.Message);
            await AnswerAsync(http, StatusCodes.Status503ServiceUnavailable, "The worker cannot store the webhook right now; deliver it again.");
        }
    }

    private static bool IsStorageTrouble(Exception ex) =>
        StorageFailures.IsEnvironmental(ex) || ex is IOException or ObjectDisposedException;

    private static Task AnswerAsync(HttpContext http, int status, string error)
    {
        http.Response.StatusCode = status;
        return http.Response.WriteAsJsonAsync(new WebhookError(error), http.RequestAborted);
    }

    private sealed record WebhookError(string Error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook refused: body over the limit ({ContentLength} bytes announced)")]
    private partial void LogTooLarge(long? contentLength);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook refused: its body arrived slower than {MinBytesPerSecond} bytes a second")]
    private partial void LogTooSlow(int minBytesPerSecond);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook refused: signature missing or wrong (header present: {HeaderPresent}, {BodyBytes} bytes)")]
    private partial void LogUnauthorized(bool headerPresent, int bodyBytes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook refused: {Problem}")]
    private partial void LogInvalid(string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook {WebhookId} of unhandled type {WebhookType} ({BodyBytes} bytes) acknowledged")]
    private partial void LogUnknownType(string webhookId, string webhookType, int bodyBytes);

    [LoggerMessage(Level = LogLevel.Error, Message = "Webhook {WebhookId} ({WebhookType}) could not be stored ({ExceptionType}: {Reason}); answered 503 so Kombo delivers it again")]
    private partial void LogStorageFailed(string webhookId, string webhookType, string exceptionType, string reason);
}
